package crosscheck

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/split"
)

// tagLabel tells the units of one count request apart: every unit's
// vector is tagged with its index, and the vectors are joined with "or",
// so that one request counts many units. Prometheus reserves names that
// begin with "__", so no series of the source carries it.
const tagLabel = "__promrecover_unit"

// counts is what the source counts of one unit: samples per series, by
// key. Without byName the keys are the label sets without __name__, which
// count_over_time drops; with it, the full label sets.
type counts struct {
	byName bool
	m      map[uint64]entry
	err    error // the unit could not be counted: it is not checked
}

type entry struct {
	lset labels.Labels
	n    int
}

func (c *counts) key(ls labels.Labels) uint64 {
	if !c.byName {
		ls = withoutName(ls)
	}
	return ls.Hash()
}

// withoutName is ls without __name__, as count_over_time leaves it.
func withoutName(ls labels.Labels) labels.Labels {
	return labels.NewBuilder(ls).Del(model.MetricNameLabel).Labels()
}

// rangeOf is the range selector of sel that holds the samples c counts,
// those the fetch brought (extract.CountRange): on a server that keeps
// the left end (Prometheus 2) and on one that leaves it out (Prometheus 3,
// Mimir) alike.
func rangeOf(sel string, c extract.Counted) string {
	return fmt.Sprintf("%s[%dms] @ %s", sel, c.Range, strconv.FormatFloat(float64(c.Hi)/1000, 'f', 3, 64))
}

// tagged is expr with tag in tagLabel.
func tagged(expr, tag string) string {
	return fmt.Sprintf(`label_replace(%s, %q, %q, "", "")`, expr, tagLabel, tag)
}

// at is when the census of units is evaluated: the end of the last, on a
// whole second.
func at(units []extract.Unit) int64 {
	var t int64
	for _, u := range units {
		t = max(t, u.To)
	}
	return split.CeilTo(t, 1000)
}

// points asks one range query of terms joined by "or", and hands each
// point to add by its series' tag, without the tag.
func (s *Source) points(ctx context.Context, terms []string, start, end int64, step time.Duration, add func(tag string, ls labels.Labels, t int64, v float64)) error {
	s.requests.Add(1)
	return s.counter.Points(extract.CountingBytes(ctx, &s.bytes), strings.Join(terms, " or "), start, end, step, func(ls labels.Labels, t int64, v float64) {
		tag := ls.Get(tagLabel)
		add(tag, labels.NewBuilder(ls).Del(tagLabel).Labels(), t, v)
	})
}

// group is some metric names of a unit's selector of which no two have
// series with the same other labels: counted together, their counts
// still have distinct label sets, and each one's name is known.
type group struct {
	names []string
	name  map[uint64]string // by the label set without __name__
}

// groups lists the series of a unit, as last_over_time keeps their names,
// and colours the names so that no group holds two of one label set.
func groups(sets []labels.Labels) []*group {
	byName := map[string][]uint64{}
	for _, ls := range sets {
		n := ls.Get(model.MetricNameLabel)
		byName[n] = append(byName[n], withoutName(ls).Hash())
	}
	var out []*group
	for _, n := range slices.Sorted(maps.Keys(byName)) {
		i := slices.IndexFunc(out, func(g *group) bool {
			return !slices.ContainsFunc(byName[n], func(h uint64) bool { _, ok := g.name[h]; return ok })
		})
		if i < 0 {
			out, i = append(out, &group{name: map[uint64]string{}}), len(out)
		}
		out[i].names = append(out[i].names, n)
		for _, h := range byName[n] {
			out[i].name[h] = n
		}
	}
	return out
}

// narrowed is sel with its metric name restricted to names.
func narrowed(sel string, names []string) (string, error) {
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(sel)
	if err != nil {
		return "", err
	}
	m := labels.MustNewMatcher(labels.MatchEqual, model.MetricNameLabel, names[0])
	if len(names) > 1 {
		quoted := make([]string, len(names))
		for i, n := range names {
			quoted[i] = regexp.QuoteMeta(n)
		}
		m = labels.MustNewMatcher(labels.MatchRegexp, model.MetricNameLabel, strings.Join(quoted, "|"))
	}
	return extract.Canonical(append(ms, m)), nil
}

