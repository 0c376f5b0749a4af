package gaps

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// every returns samples every step ms in [from, to).
func every(from, to, step int64) []extract.Sample {
	var out []extract.Sample
	for t := from; t < to; t += step {
		out = append(out, extract.Sample{T: t, V: 1})
	}
	return out
}

func TestHoles(t *testing.T) {
	const (
		from, to = 1_000_000, 2_000_000
		s15      = 15_000
	)
	cases := []struct {
		name    string
		samples []extract.Sample
		want    []Range
		minGap  time.Duration // default a minute
	}{
		{"no hole", every(from-60_000, to+60_000, s15), nil, 0},
		{"a hole in the middle", append(every(from-60_000, 1_300_000, s15), every(1_600_000, to+60_000, s15)...),
			[]Range{{1_300_000 - s15 + 1, 1_600_000}}, 0},
		{"the range starts in a hole", every(1_500_000, to+60_000, s15), []Range{{from, 1_500_000}}, 0},
		{"the range ends in a hole", every(from-60_000, 1_500_000, s15), []Range{{1_495_001, to}}, 0},
		{"a missed scrape or two is no hole", slices.DeleteFunc(every(from-60_000, to+60_000, s15), func(s extract.Sample) bool {
			return s.T == 1_500_000 || s.T == 1_515_000
		}), nil, 0},
		{"a slow series is not a hole between each pair of samples", every(from-600_000, to+600_000, 300_000), nil, 0},
		{"three intervals of a slow series are no hole", append(every(from-600_000, 1_100_000, 300_000), every(1_900_000, to+600_000, 300_000)...), nil, 0},
		{"a slow series with a real hole", append(every(from-600_000, 1_100_000, 300_000), every(2_500_000, to+900_000, 300_000)...),
			[]Range{{1_000_001, to}}, 0},
		// At the edges the minimum holds too, measured inside the range:
		// a series whose first and last samples are a few seconds inside
		// it lost nothing worth a line.
		{"samples from a few seconds into the range to a few before its end", every(from+3_000, to, s15), nil, 5 * time.Minute},
		{"no sample outside the range at all", every(from+13_000, to-2_000, s15), nil, 0},
		{"a hole longer than the minimum at the start", every(from+400_000, to+60_000, s15), []Range{{from, 1_400_000}}, 5 * time.Minute},
		{"a hole longer than the minimum at the end", every(from-60_000, to-400_000, s15), []Range{{1_585_001, to}}, 5 * time.Minute},
		{"what lies before the range does not count", append(every(from-600_000, from-30_000, s15), every(from+40_000, to+60_000, s15)...), nil, 0},
		{"three intervals of a slow series at an edge are no hole", every(from+600_000, to+600_000, 300_000), nil, 0},
		{"more than three intervals of a slow series at an edge are a hole", every(from+950_000, to+600_000, 300_000), []Range{{from, 1_950_000}}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ix := New(from, to, cmp.Or(tc.minGap, time.Minute))
			ls := labels.FromStrings("__name__", "up")
			ix.Add(extract.Series{Labels: ls, Samples: tc.samples})
			got, known := ix.Holes(ls)
			if !known || !slices.Equal(got, tc.want) {
				t.Fatalf("holes %v (known %v), want %v", got, known, tc.want)
			}
		})
	}
	ix := New(from, to, time.Minute)
	if got, known := ix.Holes(labels.FromStrings("__name__", "gone")); known || !slices.Equal(got, []Range{{from, to}}) {
		t.Fatalf("a series not in the local data: %v %v", got, known)
	}
}

type recordSink struct{ got []extract.Series }

func (r *recordSink) Add(_ context.Context, _ extract.Window, ss []extract.Series) error {
	for _, s := range ss {
		r.got = append(r.got, extract.Series{Labels: s.Labels, Samples: slices.Clone(s.Samples), Histograms: slices.Clone(s.Histograms)})
	}
	return nil
}
func (r *recordSink) Done(context.Context, extract.Window, []extract.Gap) error { return nil }
func (r *recordSink) Discard(extract.Window)                                    {}

func TestFilterWritesOnlyIntoHoles(t *testing.T) {
	const from, to = 0, 7_200_000
	ix := New(from, to, time.Minute)
	local := labels.FromStrings("__name__", "up", "job", "a")
	// The local copy lost [1h, 1h30m).
	ix.Add(extract.Series{Labels: local, Samples: append(every(-ix.Margin(), 3_600_000, 15_000), every(5_400_000, to+ix.Margin(), 15_000)...)})
	sink := &recordSink{}
	f := NewFilter(sink, ix)
	absent := labels.FromStrings("__name__", "up", "job", "b")
	recovered := []extract.Series{
		{Labels: local, Samples: every(7_000, to, 15_000)}, // shifted: would interleave everywhere
		{Labels: absent, Samples: every(0, to, 15_000)},
	}
	if err := f.Add(context.Background(), extract.Window{Start: from, End: to}, recovered); err != nil {
		t.Fatal(err)
	}
	if len(sink.got) != 2 {
		t.Fatalf("%d series passed", len(sink.got))
	}
	for _, s := range sink.got[0].Samples {
		if s.T <= 3_585_000 || s.T >= 5_400_000 {
			t.Fatalf("sample at %d is outside the hole (3585000, 5400000)", s.T)
		}
	}
	if n := len(sink.got[0].Samples); n != 121 {
		t.Errorf("%d samples written into the hole (3585000, 5400000), want 121", n)
	}
	if n := len(sink.got[1].Samples); n != 480 {
		t.Errorf("a series the local data lacks is written whole: %d of 480", n)
	}
	if f.Dropped() != 480-121 {
		t.Errorf("dropped %d", f.Dropped())
	}
}

