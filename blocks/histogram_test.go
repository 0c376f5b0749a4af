package blocks

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/promrecover/promrecover/extract"
)

var stale = math.Float64frombits(value.StaleNaN)

// intHist is a scrape-like integer histogram: observations grow with i, a
// bucket appears at i = 100 (the chunk is recoded with an empty bucket in
// the samples before it), and the counter resets at i = 300.
func intHist(i int) *histogram.Histogram {
	n := uint64(i % 300)
	h := &histogram.Histogram{
		Schema: 1, ZeroThreshold: 0x1p-128, ZeroCount: n, Count: 4 * n, Sum: 1.5 * float64(n),
		PositiveSpans:   []histogram.Span{{Offset: -1, Length: 2}},
		PositiveBuckets: []int64{int64(n), 0},
		NegativeSpans:   []histogram.Span{{Offset: 2, Length: 1}},
		NegativeBuckets: []int64{int64(n)},
	}
	if i%300 >= 100 {
		h.PositiveSpans = []histogram.Span{{Offset: -1, Length: 2}, {Offset: 3, Length: 1}}
		h.PositiveBuckets = []int64{int64(n), 0, -int64(n) + 1}
		h.Count++
	}
	return h
}

// floatHist is what a recording rule makes: fractional counts.
func floatHist(i int) *histogram.FloatHistogram {
	c := 0.25 * float64(i)
	return &histogram.FloatHistogram{
		Schema: -2, Count: 3 * c, Sum: math.Copysign(0, -1),
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 1}, {Offset: 2, Length: 1}},
		PositiveBuckets: []float64{c, 2 * c},
	}
}

func hists(start, step int64, from, to int, float bool) []extract.HistogramSample {
	var out []extract.HistogramSample
	for i := from; i < to; i++ {
		s := extract.HistogramSample{T: start + int64(i)*step}
		if float {
			s.FH = floatHist(i)
		} else {
			s.H = intHist(i)
		}
		out = append(out, s)
	}
	return out
}