// pinsName reports whether sel pins __name__ with "=": its series cannot
// differ only in their names.
func pinsName(sel string) bool {
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(sel)
	return err == nil && slices.ContainsFunc(ms, func(m *labels.Matcher) bool {
		return m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual
	})
}

// census lists, for each selector of units that does not pin a name, the
// series it matches over all of the units' ranges, with their names
// (last_over_time keeps __name__), in one request, and colours each
// selector's names into groups. One list serves every unit of the
// selector: names that share a label set anywhere in the span are kept
// apart in each unit, which is all a group needs.
func (s *Source) census(ctx context.Context, units []extract.Unit) (map[string][]*group, error) {
	span := extract.Unit{From: units[0].From, To: units[0].To}
	var sels []string
	for _, u := range units {
		span.From, span.To = min(span.From, u.From), max(span.To, u.To)
		if !pinsName(u.Selector) && !slices.Contains(sels, u.Selector) {
			sels = append(sels, u.Selector)
		}
	}
	out := map[string][]*group{}
	if len(sels) == 0 {
		return out, nil
	}
	terms := make([]string, len(sels))
	for i, sel := range sels {
		terms[i] = tagged("last_over_time("+rangeOf(sel, extract.CountRange(s.counter, span))+")", strconv.Itoa(i))
	}
	sets := make([][]labels.Labels, len(sels))
	t := at(units)
	err := s.points(ctx, terms, t, t, time.Second, func(tag string, ls labels.Labels, _ int64, _ float64) {
		if i, err := strconv.Atoi(tag); err == nil && i >= 0 && i < len(sets) {
			sets[i] = append(sets[i], ls)
		}
	})
	for i, sel := range sels {
		out[sel] = groups(sets[i])
	}
	return out, err
}

// count counts units in at most two requests: the census of the selectors
// that need it, then every unit's count_over_time (by groups of names
// where its selector does not pin one). Where a request fails (over a
// limit of the source, say) the units are counted in halves, and later
// chunks start at that size; a unit that cannot be counted alone gets the
// error.
func (s *Source) count(ctx context.Context, units []extract.Unit) []*counts {
	if n := int(s.most.Load()); len(units) > n {
		return append(s.count(ctx, units[:n]), s.count(ctx, units[n:])...)
	}
	out, err := s.countAll(ctx, units)
	switch {
	case err == nil:
		return out
	case len(units) == 1 || ctx.Err() != nil:
		return failed(len(units), err)
	}
	half := len(units) / 2
	for n := s.most.Load(); int64(half) < n && !s.most.CompareAndSwap(n, int64(half)); n = s.most.Load() {
	}
	return append(s.count(ctx, units[:half]), s.count(ctx, units[half:])...)
}

// countAll counts units in one range query (see grid), after their
// census.
func (s *Source) countAll(ctx context.Context, units []extract.Unit) ([]*counts, error) {
	gs, err := s.census(ctx, units)
	if err != nil {
		return nil, err
	}
	g, err := newGrid(units, gs, func(u extract.Unit) extract.Counted { return extract.CountRange(s.counter, u) })
	if err != nil {
		return nil, err
	}
	out := make([]*counts, len(units))
	for i, u := range units {
		_, byName := gs[u.Selector]
		out[i] = &counts{byName: byName, m: map[uint64]entry{}}
	}
	if len(g.terms) == 0 {
		return out, nil // selectors the census found no series of
	}
	err = s.points(ctx, g.terms, g.start, g.end, time.Duration(extract.WindowMs)*time.Millisecond, func(tag string, ls labels.Labels, t int64, v float64) {
		i, sel, j := g.unitOf(tag, t)
		if i < 0 {
			return
		}
		if out[i].byName {
			if j < 0 || j >= len(gs[sel]) {
				return
			}
			// A series the census did not list gets no name, and so
			// differs from what was fetched.
			ls = labels.NewBuilder(ls).Set(model.MetricNameLabel, gs[sel][j].name[ls.Hash()]).Labels()
		}
		out[i].m[ls.Hash()] = entry{lset: ls, n: int(v)}
	})
	return out, err
}

