package crosscheck

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/extract"
)

func TestGroups(t *testing.T) {
	ls := func(name, inst string) labels.Labels { return labels.FromStrings("__name__", name, "instance", inst) }
	for _, tc := range []struct {
		name string
		sets []labels.Labels
		want [][]string
	}{
		{"no collision", []labels.Labels{ls("a", "1"), ls("b", "2")}, [][]string{{"a", "b"}}},
		{"two names share a label set", []labels.Labels{ls("a", "1"), ls("b", "1"), ls("b", "2")}, [][]string{{"a"}, {"b"}}},
		{"three names, two collide", []labels.Labels{ls("a", "1"), ls("b", "1"), ls("c", "2")}, [][]string{{"a", "c"}, {"b"}}},
		{"nothing", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got [][]string
			for _, g := range groups(tc.sets) {
				got = append(got, g.names)
				for h, n := range g.name {
					if !slices.Contains(g.names, n) {
						t.Errorf("group %v maps %d to %s", g.names, h, n)
					}
				}
			}
			if !slices.EqualFunc(got, tc.want, slices.Equal) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNarrowed(t *testing.T) {
	for _, tc := range []struct {
		sel   string
		names []string
		want  string
	}{
		{`{job="api"}`, []string{"up"}, `up{job="api"}`},
		{`{__name__=~".+"}`, []string{"a.b", "c"}, `{__name__=~".+",__name__=~"a\\.b|c"}`},
		{`{__name__=~".+"}`, []string{"up"}, `{__name__="up",__name__=~".+"}`},
	} {
		got, err := narrowed(tc.sel, tc.names)
		if err != nil || got != tc.want {
			t.Errorf("narrowed(%s, %v) = %s, %v; want %s", tc.sel, tc.names, got, err, tc.want)
		}
	}
}

// cutRead counts as remote read fetches, [From, To), on a server whose
// range selectors are left-open.
func cutRead(u extract.Unit) extract.Counted {
	return extract.Counted{Lo: u.From, Hi: u.To - 1, Range: u.To - u.From}
}

func TestRangeOf(t *testing.T) {
	u := extract.Unit{From: 7_200_000, To: 14_400_500}
	for _, tc := range []struct {
		name string
		c    extract.Counted
		want string
	}{
		{"the fetch's range selector", extract.CountRange(nil, u), "up[7200501ms] @ 14400.500"},
		{"a fetch cut to [From, To)", cutRead(u), "up[7200500ms] @ 14400.499"},
	} {
		if got := rangeOf("up", tc.c); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestPass: what a fetch brings is compared with the counts as it goes by;
// what matches goes on, what differs is held and named.
func TestPass(t *testing.T) {
	u := extract.Unit{From: 1000, To: 2000}
	a := labels.FromStrings("__name__", "a", "i", "1")
	b := labels.FromStrings("__name__", "b", "i", "2")
	series := func(ls labels.Labels, ts ...int64) extract.Series {
		s := extract.Series{Labels: ls}
		for _, t := range ts {
			s.Samples = append(s.Samples, extract.Sample{T: t, V: 1})
		}
		return s
	}
	want := func(byName bool, n map[*labels.Labels]int) *counts {
		c := &counts{byName: byName, m: map[uint64]entry{}}
		for ls, k := range n {
			key := *ls
			if !byName {
				key = withoutName(key)
			}
			c.m[key.Hash()] = entry{lset: key, n: k}
		}
		return c
	}
	stale := series(a, 1000, 1500)
	stale.Samples = append(stale.Samples, extract.Sample{T: 1600, V: math.Float64frombits(value.StaleNaN)})
	for _, tc := range []struct {
		name  string
		want  *counts
		fetch [][]extract.Series
		sent  int
		diffs []Diff
	}{
		{"exact, edges included", want(false, map[*labels.Labels]int{&a: 3, &b: 1}),
			[][]extract.Series{{series(a, 999, 1500, 2000), series(b, 1999)}}, 2, nil},
		{"a sample outside is not the source's", want(false, map[*labels.Labels]int{&a: 1}),
			[][]extract.Series{{series(a, 998, 1500)}}, 1, nil},
		{"a fetch cut to [From, To) counts neither edge", want(false, map[*labels.Labels]int{&a: 2}),
			[][]extract.Series{{series(a, 999, 1000, 1999, 2000)}}, 1, nil},
		{"stale markers are not counted", want(true, map[*labels.Labels]int{&a: 2}), [][]extract.Series{{stale}}, 1, nil},
		{"a tail short", want(false, map[*labels.Labels]int{&a: 3, &b: 1}),
			[][]extract.Series{{series(a, 1000, 1500), series(b, 1999)}}, 1, []Diff{{Series: a, Source: 3, Fetched: 2}}},
		{"a series missing", want(true, map[*labels.Labels]int{&a: 1, &b: 1}),
			[][]extract.Series{{series(a, 1000)}}, 1, []Diff{{Series: b, Source: 1}}},
		{"a series the source does not count", want(false, map[*labels.Labels]int{&a: 1}),
			[][]extract.Series{{series(a, 1000), series(b, 1000)}}, 1, []Diff{{Series: b, Fetched: 1}}},
		{"a repeat made whole", want(false, map[*labels.Labels]int{&a: 2}),
			[][]extract.Series{{series(a, 1000)}, {series(a, 1000, 1001)}, {series(a, 1000, 1001)}}, 1, nil},
		{"two names the count cannot tell apart", want(false, map[*labels.Labels]int{&a: 1}),
			[][]extract.Series{{series(a, 1000), series(labels.FromStrings("__name__", "c", "i", "1"), 1000)}}, 1,
			[]Diff{{Series: labels.FromStrings("__name__", "c", "i", "1"), Fetched: 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []extract.Series
			span := extract.CountRange(nil, u)
			if strings.HasPrefix(tc.name, "a fetch cut") {
				span = cutRead(u)
			}
			p := newPass(u, span, tc.want, func(ss []extract.Series) error { got = append(got, ss...); return nil }, nil)
			for _, batch := range tc.fetch {
				if err := p.take(batch); err != nil {
					t.Fatal(err)
				}
			}
			if len(got) != tc.sent {
				t.Errorf("%d series went on, want %d", len(got), tc.sent)
			}
			diffs := p.diffs()
			if !slices.EqualFunc(diffs, tc.diffs, func(x, y Diff) bool {
				return labels.Equal(x.Series, y.Series) && x.Source == y.Source && x.Fetched == y.Fetched
			}) {
				t.Errorf("diffs %v, want %v", diffs, tc.diffs)
			}
		})
	}
}

// TestGrid: a selector's full windows share a term, counted at each
// window's end; a unit at the range's ends has its own, pinned with @; a
// point finds its unit by tag and time.
func TestGrid(t *testing.T) {
	w := func(i int64) extract.Window {
		return extract.Window{Start: i * extract.WindowMs, End: (i + 1) * extract.WindowMs}
	}
	sel := `{path="/a/b"}`
	units := []extract.Unit{
		{Window: w(1), From: w(1).Start + 500, To: w(1).End, Selector: sel},
		{Window: w(2), From: w(2).Start, To: w(2).End, Selector: sel},
		{Window: w(3), From: w(3).Start, To: w(3).End, Selector: sel},
		{Window: w(3), From: w(3).Start, To: w(3).End, Selector: `{job="x"}`},
	}
	fetched := func(u extract.Unit) extract.Counted { return extract.CountRange(nil, u) }
	g, err := newGrid(units, map[string][]*group{`{job="x"}`: {{names: []string{"a", "b"}}}}, fetched)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`label_replace(count_over_time({path="/a/b"}[7199501ms] @ 14400.000), "__promrecover_unit", "u0", "", "")`,
		`label_replace(count_over_time({path="/a/b"}[7200001ms]), "__promrecover_unit", "s0", "", "")`,
		`label_replace(count_over_time({__name__=~"a|b",job="x"}[7200001ms]), "__promrecover_unit", "s1/0", "", "")`,
	}
	if !slices.Equal(g.terms, want) || g.start != w(1).End || g.end != w(3).End {
		t.Fatalf("terms %q from %d to %d; want %q from %d to %d", g.terms, g.start, g.end, want, w(1).End, w(3).End)
	}
	for _, tc := range []struct {
		tag  string
		t    int64
		unit int
		grp  int
	}{
		{"u0", w(1).End, 0, -1},
		{"u0", w(2).End, -1, -1}, // the pinned term, again at another point
		{"s0", w(2).End, 1, -1},
		{"s0", w(3).End, 2, -1},
		{"s0", w(1).End, -1, -1}, // the partial window is u0's
		{"s1/0", w(3).End, 3, 0},
		{"s1/0", w(2).End, -1, -1},
		{"s7", w(2).End, -1, -1},
		{"", w(2).End, -1, -1},
	} {
		if i, _, j := g.unitOf(tc.tag, tc.t); i != tc.unit || i >= 0 && j != tc.grp {
			t.Errorf("unitOf(%q, %d) = %d, %d; want %d, %d", tc.tag, tc.t, i, j, tc.unit, tc.grp)
		}
	}
}

// TestGridCut: the counts of a source whose fetch is cut to [From, To)
// cover exactly that: a range one ms short of the fetch's selector, ending
// 1ms before each window's end.
func TestGridCut(t *testing.T) {
	w := extract.Window{Start: extract.WindowMs, End: 2 * extract.WindowMs}
	units := []extract.Unit{
		{Window: w, From: w.Start + 500, To: w.End, Selector: "a"},
		{Window: w, From: w.Start, To: w.End, Selector: "b"},
	}
	g, err := newGrid(units, map[string][]*group{}, cutRead)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`label_replace(count_over_time(a[7199500ms] @ 14399.999), "__promrecover_unit", "u0", "", "")`,
		`label_replace(count_over_time(b[7200000ms] offset 1ms), "__promrecover_unit", "s0", "", "")`,
	}
	if !slices.Equal(g.terms, want) {
		t.Errorf("terms %q; want %q", g.terms, want)
	}
}
