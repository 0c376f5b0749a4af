package grafana

import (
	"cmp"
	"context"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/promrecover/promrecover/extract"
)

// Shard rewrites a selector that matches more than maxSeries series over
// [from, to) into selectors that each match about maxSeries at most, before
// anything is fetched: metric names packed together up to the limit, and a
// metric too big on its own cut by the values of its most varied label. A
// rest selector per cut (names or values the discovery did not see) keeps the
// shards complete, and they are disjoint. Where discovery is refused the
// selector stays as it is, and splitting on a too-big answer still applies.
func (s *Source) Shard(ctx context.Context, selectors []string, from, to int64, maxSeries int) []string {
	var out []string
	for _, sel := range selectors {
		ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(sel)
		if err != nil {
			out = append(out, sel)
			continue
		}
		found, err := s.Client.Series(ctx, s.Datasource, []string{sel}, from, to)
		if err != nil || len(found) <= maxSeries {
			if err != nil {
				s.Client.opts.Log.Info("series discovery refused; the selector is fetched whole and split only if it proves too big", "selector", sel, "err", err)
			}
			out = append(out, sel)
			continue
		}
		shards := shardByName(ms, found, maxSeries)
		s.Client.opts.Log.Info("sharding a large selector", "selector", sel, "series", len(found), "shards", len(shards))
		out = append(out, shards...)
	}
	return out
}

// shardByName packs metric names into selectors of at most maxSeries series;
// a name with more is cut by label values.
func shardByName(ms []*labels.Matcher, found []labels.Labels, maxSeries int) []string {
	byName := groupBy(found, labels.MetricName)
	var out []string
	for _, bin := range pack(byName, maxSeries) {
		if len(bin) == 1 && len(byName[bin[0]]) > maxSeries {
			pinned := with(ms, labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, bin[0]))
			out = append(out, shardByLabel(pinned, byName[bin[0]], maxSeries)...)
			continue
		}
		out = append(out, extract.Canonical(with(ms, oneOf(labels.MetricName, bin))))
	}
	return append(out, extract.Canonical(with(ms, noneOf(labels.MetricName, keys(byName)))))
}

// shardByLabel cuts one metric's series by the values of the label with the
// most of them.
func shardByLabel(ms []*labels.Matcher, series []labels.Labels, maxSeries int) []string {
	best, bestGroups := "", map[string][]labels.Labels(nil)
	seen := map[string]bool{}
	for _, ls := range series {
		ls.Range(func(l labels.Label) {
			if l.Name == labels.MetricName || seen[l.Name] {
				return
			}
			seen[l.Name] = true
			if g := groupBy(series, l.Name); len(g) > len(bestGroups) {
				best, bestGroups = l.Name, g
			}
		})
	}
	if len(bestGroups) < 2 {
		return []string{extract.Canonical(ms)} // no label cuts it; splitting by time will
	}
	var out []string
	for _, bin := range pack(bestGroups, maxSeries) {
		out = append(out, extract.Canonical(with(ms, oneOf(best, bin))))
	}
	return append(out, extract.Canonical(with(ms, noneOf(best, keys(bestGroups)))))
}

func groupBy(series []labels.Labels, name string) map[string][]labels.Labels {
	g := map[string][]labels.Labels{}
	for _, ls := range series {
		if v := ls.Get(name); v != "" {
			g[v] = append(g[v], ls)
		}
	}
	return g
}

// pack puts values into bins of at most limit series, largest first; a value
// with more than limit has a bin of its own.
func pack(groups map[string][]labels.Labels, limit int) [][]string {
	vals := keys(groups)
	slices.SortFunc(vals, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(groups[b]), len(groups[a])), strings.Compare(a, b))
	})
	var bins [][]string
	var sizes []int
	for _, v := range vals {
		n := len(groups[v])
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

func keys(m map[string][]labels.Labels) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
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
