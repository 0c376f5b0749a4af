package grafana

import (
	"cmp"
	"context"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// Shard rewrites a selector that matches more than maxSeries series over
// [from, to) into selectors that each match about maxSeries at most, before
// anything is fetched: metric names packed together up to the limit, and a
// metric too big on its own cut by the values of its most varied label. A
// rest selector per cut (names or values the discovery did not see) keeps the
// shards complete, and they are disjoint. The counts come from a Census:
// the series API's label sets where Grafana allows it, else count queries,
// so sharding works the same from either. Where discovery fails the
// selector stays as it is, and splitting on a too-big answer still applies.
func (s *Source) Shard(ctx context.Context, selectors []string, from, to int64, maxSeries int) []string {
	var out []string
	for _, sel := range selectors {
		shards, err := s.shard(ctx, sel, from, to, maxSeries)
		if err != nil {
			s.Client.opts.Log.Info("series discovery failed; the selector is fetched whole and split only if it proves too big", "selector", sel, "err", err)
			shards = []string{sel}
		}
		out = append(out, shards...)
	}
	return out
}

func (s *Source) shard(ctx context.Context, sel string, from, to int64, maxSeries int) ([]string, error) {
	cen, err := s.Census(ctx, []string{sel}, from, to)
	if err != nil {
		return nil, err
	}
	counts, err := cen.Count(ctx, model.MetricNameLabel)
	if err != nil {
		return nil, err
	}
	byName := counts[0]
	delete(byName, "") // every series has a name; a count query's stray group is no metric
	total := 0
	for _, n := range byName {
		total += n
	}
	if total <= maxSeries {
		return []string{sel}, nil
	}
	opts := s.Split.withDefaults()
	shards := shardByName(cen.matchers[0], byName, maxSeries, func(name string) (string, map[string]int) {
		sub := cen.Narrow(model.MetricNameLabel, name)
		names, err := sub.LabelNames(ctx)
		var byLabel []map[string]int
		best, i := "", -1
		if err == nil {
			best, i, _, err = bestLabel(names, sub.matchers[0], opts.MaxLabelLookups, func(candidates []string) ([][]string, error) {
				byLabel, err = sub.Count(ctx, candidates...)
				values := make([][]string, len(byLabel))
				for i, c := range byLabel {
					delete(c, "") // the series without the label are in the rest selector
					values[i] = sortedKeys(c)
				}
				return values, err
			})
		}
		if err != nil {
			s.Client.opts.Log.Info("label discovery failed; the metric is fetched whole and split only if it proves too big", "metric", name, "err", err)
			return "", nil
		}
		if i < 0 {
			return "", nil
		}
		return best, byLabel[i]
	})
	s.Client.opts.Log.Info("sharding a large selector", "selector", sel, "series", total, "shards", len(shards), "discovery", cen.Via.String())
	return shards, nil
}

// shardByName packs metric names, with their series counts, into selectors
// of at most maxSeries series; a name with more is cut by the values of the
// label cut chooses, with their counts ("" when nothing cuts it).
func shardByName(ms []*labels.Matcher, byName map[string]int, maxSeries int, cut func(name string) (string, map[string]int)) []string {
	var out []string
	for _, bin := range pack(byName, maxSeries) {
		if len(bin) == 1 && byName[bin[0]] > maxSeries {
			pinned := with(ms, labels.MustNewMatcher(labels.MatchEqual, model.MetricNameLabel, bin[0]))
			label, counts := cut(bin[0])
			out = append(out, shardByLabel(pinned, label, counts, maxSeries)...)
			continue
		}
		out = append(out, extract.Canonical(with(ms, oneOf(model.MetricNameLabel, bin))))
	}
	return append(out, extract.Canonical(with(ms, noneOf(model.MetricNameLabel, sortedKeys(byName)))))
}

// shardByLabel cuts one metric's series by the values of label, given the
// series each holds.
func shardByLabel(ms []*labels.Matcher, label string, counts map[string]int, maxSeries int) []string {
	if len(counts) < 2 {
		return []string{extract.Canonical(ms)} // no label cuts it; splitting by time will
	}
	var out []string
	for _, bin := range pack(counts, maxSeries) {
		out = append(out, extract.Canonical(with(ms, oneOf(label, bin))))
	}
	return append(out, extract.Canonical(with(ms, noneOf(label, sortedKeys(counts)))))
}

// pack puts values into bins of at most limit series, largest first; a value
// with more than limit has a bin of its own.
func pack(counts map[string]int, limit int) [][]string {
	vals := sortedKeys(counts)
	slices.SortStableFunc(vals, func(a, b string) int { return cmp.Compare(counts[b], counts[a]) })
	var bins [][]string
	var sizes []int
	for _, v := range vals {
		n := counts[v]
		i := slices.IndexFunc(sizes, func(s int) bool { return s+n <= limit })
		if i < 0 {
			bins, sizes = append(bins, nil), append(sizes, 0)
			i = len(bins) - 1
		}
		bins[i] = append(bins[i], v)
		sizes[i] += n
	}
	return bins
}

func with(ms []*labels.Matcher, m *labels.Matcher) []*labels.Matcher {
	return append(slices.Clone(ms), m)
}

func oneOf(name string, values []string) *labels.Matcher {
	if len(values) == 1 {
		return labels.MustNewMatcher(labels.MatchEqual, name, values[0])
	}
	return labels.MustNewMatcher(labels.MatchRegexp, name, alternation(values))
}

func noneOf(name string, values []string) *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchNotRegexp, name, alternation(values))
}

func alternation(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = regexp.QuoteMeta(v)
	}
	return strings.Join(quoted, "|")
}
