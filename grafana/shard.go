package grafana

import (
	"context"

	"github.com/promrecover/promrecover/extract/split"
)

// Shard rewrites a selector that matches more than maxSeries series over
// [from, to) into selectors that each match about maxSeries at most, before
// anything is fetched (see split.Shard). The counts come from a Census:
// the series API's label sets where Grafana allows it, else count queries,
// so sharding works the same from either. Where discovery fails the
// selector stays as it is, and splitting on a too-big answer still applies.
// It also returns the series counted, summed over the selectors (an upper
// bound where they overlap), or -1 where a count failed.
func (s *Source) Shard(ctx context.Context, selectors []string, from, to int64, maxSeries int) ([]string, int) {
	log := s.Client.opts.Log
	var out []string
	series := 0
	for _, sel := range selectors {
		cen, err := s.Census(ctx, []string{sel}, from, to)
		var shards []string
		total := 0
		if err == nil {
			shards, total, err = split.Shard(ctx, sel, census{cen}, maxSeries, s.Split.WithDefaults().MaxLabelLookups, log)
		}
		switch {
		case err != nil:
			series = -1
			log.Info("series discovery failed; the selector is fetched whole and split only if it proves too big", "selector", sel, "err", err)
			shards = []string{sel}
		case total > maxSeries:
			log.Info("sharding a large selector", "selector", sel, "series", total, "shards", len(shards), "discovery", cen.Via.String())
		}
		out = append(out, shards...)
		if series >= 0 {
			series += total
		}
	}
	return out, series
}

// census is a Census as sharding reads it.
type census struct{ *Census }

func (c census) Narrow(name, value string) split.Census { return census{c.Census.Narrow(name, value)} }
