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
	return split.ShardAll(ctx, selectors, func(sel string) (split.Census, string, error) {
		cen, err := s.Census(ctx, []string{sel}, from, to)
		if err != nil {
			return nil, "", err
		}
		return census{cen}, cen.Via.String(), nil
	}, maxSeries, s.Split.WithDefaults().MaxLabelLookups, s.Client.opts.Log)
}

// census is a Census as sharding reads it.
type census struct{ *Census }

func (c census) Narrow(name, value string) split.Census { return census{c.Census.Narrow(name, value)} }
