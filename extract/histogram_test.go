package extract

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
)

// hist is an integer histogram sample with one filled bucket.
func hist(t int64, count uint64) HistogramSample {
	return HistogramSample{T: t, H: &histogram.Histogram{
		Count: count, Sum: float64(count),
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 1}}, PositiveBuckets: []int64{int64(count)},
	}}
}

// fhist is the float form of hist.
func fhist(t int64, count uint64) HistogramSample {
	h := hist(t, count)
	return HistogramSample{T: t, FH: h.H.ToFloat(nil)}
}

func withSum(h HistogramSample, sum float64) HistogramSample {
	if h.H != nil {
		h.H = h.H.Copy()
		h.H.Sum = sum
	} else {
		h.FH = h.FH.Copy()
		h.FH.Sum = sum
	}
	return h
}

// withEmptyBucket is h with an empty bucket after its filled one, as TSDB
// may read it back.
func withEmptyBucket(h HistogramSample) HistogramSample {
	h.H = h.H.Copy()
	h.H.PositiveSpans = []histogram.Span{{Offset: 0, Length: 2}}
	h.H.PositiveBuckets = append(h.H.PositiveBuckets, -h.H.PositiveBuckets[0])
	return h
}

func TestNormalizeHistograms(t *testing.T) {
	stale := math.Float64frombits(value.StaleNaN)
	cases := []struct {
		name      string
		in, want  []HistogramSample
		conflicts int
	}{
		{"trims to [mint, maxt)", []HistogramSample{hist(9, 1), hist(10, 2), fhist(19, 3), hist(20, 4)}, []HistogramSample{hist(10, 2), fhist(19, 3)}, 0},
		{"sorts", []HistogramSample{hist(12, 2), fhist(11, 1)}, []HistogramSample{fhist(11, 1), hist(12, 2)}, 0},
		{"equal repeats are one sample", []HistogramSample{hist(11, 1), hist(11, 1), withSum(fhist(12, 1), math.NaN()), withSum(fhist(12, 1), math.NaN())}, []HistogramSample{hist(11, 1), withSum(fhist(12, 1), math.NaN())}, 0},
		{"an empty bucket more is the same histogram", []HistogramSample{hist(11, 1), withEmptyBucket(hist(11, 1))}, []HistogramSample{hist(11, 1)}, 0},
		{"different repeats are conflicts, the first is kept", []HistogramSample{hist(11, 1), hist(11, 2), hist(12, 1), fhist(12, 1), withSum(hist(13, 1), math.NaN()), withSum(hist(13, 1), stale)}, []HistogramSample{hist(11, 1), hist(12, 1), withSum(hist(13, 1), math.NaN())}, 3},
	}
	for _, tc := range cases {
		s := Series{Samples: []Sample{{12, 1}, {11, 0}, {11, 0}}, Histograms: slices.Clone(tc.in)}
		c := s.Normalize(10, 20)
		if c != tc.conflicts || !slices.EqualFunc(s.Histograms, tc.want, HistogramSample.same) {
			t.Errorf("%s: %v, %d conflicts; want %v, %d", tc.name, s.Histograms, c, tc.want, tc.conflicts)
		}
		if !slices.Equal(s.Samples, []Sample{{11, 0}, {12, 1}}) {
			t.Errorf("%s: floats normalized to %v", tc.name, s.Samples)
		}
		if s.Len() != 2+len(tc.want) {
			t.Errorf("%s: Len %d", tc.name, s.Len())
		}
	}
}

func TestCompareHistograms(t *testing.T) {
	a := labels.FromStrings("__name__", "a")
	want := []Series{{Labels: a, Samples: []Sample{{1, 1}}, Histograms: []HistogramSample{hist(2, 3), fhist(3, 4)}}}
	other := func(hs ...HistogramSample) []Series {
		return []Series{{Labels: a, Samples: []Sample{{1, 1}}, Histograms: hs}}
	}
	for _, tc := range []struct {
		name    string
		got     []Series
		errPart string
	}{
		{"equal", other(hist(2, 3), fhist(3, 4)), ""},
		{"missing histogram", other(hist(2, 3)), "histogram sample at 3 is missing (1 of 2 histogram samples present)"},
		{"extra histogram", other(hist(2, 3), fhist(3, 4), hist(5, 1)), "histogram sample at 5 was not in the source"},
		{"other count", other(hist(2, 3), fhist(3, 5)), "histogram sample 1 is (3, {count:5"},
		{"integer for float", other(hist(2, 3), hist(3, 4)), "histogram sample 1 is"},
		{"float for integer", other(fhist(2, 3), fhist(3, 4)), "histogram sample 0 is"},
		{"other sum bits", other(hist(2, 3), withSum(fhist(3, 4), math.Float64frombits(math.Float64bits(4)+1))), "histogram sample 1 is"},
	} {
		err := Compare(want, tc.got)
		if (err == nil) != (tc.errPart == "") || (err != nil && !strings.Contains(err.Error(), tc.errPart)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if n := CountSamples(want); n != 3 {
		t.Errorf("CountSamples = %d", n)
	}
	for _, tc := range []struct {
		mint, maxt   int64
		floats, hist int
	}{{0, 10, 1, 2}, {2, 3, 0, 1}, {1, 2, 1, 0}, {4, 10, 0, 0}} {
		got := Clip(want, tc.mint, tc.maxt)
		if tc.floats+tc.hist == 0 {
			if len(got) != 0 {
				t.Errorf("Clip(%d, %d) = %v", tc.mint, tc.maxt, got)
			}
			continue
		}
		if len(got) != 1 || len(got[0].Samples) != tc.floats || len(got[0].Histograms) != tc.hist {
			t.Errorf("Clip(%d, %d) = %v", tc.mint, tc.maxt, got)
		}
	}
}