// TestHistogramRoundTrip writes histogram series, series that switch
// between floats and histograms, and stale markers of both kinds into real
// blocks, which Done verifies, and reads them back bit for bit.
func TestHistogramRoundTrip(t *testing.T) {
	ctx := context.Background()
	w := win(2)
	lbl := func(name string) labels.Labels { return labels.FromStrings("__name__", name, "job", "api") }
	staleHist := extract.HistogramSample{T: w.Start + 20_000, H: &histogram.Histogram{Sum: stale}}
	in := []extract.Series{
		{Labels: lbl("rpc_int"), Histograms: hists(w.Start, 15_000, 0, 480, false)},
		{Labels: lbl("rpc_float"), Histograms: hists(w.Start+7, 15_000, 1, 480, true)},
		// More than commitEvery histograms: a commit inside the run.
		{Labels: lbl("busy"), Histograms: hists(w.Start, 1_000, 0, 7_100, false)},
		{
			// Floats, then histograms, a float stale marker (which the head
			// stores as a histogram stale marker), histograms, floats.
			Labels: lbl("switch"),
			Samples: []extract.Sample{{T: w.Start, V: 1}, {T: w.Start + 1, V: math.NaN()},
				{T: w.Start + 50_000, V: stale}, {T: w.Start + 90_000, V: 7}, {T: w.Start + 91_000, V: stale}},
			Histograms: append(hists(w.Start+10_000, 10_000, 0, 4, false), hists(w.Start+60_000, 10_000, 0, 3, true)...),
		},
		// Integer histograms, then float ones, then integer ones again.
		{Labels: lbl("kinds"), Histograms: append(append(hists(w.Start, 1_000, 0, 3, false), hists(w.Start, 1_000, 3, 5, true)...), hists(w.Start, 1_000, 5, 7, false)...)},
		// A histogram stale marker as it may come from elsewhere.
		{Labels: lbl("gone"), Histograms: append(hists(w.Start, 10_000, 1, 2, false), staleHist)},
		{Labels: lbl("floats"), Samples: []extract.Sample{{T: w.Start, V: stale}, {T: w.Start + 5, V: math.Inf(-1)}, {T: w.End - 1, V: stale}}},
		// Whole counts whose count is not what the buckets hold: only a
		// float histogram may, as nativehist.FromAPI rebuilds it.
		{Labels: lbl("unbalanced"), Histograms: []extract.HistogramSample{{T: w.Start + 3, FH: &histogram.FloatHistogram{
			Count: 1, Sum: 1, PositiveSpans: []histogram.Span{{Offset: 1, Length: 1}}, PositiveBuckets: []float64{5}}}}},
	}
	dir := t.TempDir()
	s := newTestSink(t, dir)
	if err := s.Add(ctx, w, in); err != nil {
		t.Fatal(err)
	}
	if err := s.Done(ctx, w, nil); err != nil {
		t.Fatal(err)
	}
	total := extract.CountSamples(in)
	if b := s.Blocks(); len(b) != 1 || b[0].Series != uint64(len(in)) || b[0].Samples != uint64(total) {
		t.Fatalf("blocks %+v, want one of %d series, %d samples", b, len(in), total)
	}

	want := append([]extract.Series(nil), in...)
	// The histogram stale marker reads back as the float stale marker.
	want[5] = extract.Series{Labels: lbl("gone"), Histograms: in[5].Histograms[:1], Samples: []extract.Sample{{T: staleHist.T, V: stale}}}
	got, err := ReadSeries(dir, w.Start, w.End)
	if err != nil {
		t.Fatal(err)
	}
	if err := extract.Compare(want, got); err != nil {
		t.Fatal(err)
	}
	for _, g := range got {
		for _, smp := range g.Samples {
			if math.IsNaN(smp.V) && !value.IsStaleNaN(smp.V) && math.Float64bits(smp.V) != math.Float64bits(math.NaN()) {
				t.Errorf("series %s: NaN %x at %d", g.Labels, math.Float64bits(smp.V), smp.T)
			}
		}
	}

	b, err := tsdb.OpenBlock(nil, s.Blocks()[0].Dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// Every histogram, and the float stale marker the head turned into a
	// histogram one because it followed histograms.
	if st, wantH := b.Meta().Stats, uint64(480+479+7_100+(7+1)+7+2+1); st.NumHistogramSamples != wantH {
		t.Errorf("block stats %+v, want %d histogram samples", st, wantH)
	}
}

func TestDigestOfHistograms(t *testing.T) {
	base := extract.HistogramSample{T: 5, H: intHist(150)}
	digestOf := func(s extract.HistogramSample) digest {
		d := newDigest()
		d.addHistogram(s)
		return d
	}
	modified := func(f func(h *histogram.Histogram)) extract.HistogramSample {
		h := base.H.Copy()
		f(h)
		return extract.HistogramSample{T: base.T, H: h}
	}
	for _, tc := range []struct {
		name string
		s    extract.HistogramSample
		same bool
	}{
		{"a copy", modified(func(*histogram.Histogram) {}), true},
		{"an empty bucket more", modified(func(h *histogram.Histogram) {
			h.PositiveSpans = []histogram.Span{{Offset: -1, Length: 2}, {Offset: 3, Length: 2}}
			h.PositiveBuckets = append(h.PositiveBuckets, -1)
		}), true},
		{"the counter reset hint", modified(func(h *histogram.Histogram) { h.CounterResetHint = histogram.CounterReset }), true},
		{"the float form", extract.HistogramSample{T: base.T, FH: base.H.ToFloat(nil)}, false},
		{"another time", extract.HistogramSample{T: base.T + 1, H: base.H}, false},
		{"a bucket count", modified(func(h *histogram.Histogram) { h.PositiveBuckets[2]++ }), false},
		{"a bucket moved", modified(func(h *histogram.Histogram) { h.PositiveSpans[1].Offset++ }), false},
		{"a bucket to the other side", modified(func(h *histogram.Histogram) {
			h.PositiveSpans, h.NegativeSpans = h.PositiveSpans[:1], append(h.NegativeSpans, histogram.Span{Offset: 3, Length: 1})
			h.PositiveBuckets, h.NegativeBuckets = h.PositiveBuckets[:2], append(h.NegativeBuckets, h.PositiveBuckets[2])
		}), false},
		{"the schema", modified(func(h *histogram.Histogram) { h.Schema++ }), false},
		{"the zero threshold", modified(func(h *histogram.Histogram) { h.ZeroThreshold = 0 }), false},
		{"the sum's bits", modified(func(h *histogram.Histogram) { h.Sum = math.Float64frombits(math.Float64bits(h.Sum) + 1) }), false},
		{"a stale marker", modified(func(h *histogram.Histogram) { h.Sum = stale }), false},
	} {
		if got := digestOf(tc.s) == digestOf(base); got != tc.same {
			t.Errorf("%s: same digest %v, want %v", tc.name, got, tc.same)
		}
	}
	staleH := extract.HistogramSample{T: 9, FH: &histogram.FloatHistogram{Sum: stale, Count: 3}}
	d := newDigest()
	d.add(9, stale)
	if digestOf(staleH) != d {
		t.Error("a histogram stale marker does not digest as the float stale marker")
	}
}

func TestAddRejectsMixedTimestamps(t *testing.T) {
	w := win(3)
	for _, tc := range []struct {
		name   string
		series extract.Series
		err    string
	}{
		{"a float and a histogram at one time", extract.Series{Labels: labels.FromStrings("__name__", "x"),
			Samples: []extract.Sample{{T: w.Start + 10, V: 1}}, Histograms: hists(w.Start+10, 1, 0, 1, false)}, "a float and a histogram sample at"},
		{"histograms out of order", extract.Series{Labels: labels.FromStrings("__name__", "y"),
			Histograms: append(hists(w.Start+10, 1, 0, 1, false), hists(w.Start+5, 1, 0, 1, false)...)}, "histogram sample at"},
		{"floats out of order around a histogram", extract.Series{Labels: labels.FromStrings("__name__", "u"),
			Samples: []extract.Sample{{T: w.Start + 5, V: 1}, {T: w.Start + 3, V: 1}}, Histograms: hists(w.Start+4, 1, 0, 1, false)}, "sample at 1700020800003 follows one at 1700020800005"},
		{"a histogram outside the window", extract.Series{Labels: labels.FromStrings("__name__", "z"),
			Histograms: hists(w.End, 1, 0, 1, true)}, "outside the window"},
	} {
		err := newTestSink(t, t.TempDir()).Add(context.Background(), w, []extract.Series{tc.series})
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.err)
		}
	}
}

