package nativehist

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/extract"
)

// api parses the JSON Prometheus's API prints for one histogram.
func api(t *testing.T, s string) *model.SampleHistogram {
	t.Helper()
	var h model.SampleHistogram
	if err := json.Unmarshal([]byte(s), &h); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return &h
}

func apiJSON(t *testing.T, h *model.SampleHistogram) string {
	t.Helper()
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestToAPIPrintsWhatPrometheusPrints(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    *histogram.Histogram
		fh   *histogram.FloatHistogram
		want string
	}{{
		name: "integer, zero bucket, negative bucket, a gap and an empty bucket",
		h: &histogram.Histogram{
			Schema: 0, ZeroThreshold: 0.001, ZeroCount: 2, Count: 9, Sum: 10,
			PositiveSpans:   []histogram.Span{{Offset: 0, Length: 3}, {Offset: 1, Length: 1}},
			PositiveBuckets: []int64{1, 1, -2, 1}, // 1, 2, 0, 1
			NegativeSpans:   []histogram.Span{{Offset: 1, Length: 1}},
			NegativeBuckets: []int64{3},
		},
		want: `{"count":"9","sum":"10","buckets":[[1,"-2","-1","3"],[3,"-0.001","0.001","2"],[0,"0.5","1","1"],[0,"1","2","2"],[0,"8","16","1"]]}`,
	}, {
		name: "float counts, no buckets",
		fh:   &histogram.FloatHistogram{Schema: 3, Count: 0.5, Sum: math.Inf(-1)},
		want: `{"count":"0.5","sum":"-Inf","buckets":null}`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if got := apiJSON(t, ToAPI(tc.h, tc.fh)); got != tc.want {
				t.Errorf("ToAPI printed\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// fromAPICases are API forms of histograms, with the histogram each reads
// as, or the error it gives.
var fromAPICases = []struct {
	name string
	in   string
	h    *histogram.Histogram
	fh   *histogram.FloatHistogram
	err  string
}{{
	name: "integer counts give the integer form, compacted",
	in:   `{"count":"9","sum":"10","buckets":[[1,"-2","-1","3"],[3,"-0.001","0.001","2"],[0,"0.5","1","1"],[0,"1","2","2"],[0,"4","8","1"]]}`,
	h: &histogram.Histogram{
		Schema: 0, ZeroThreshold: 0.001, ZeroCount: 2, Count: 9, Sum: 10,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}, {Offset: 1, Length: 1}},
		PositiveBuckets: []int64{1, 1, -1},
		NegativeSpans:   []histogram.Span{{Offset: 1, Length: 1}},
		NegativeBuckets: []int64{3},
	},
}, {
	name: "a fractional count gives the float form",
	in:   `{"count":"3.5","sum":"-1.25","buckets":[[0,"1","1.189207115002721","1.5"],[0,"1.414213562373095","1.6817928305074288","2"]]}`,
	fh: &histogram.FloatHistogram{
		Schema: 2, Count: 3.5, Sum: -1.25,
		PositiveSpans:   []histogram.Span{{Offset: 1, Length: 1}, {Offset: 1, Length: 1}},
		PositiveBuckets: []float64{1.5, 2},
	},
}, {
	name: "a single bucket's ratio gives the schema",
	in:   `{"count":"4","sum":"4.2","buckets":[[0,"1","1.0905077326652577","4"]]}`,
	h: &histogram.Histogram{
		Schema: 3, Count: 4, Sum: 4.2,
		PositiveSpans:   []histogram.Span{{Offset: 1, Length: 1}},
		PositiveBuckets: []int64{4},
	},
}, {
	name: "only the zero bucket: schema 0",
	in:   `{"count":"5","sum":"0","buckets":[[3,"-2.938735877055719e-39","2.938735877055719e-39","5"]]}`,
	h:    &histogram.Histogram{Schema: 0, ZeroThreshold: 0x1p-128, ZeroCount: 5, Count: 5},
}, {
	name: "no buckets: schema 0",
	in:   `{"count":"0","sum":"0"}`,
	h:    &histogram.Histogram{},
}, {
	name: "NaN sum and the overflow buckets",
	in:   `{"count":"2","sum":"NaN","buckets":[[0,"8.98846567431158e+307","1.7976931348623157e+308","1"],[0,"1.7976931348623157e+308","+Inf","1"]]}`,
	h: &histogram.Histogram{
		Schema: 0, Count: 2, Sum: math.NaN(),
		PositiveSpans:   []histogram.Span{{Offset: 1024, Length: 2}},
		PositiveBuckets: []int64{1, 0},
	},
}, {
	name: "an empty zero bucket shows its threshold in the clipped buckets",
	in:   `{"count":"3","sum":"1","buckets":[[1,"-1","-0.5","1"],[0,"0.5","1","1"],[0,"1","4","1"]]}`,
	h: &histogram.Histogram{
		Schema: -1, ZeroThreshold: 0.5, Count: 3, Sum: 1,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}},
		PositiveBuckets: []int64{1, 0},
		NegativeSpans:   []histogram.Span{{Offset: 0, Length: 1}},
		NegativeBuckets: []int64{1},
	},
}, {
	name: "empty buckets printed anyway are ignored",
	in:   `{"count":"1","sum":"1","buckets":[[0,"0.5","1","0"],[0,"1","2","1"]]}`,
	h: &histogram.Histogram{
		Schema: 0, Count: 1, Sum: 1,
		PositiveSpans:   []histogram.Span{{Offset: 1, Length: 1}},
		PositiveBuckets: []int64{1},
	},
}, {
	name: "inconsistent schema",
	in:   `{"count":"3","sum":"1","buckets":[[0,"1","2","1"],[0,"2","4","1"],[0,"4","16","1"]]}`,
	err:  "inconsistent schema between buckets",
}, {
	name: "bounds of no power-of-two schema",
	in:   `{"count":"1","sum":"1","buckets":[[0,"1","3","1"]]}`,
	err:  "fit no exponential schema",
}, {
	name: "a bucket off the schema's grid",
	in:   `{"count":"2","sum":"1","buckets":[[0,"1","2","1"],[0,"3","6","1"]]}`,
	err:  `is not where schema 0 puts it`,
}, {
	name: "custom buckets",
	in:   `{"count":"3","sum":"1","buckets":[[3,"-Inf","0.1","1"],[0,"0.1","0.25","2"]]}`,
	err:  "custom-bucket histograms",
}, {
	name: "custom buckets that look like none",
	in:   `{"count":"3","sum":"1","buckets":[[0,"1","2.5","1"],[0,"2.5","10","2"]]}`,
	err:  "is not where schema -1 puts it; custom-bucket histograms",
}, {
	// Whole counts that an integer histogram could not hold come from a
	// float histogram, which TSDB stores as it is.
	name: "more in the buckets than the count: the float form",
	in:   `{"count":"1","sum":"1","buckets":[[0,"1","2","5"]]}`,
	fh: &histogram.FloatHistogram{
		Schema: 0, Count: 1, Sum: 1,
		PositiveSpans:   []histogram.Span{{Offset: 1, Length: 1}},
		PositiveBuckets: []float64{5},
	},
}, {
	name: "less in the buckets than the count: the float form",
	in:   `{"count":"7","sum":"2","buckets":[[3,"-0.001","0.001","2"],[0,"1","2","3"]]}`,
	fh: &histogram.FloatHistogram{
		Schema: 0, ZeroThreshold: 0.001, ZeroCount: 2, Count: 7, Sum: 2,
		PositiveSpans:   []histogram.Span{{Offset: 1, Length: 1}},
		PositiveBuckets: []float64{3},
	},
}, {
	name: "a negative bucket count",
	in:   `{"count":"1","sum":"1","buckets":[[0,"1","2","-1"]]}`,
	err:  "negative",
}}

func TestFromAPI(t *testing.T) {
	for _, tc := range fromAPICases {
		t.Run(tc.name, func(t *testing.T) {
			h, fh, err := FromAPI(api(t, tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("FromAPI error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (h == nil) != (tc.h == nil) || h != nil && !h.Equals(tc.h) || fh != nil && !fh.Equals(tc.fh) {
				t.Fatalf("FromAPI gave\n%v %v\nwant\n%v %v", h, fh, tc.h, tc.fh)
			}
			if got := apiJSON(t, ToAPI(h, fh)); got != apiJSON(t, ToAPI(tc.h, tc.fh)) {
				t.Errorf("printed again: %s", got)
			}
		})
	}
}

// TestRoundTripProperty builds many histograms of every schema, with and
// without zero, negative and empty buckets and gaps in the spans, and checks
// that the API form gives each back as far as it carries it.
func TestRoundTripProperty(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		h, fh := randomHistogram(rnd)
		a := ToAPI(h, fh)
		gotH, gotFH, err := FromAPI(a)
		if err != nil {
			t.Fatalf("#%d: FromAPI(ToAPI(%v %v)) = %v", i, h, fh, err)
		}
		if !sameAPI(ToAPI(gotH, gotFH), a) {
			t.Fatalf("#%d: printed\n%s\nafter the round trip, want\n%s", i, apiJSON(t, ToAPI(gotH, gotFH)), apiJSON(t, a))
		}
		want := fh
		if h != nil {
			want = h.ToFloat(nil)
		}
		want = want.Compact(0)
		if want.ZeroCount == 0 {
			want.ZeroThreshold = 0 // not printed, see the package comment
		}
		if len(want.PositiveBuckets)+len(want.NegativeBuckets) == 0 {
			want.Schema = 0 // nothing printed shows it
		}
		if last := len(a.Buckets) - 1; len(want.PositiveBuckets)+len(want.NegativeBuckets) == 1 && math.IsInf(float64(a.Buckets[last].Upper), 1) {
			continue // a lone +Inf bucket does not show the schema either
		}
		got := gotFH
		if gotH != nil {
			got = gotH.ToFloat(nil)
		}
		if !got.Equals(want) {
			t.Fatalf("#%d: FromAPI(ToAPI(x)) =\n%v\nwant x compacted\n%v", i, got, want)
		}
		if gotH == nil != !allWhole(want) {
			t.Fatalf("#%d: integer form %v for counts %v", i, gotH != nil, want)
		}
		if h != nil && !gotH.Equals(compactedInt(h)) {
			t.Fatalf("#%d: integer FromAPI(ToAPI(x)) =\n%v\nwant\n%v", i, gotH, compactedInt(h))
		}
	}
}

// TestFillSeriesPrintsTheSame fills series of random rebuilt histograms and
// checks that each still prints as before.
func TestFillSeriesPrintsTheSame(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		var series []extract.HistogramSample
		var printed []*model.SampleHistogram
		for i := range 10 {
			a := ToAPI(randomHistogram(rnd))
			h, fh, err := FromAPI(a)
			if err != nil {
				t.Fatal(err)
			}
			series = append(series, extract.HistogramSample{T: int64(i), H: h, FH: fh})
			printed = append(printed, a)
		}
		FillSeries(series)
		for i, s := range series {
			if got := ToAPI(s.H, s.FH); !sameAPI(got, printed[i]) {
				t.Fatalf("filled histogram prints\n%s\nwant\n%s", apiJSON(t, got), apiJSON(t, printed[i]))
			}
		}
	}
}

func compactedInt(h *histogram.Histogram) *histogram.Histogram {
	c := h.Copy().Compact(0)
	if c.ZeroCount == 0 {
		c.ZeroThreshold = 0
	}
	if len(c.PositiveBuckets)+len(c.NegativeBuckets) == 0 {
		c.Schema = 0
	}
	return c
}

func allWhole(fh *histogram.FloatHistogram) bool {
	for _, c := range append(append([]float64{fh.Count, fh.ZeroCount}, fh.PositiveBuckets...), fh.NegativeBuckets...) {
		if c != math.Trunc(c) {
			return false
		}
	}
	return true
}

func sameAPI(a, b *model.SampleHistogram) bool {
	return math.Float64bits(float64(a.Count)) == math.Float64bits(float64(b.Count)) &&
		math.Float64bits(float64(a.Sum)) == math.Float64bits(float64(b.Sum)) && sameBuckets(a.Buckets, b.Buckets)
}

// randomHistogram makes an integer histogram two times in three, a float
// one otherwise, with buckets far enough from zero that the zero threshold
// never clips them (clipping has its own case in TestFromAPI).
func randomHistogram(rnd *rand.Rand) (*histogram.Histogram, *histogram.FloatHistogram) {
	schema := histogram.ExponentialSchemaMin + rnd.Int32N(histogram.ExponentialSchemaMax-histogram.ExponentialSchemaMin+1)
	fh := &histogram.FloatHistogram{Schema: schema, Sum: rnd.NormFloat64() * 100}
	integer := rnd.IntN(3) > 0
	count := func() float64 {
		switch {
		case rnd.IntN(4) == 0:
			return 0
		case integer:
			return float64(rnd.IntN(1000))
		}
		return rnd.Float64() * 1000
	}
	// The lowest bucket's lower bound is 1/2 or more, above every threshold
	// below.
	lowest := int32(1)
	if schema >= 0 {
		lowest = 1 - 1<<schema
	}
	side := func() ([]histogram.Span, []float64) {
		var spans []histogram.Span
		var counts []float64
		for n, at := rnd.IntN(4), lowest+rnd.Int32N(5); n > 0; n-- {
			s := histogram.Span{Offset: at, Length: uint32(rnd.IntN(4))}
			if len(spans) > 0 {
				s.Offset = rnd.Int32N(4)
			}
			for range s.Length {
				counts = append(counts, count())
			}
			spans = append(spans, s)
			at = 0
		}
		return spans, counts
	}
	fh.PositiveSpans, fh.PositiveBuckets = side()
	// One in ten ends with the bucket up to MaxFloat64 and the +Inf bucket
	// after it, whose bounds Prometheus computes specially.
	if rnd.IntN(10) == 0 {
		last := int32(1024)>>-min(schema, 0)<<max(schema, 0) + 1
		fh.PositiveSpans = []histogram.Span{{Offset: last - 2, Length: 3}}
		fh.PositiveBuckets = []float64{count(), count(), count()}
	}
	fh.NegativeSpans, fh.NegativeBuckets = side()
	fh.ZeroThreshold = []float64{0, 0x1p-128, 1e-9, 0.25}[rnd.IntN(4)]
	fh.ZeroCount = count()
	fh.Count = fh.ZeroCount
	for _, c := range append(append([]float64(nil), fh.PositiveBuckets...), fh.NegativeBuckets...) {
		fh.Count += c
	}
	if rnd.IntN(10) == 0 {
		fh.Sum = math.NaN()
	}
	if !integer {
		return nil, fh
	}
	return &histogram.Histogram{
		Schema: fh.Schema, ZeroThreshold: fh.ZeroThreshold, ZeroCount: uint64(fh.ZeroCount),
		Count: uint64(fh.Count), Sum: fh.Sum,
		PositiveSpans: fh.PositiveSpans, PositiveBuckets: deltas(fh.PositiveBuckets),
		NegativeSpans: fh.NegativeSpans, NegativeBuckets: deltas(fh.NegativeBuckets),
	}, nil
}

// FuzzFromAPI checks what FromAPI promises for any input: no panic, and a
// histogram only when Prometheus would print it as given (empty buckets
// aside).
func FuzzFromAPI(f *testing.F) {
	for _, s := range []string{
		`{"count":"9","sum":"10","buckets":[[1,"-2","-1","3"],[3,"-0.001","0.001","2"],[0,"0.5","1","1"],[0,"1","2","2"],[0,"4","8","1"]]}`,
		`{"count":"3","sum":"1","buckets":[[1,"-1","-0.5","1"],[0,"0.5","1","1"],[0,"1","4","1"]]}`,
		`{"count":"2","sum":"NaN","buckets":[[0,"8.98846567431158e+307","1.7976931348623157e+308","1"],[0,"1.7976931348623157e+308","+Inf","1"]]}`,
		`{"count":"3","sum":"1","buckets":[[3,"-Inf","0.1","1"],[0,"0.1","0.25","2"]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var a model.SampleHistogram
		if json.Unmarshal(in, &a) != nil {
			return
		}
		h, fh, err := FromAPI(&a)
		if err != nil {
			return
		}
		var filled model.HistogramBuckets
		for _, b := range a.Buckets {
			if b.Count != 0 {
				filled = append(filled, b)
			}
		}
		a.Buckets = filled
		if got := ToAPI(h, fh); !sameAPI(got, &a) {
			t.Fatalf("FromAPI(%s) = %v %v, printed as %s", in, h, fh, apiJSON(t, got))
		}
	})
}

func TestFillSeries(t *testing.T) {
	const thr = 0x1p-128
	bucket := func(schema int32, zeroCount uint64, threshold float64) *histogram.Histogram {
		return &histogram.Histogram{Schema: schema, ZeroThreshold: threshold, ZeroCount: zeroCount, Count: zeroCount + 1, Sum: 1,
			PositiveSpans: []histogram.Span{{Offset: 0, Length: 1}}, PositiveBuckets: []int64{1}}
	}
	zeroOnly := func(zeroCount uint64, threshold float64) *histogram.Histogram {
		return &histogram.Histogram{ZeroThreshold: threshold, ZeroCount: zeroCount, Count: zeroCount}
	}
	type layout struct {
		schema    int32
		threshold float64
	}
	for _, tc := range []struct {
		name string
		in   []*histogram.Histogram
		want []layout
	}{{
		name: "a scrape's start: no observations, then the zero bucket, then buckets",
		in:   []*histogram.Histogram{zeroOnly(0, 0), zeroOnly(2, thr), bucket(3, 0, 0), bucket(3, 4, thr), zeroOnly(0, 0)},
		want: []layout{{3, thr}, {3, thr}, {3, thr}, {3, thr}, {3, thr}},
	}, {
		name: "the nearest before wins; the first serves the start",
		in:   []*histogram.Histogram{bucket(1, 0, 0), bucket(2, 1, 0.001), zeroOnly(0, 0), bucket(4, 1, 0.002), zeroOnly(0, 0)},
		want: []layout{{1, 0.001}, {2, 0.001}, {2, 0.001}, {4, 0.002}, {4, 0.002}},
	}, {
		name: "a threshold that would clip a bucket is not taken",
		in:   []*histogram.Histogram{zeroOnly(1, 0.75), bucket(0, 0, 0)},
		want: []layout{{0, 0.75}, {0, 0}},
	}, {
		name: "nothing shown, nothing filled",
		in:   []*histogram.Histogram{zeroOnly(0, 0), {Sum: math.Float64frombits(value.StaleNaN)}},
		want: []layout{{0, 0}, {0, 0}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			hs := make([]extract.HistogramSample, len(tc.in))
			var before []*model.SampleHistogram
			for i, h := range tc.in {
				hs[i] = extract.HistogramSample{T: int64(i), H: h}
				before = append(before, ToAPI(h, nil))
			}
			FillSeries(hs)
			for i, s := range hs {
				if got := (layout{s.H.Schema, s.H.ZeroThreshold}); got != tc.want[i] {
					t.Errorf("histogram %d: %+v, want %+v", i, got, tc.want[i])
				}
				if !sameAPI(ToAPI(s.H, nil), before[i]) {
					t.Errorf("histogram %d prints otherwise: %s", i, apiJSON(t, ToAPI(s.H, nil)))
				}
			}
		})
	}
}