// grid is the range query that counts units: a unit that fills its window
// is counted with the others of its selector that do, at each window's end
// on a grid of windows (one series of the answer for all of them); the one
// or two at the plan's ends that do not fill theirs are counted with their
// own ranges, pinned with @. Each term is tagged "u<i>" (units[i] alone) or
// "s<k>" (the full units of sels[k]), and "/<group>" where its selector is
// counted by groups of names.
type grid struct {
	units      []extract.Unit
	counted    func(extract.Unit) extract.Counted
	gs         map[string][]*group
	terms      []string
	sels       []string
	byWindow   map[string]map[int64]int // a selector's full units, by their windows' ends
	start, end int64                    // the first and last point
}

func newGrid(units []extract.Unit, gs map[string][]*group, counted func(extract.Unit) extract.Counted) (*grid, error) {
	g := &grid{units: units, counted: counted, gs: gs, byWindow: map[string]map[int64]int{}, start: units[0].Window.End, end: units[0].Window.End}
	for i, u := range units {
		g.start, g.end = min(g.start, u.Window.End), max(g.end, u.Window.End)
		if u.From != u.Window.Start || u.To != u.Window.End {
			if err := g.term(u, "u"+strconv.Itoa(i), true); err != nil {
				return nil, err
			}
			continue
		}
		if g.byWindow[u.Selector] == nil {
			g.byWindow[u.Selector] = map[int64]int{}
			g.sels = append(g.sels, u.Selector)
			if err := g.term(u, "s"+strconv.Itoa(len(g.sels)-1), false); err != nil {
				return nil, err
			}
		}
		g.byWindow[u.Selector][u.Window.End] = i
	}
	return g, nil
}

// term adds the count of u's selector over its range, pinned at its end,
// or, not pinned, over the same range of each window at the window's end,
// by groups of names where the selector needs them.
func (g *grid) term(u extract.Unit, tag string, pinned bool) error {
	c, sel := g.counted(u), u.Selector
	count := func(sel string) string {
		if pinned {
			return "count_over_time(" + rangeOf(sel, c) + ")"
		}
		if off := u.To - c.Hi; off != 0 {
			return fmt.Sprintf("count_over_time(%s[%dms] offset %dms)", sel, c.Range, off)
		}
		return fmt.Sprintf("count_over_time(%s[%dms])", sel, c.Range)
	}
	groups, ok := g.gs[sel]
	if !ok {
		g.terms = append(g.terms, tagged(count(sel), tag))
		return nil
	}
	for j, gr := range groups {
		narrow, err := narrowed(sel, gr.names)
		if err != nil {
			return err
		}
		g.terms = append(g.terms, tagged(count(narrow), fmt.Sprintf("%s/%d", tag, j)))
	}
	return nil
}

// unitOf finds the unit (its index, its selector) and the group of a
// point by its tag and time; -1 for a point of no unit (a window between
// those of the chunk, or a unit's own term away from its window's end).
func (g *grid) unitOf(tag string, t int64) (int, string, int) {
	j := -1
	if k := strings.LastIndexByte(tag, '/'); k >= 0 {
		n, err := strconv.Atoi(tag[k+1:])
		if err != nil {
			return -1, "", -1
		}
		tag, j = tag[:k], n
	}
	if tag == "" {
		return -1, "", -1
	}
	n, err := strconv.Atoi(tag[1:])
	switch {
	case err != nil || n < 0:
	case tag[0] == 'u' && n < len(g.units) && t == g.units[n].Window.End:
		return n, g.units[n].Selector, j
	case tag[0] == 's' && n < len(g.sels):
		if i, ok := g.byWindow[g.sels[n]][t]; ok {
			return i, g.sels[n], j
		}
	}
	return -1, "", -1
}

func failed(n int, err error) []*counts {
	out := make([]*counts, n)
	for i := range out {
		out[i] = &counts{err: err}
	}
	return out
}