// TestVerifyCatchesHistogramMismatch: a block whose histograms read back
// other than appended is not installed.
func TestVerifyCatchesHistogramMismatch(t *testing.T) {
	w := win(5)
	in := []extract.Series{{Labels: labels.FromStrings("__name__", "rpc"), Histograms: hists(w.Start, 1_000, 1, 20, false)}}
	for _, tc := range []struct {
		name  string
		alter func(s extract.HistogramSample) extract.HistogramSample
	}{
		{"one bucket count more", func(s extract.HistogramSample) extract.HistogramSample {
			s.H = s.H.Copy()
			s.H.PositiveBuckets[0]++
			s.H.Count++
			return s
		}},
		{"the float form", func(s extract.HistogramSample) extract.HistogramSample {
			return extract.HistogramSample{T: s.T, FH: s.H.ToFloat(nil)}
		}},
		{"a stale marker for a histogram", func(s extract.HistogramSample) extract.HistogramSample {
			return extract.HistogramSample{T: s.T, H: &histogram.Histogram{Sum: stale}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestSink(t, t.TempDir())
			s.beforeVerify = func(l *ledger) {
				d := newDigest()
				for i, h := range in[0].Histograms {
					if i == 7 {
						h = tc.alter(h)
					}
					d.addHistogram(h)
				}
				sortedRecords(l)[0].d = d
			}
			if err := s.Add(context.Background(), w, in); err != nil {
				t.Fatal(err)
			}
			err := s.Done(context.Background(), w, nil)
			if err == nil || !strings.Contains(err.Error(), `series {__name__="rpc"} reads back 19 samples`) || len(s.Blocks()) != 0 {
				t.Fatalf("Done: %v, blocks %v", err, s.Blocks())
			}
		})
	}
}
