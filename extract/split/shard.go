package split

import (
	"cmp"
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/promrecover/promrecover/extract"
)

// Census is what sharding needs of discovery: how many series of one
// selection each value of a label holds. A source answers it from the
// series' label sets where it can list them, else with count queries; the
// shards come out the same.
type Census interface {
	// Count counts the series by their value of each of names (a map a
	// name); the series without it count under "".
	Count(ctx context.Context, names ...string) ([]map[string]int, error)
	// LabelNames lists the label names of the series.
	LabelNames(ctx context.Context) ([]string, error)
	// Narrow is the census of the series whose label name equals value.
	Narrow(name, value string) Census
}

// Shard rewrites selector sel, whose series cen counts, into selectors
// that each match about maxSeries series at most, before anything is
// fetched: metric names packed together up to the limit, and a metric too
// big on its own cut by the values of its most varied label (among the
// first lookups candidates). A rest selector per cut (names or values the
// discovery did not see) keeps the shards complete, and they are disjoint.
// It returns the shards and the series counted; sel alone when they are
// within the limit. A metric whose labels cannot be counted stays whole,
// which log says; the error is that of counting the names.
func Shard(ctx context.Context, sel string, cen Census, maxSeries, lookups int, log *slog.Logger) ([]string, int, error) {
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(sel)
	if err != nil {
		return nil, 0, err
	}
	counts, err := cen.Count(ctx, model.MetricNameLabel)
	if err != nil {
		return nil, 0, err
	}
	byName := counts[0]
	delete(byName, "") // every series has a name; a count query's stray group is no metric
	total := 0
	for _, n := range byName {
		total += n
	}
	if total <= maxSeries {
		return []string{sel}, total, nil
	}
	shards := shardByName(ms, byName, maxSeries, func(name string) (string, map[string]int) {
		sub := cen.Narrow(model.MetricNameLabel, name)
		names, err := sub.LabelNames(ctx)
		var byLabel []map[string]int
		best, i := "", -1
		if err == nil {
			best, i, _, err = bestLabel(names, with(ms, labels.MustNewMatcher(labels.MatchEqual, model.MetricNameLabel, name)), lookups, func(candidates []string) ([][]string, error) {
				byLabel, err = sub.Count(ctx, candidates...)
				values := make([][]string, len(byLabel))
				for i, c := range byLabel {
					delete(c, "") // the series without the label are in the rest selector
					values[i] = slices.Sorted(maps.Keys(c))
				}
				return values, err
			})
		}
		if err != nil {
			log.Info("label discovery failed; the metric is fetched whole and split only if it proves too big", "metric", name, "err", err)
			return "", nil
		}
		if i < 0 {
			return "", nil
		}
		return best, byLabel[i]
	})
	return shards, total, nil
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
	return append(out, extract.Canonical(with(ms, noneOf(model.MetricNameLabel, slices.Sorted(maps.Keys(byName))))))
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
	return append(out, extract.Canonical(with(ms, noneOf(label, slices.Sorted(maps.Keys(counts))))))
}

// pack puts values into bins of at most limit series, largest first; a value
// with more than limit has a bin of its own.
func pack(counts map[string]int, limit int) [][]string {
	vals := slices.Sorted(maps.Keys(counts))
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

// bestLabel picks the label to cut a selection of matchers ms on: among the
// first limit of the candidates (splitCandidates of names), the one with
// the most values, as values lists them for all of those at once (the
// values that would cut nothing left out). It returns the label, its index
// among the candidates and its values; "" and -1 when none has a value.
func bestLabel(names []string, ms []*labels.Matcher, limit int, values func(candidates []string) ([][]string, error)) (string, int, []string, error) {
	candidates := splitCandidates(names, ms)
	candidates = candidates[:min(limit, len(candidates))]
	lists, err := values(candidates)
	if err != nil {
		return "", -1, nil, err
	}
	best := -1
	for i, vs := range lists {
		if len(vs) > 0 && (best < 0 || len(vs) > len(lists[best])) {
			best = i
		}
	}
	if best < 0 {
		return "", -1, nil, nil
	}
	return candidates[best], best, lists[best], nil
}

// preferredSplitLabels are looked up first when choosing a label to split
// on: labels that usually have many values.
var preferredSplitLabels = []string{"instance", "pod", "container", "le", "id", "device", "cpu", "path", "handler", "code", "method", "mode"}

// splitCandidates orders the label names worth cutting the selection of
// matchers ms on: neither the metric name nor a label ms already pins, the
// usual high-cardinality ones first, then the others alphabetically.
func splitCandidates(names []string, ms []*labels.Matcher) []string {
	p := part{ms: ms}
	var out []string
	for _, n := range names {
		if n != model.MetricNameLabel && !p.pinned(n) {
			out = append(out, n)
		}
	}
	rank := func(n string) int {
		if i := slices.Index(preferredSplitLabels, n); i >= 0 {
			return i
		}
		return len(preferredSplitLabels)
	}
	slices.SortStableFunc(out, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	return out
}

// ShardAll shards each of selectors (see Shard) through the census count
// gives it, and names the discovery that counted in the log. Where
// counting fails a selector stays as it is, and splitting on a too-big
// answer still applies. It also returns the series counted, summed over
// the selectors (an upper bound where they overlap), or -1 where a count
// failed.
func ShardAll(ctx context.Context, selectors []string, count func(sel string) (Census, string, error), maxSeries, lookups int, log *slog.Logger) ([]string, int) {
	var out []string
	series := 0
	for _, sel := range selectors {
		cen, via, err := count(sel)
		var shards []string
		total := 0
		if err == nil {
			shards, total, err = Shard(ctx, sel, cen, maxSeries, lookups, log)
		}
		switch {
		case err != nil:
			series = -1
			log.Info("series discovery failed; the selector is fetched whole and split only if it proves too big", "selector", sel, "err", err)
			shards = []string{sel}
		case total > maxSeries:
			log.Info("sharding a large selector", "selector", sel, "series", total, "shards", len(shards), "discovery", via)
		}
		out = append(out, shards...)
		if series >= 0 {
			series += total
		}
	}
	return out, series
}