// histEvery is every as histogram samples.
func histEvery(from, to, step int64) []extract.HistogramSample {
	var out []extract.HistogramSample
	for t := from; t < to; t += step {
		out = append(out, extract.HistogramSample{T: t, H: &histogram.Histogram{Count: 1, Sum: 1}})
	}
	return out
}

func TestHistogramsFillAndPassHoles(t *testing.T) {
	const from, to = 0, 7_200_000
	ix := New(from, to, time.Minute)
	// Local data: floats until 1h, histograms from 1h30m (the series changed
	// kind), nothing in between.
	local := labels.FromStrings("__name__", "rpc", "job", "a")
	ix.Add(extract.Series{Labels: local, Samples: every(-ix.Margin(), 3_600_000, 15_000), Histograms: histEvery(5_400_000, to+ix.Margin(), 15_000)})
	if got, _ := ix.Holes(local); !slices.Equal(got, []Range{{3_585_001, 5_400_000}}) {
		t.Fatalf("holes %v", got)
	}
	sink := &recordSink{}
	f := NewFilter(sink, ix)
	recovered := []extract.Series{
		{Labels: local, Samples: every(7_000, 3_600_000, 15_000), Histograms: histEvery(3_607_000, to, 15_000)},
		{Labels: labels.FromStrings("__name__", "rpc", "job", "b"), Histograms: histEvery(0, 3_600_000, 15_000)},
		{Labels: local, Histograms: histEvery(5_400_000, to, 15_000)}, // all covered: dropped whole
	}
	if err := f.Add(context.Background(), extract.Window{Start: from, End: to}, recovered); err != nil {
		t.Fatal(err)
	}
	if len(sink.got) != 2 {
		t.Fatalf("%d series passed, want 2", len(sink.got))
	}
	hs := sink.got[0].Histograms
	if fs := sink.got[0].Samples; len(fs) != 1 || fs[0].T != 3_592_000 || len(hs) != 120 || hs[0].T != 3_607_000 || hs[len(hs)-1].T != 5_392_000 {
		t.Errorf("into the hole (3585000, 5400000): %d floats, %d histograms", len(sink.got[0].Samples), len(hs))
	}
	if n := len(sink.got[1].Histograms); n != 240 {
		t.Errorf("a series the local data lacks is written whole: %d of 240", n)
	}
	if want := int64(239 + 120 + 120); f.Dropped() != want {
		t.Errorf("dropped %d, want %d", f.Dropped(), want)
	}
}

func TestGroups(t *testing.T) {
	const (
		from, to = 0, 14_400_000
		s15      = 15_000
		margin   = 3_600_000
	)
	// scraped returns samples every 15s at the given phase, except in the
	// lost stretches [a, b).
	scraped := func(phase int64, lost ...[2]int64) []extract.Sample {
		return slices.DeleteFunc(every(from-margin+phase, to+margin, s15), func(s extract.Sample) bool {
			return slices.ContainsFunc(lost, func(l [2]int64) bool { return l[0] <= s.T && s.T < l[1] })
		})
	}
	a, b, c, d, e := labels.FromStrings("s", "a"), labels.FromStrings("s", "b"), labels.FromStrings("s", "c"), labels.FromStrings("s", "d"), labels.FromStrings("s", "e")
	series := map[string]extract.Series{
		"a": {Labels: a, Samples: scraped(0, [2]int64{3_600_000, 7_200_000})},
		"b": {Labels: b, Samples: scraped(7_000, [2]int64{3_600_000, 7_200_000}, [2]int64{9_000_000, 10_800_000})},
		"c": {Labels: c, Samples: scraped(0, [2]int64{3_600_000, 10_800_000})},
		"d": {Labels: d, Samples: scraped(0, [2]int64{9_000_000, 10_800_000})},
		"e": {Labels: e, Samples: scraped(0)},
	}
	cases := []struct {
		name   string
		series string
		minGap time.Duration
		want   []Group
	}{
		{"no hole, no group", "e", time.Minute, nil},
		{"one incident, each series seeing it at its own scrape", "abe", time.Minute, []Group{
			{Range{3_585_001, 7_207_000}, []labels.Labels{a, b}},
			{Range{8_992_001, 10_807_000}, []labels.Labels{b}},
		}},
		{"holes that start together but end apart are two", "ac", time.Minute, []Group{
			{Range{3_585_001, 7_200_000}, []labels.Labels{a}},
			{Range{3_585_001, 10_800_000}, []labels.Labels{c}},
		}},
		{"apart by more than the minimum gap is apart", "ab", 5 * time.Second, []Group{
			{Range{3_585_001, 7_200_000}, []labels.Labels{a}},
			{Range{3_592_001, 7_207_000}, []labels.Labels{b}},
			{Range{8_992_001, 10_807_000}, []labels.Labels{b}},
		}},
		{"a series with two holes is in two groups", "abcde", time.Minute, []Group{
			{Range{3_585_001, 7_207_000}, []labels.Labels{a, b}},
			{Range{3_585_001, 10_800_000}, []labels.Labels{c}},
			{Range{8_985_001, 10_807_000}, []labels.Labels{b, d}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ix := New(from, to, tc.minGap)
			for _, name := range tc.series {
				ix.Add(series[string(name)])
			}
			got := ix.Groups()
			if !slices.EqualFunc(got, tc.want, func(g, w Group) bool {
				return g.Range == w.Range && slices.EqualFunc(g.Series, w.Series, labels.Equal)
			}) {
				t.Fatalf("groups\n%v\nwant\n%v", got, tc.want)
			}
		})
	}
}
