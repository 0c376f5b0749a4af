package extract

import (
	"math"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/value"
)

func TestSubtract(t *testing.T) {
	stale := math.Float64frombits(value.StaleNaN)
	cases := []struct {
		name               string
		in, have           Series
		want               Series
		present, conflicts int
	}{
		{"nothing there: all kept",
			Series{Samples: []Sample{{1, 1}, {2, 2}}}, Series{},
			Series{Samples: []Sample{{1, 1}, {2, 2}}}, 0, 0},
		{"the same samples there: none kept",
			Series{Samples: []Sample{{1, 1}, {2, math.NaN()}, {3, stale}}}, Series{Samples: []Sample{{1, 1}, {2, math.NaN()}, {3, stale}}},
			Series{}, 3, 0},
		{"part there: the rest kept",
			Series{Samples: []Sample{{1, 1}, {2, 2}, {3, 3}, {4, 4}}}, Series{Samples: []Sample{{0, 9}, {2, 2}, {4, 4}, {5, 5}}},
			Series{Samples: []Sample{{1, 1}, {3, 3}}}, 2, 0},
		{"another value there: not kept, a conflict",
			Series{Samples: []Sample{{1, 1}, {2, 2}, {3, stale}}}, Series{Samples: []Sample{{1, 1}, {2, 5}, {3, math.NaN()}}},
			Series{}, 1, 2},
		{"histograms there",
			Series{Histograms: []HistogramSample{hist(1, 1), hist(2, 2), fhist(3, 3)}}, Series{Histograms: []HistogramSample{hist(1, 1), hist(3, 3)}},
			Series{Histograms: []HistogramSample{hist(2, 2)}}, 1, 1},
		{"the other kind there is a conflict",
			Series{Samples: []Sample{{1, 1}, {2, 2}}, Histograms: []HistogramSample{hist(3, 3)}}, Series{Samples: []Sample{{3, 3}}, Histograms: []HistogramSample{hist(1, 1)}},
			Series{Samples: []Sample{{2, 2}}}, 0, 2},
		{"a histogram's stale marker where a float one is: the same",
			Series{Histograms: []HistogramSample{hist(1, 1), {T: 2, H: &histogram.Histogram{Sum: stale}}}}, Series{Samples: []Sample{{2, stale}}},
			Series{Histograms: []HistogramSample{hist(1, 1)}}, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := Series{Samples: slices.Clone(tc.in.Samples), Histograms: slices.Clone(tc.in.Histograms)}
			p, c := s.Subtract(&tc.have)
			if p != tc.present || c != tc.conflicts {
				t.Errorf("present %d, conflicts %d; want %d, %d", p, c, tc.present, tc.conflicts)
			}
			if err := Compare([]Series{tc.want}, []Series{s}); err != nil {
				t.Errorf("left %v %v: %v", s.Samples, s.Histograms, err)
			}
		})
	}
}

func TestStaleMarkers(t *testing.T) {
	stale := math.Float64frombits(value.StaleNaN)
	for _, tc := range []struct {
		name string
		s    Series
		want int
	}{
		{"none, NaN is no marker", Series{Samples: []Sample{{1, 1}, {2, math.NaN()}}, Histograms: []HistogramSample{hist(3, 3)}}, 0},
		{"floats", Series{Samples: []Sample{{1, 1}, {2, stale}, {3, 3}, {4, stale}}}, 2},
		{"both kinds", Series{Samples: []Sample{{1, stale}}, Histograms: []HistogramSample{hist(2, 2), {T: 3, H: &histogram.Histogram{Sum: stale}}, {T: 4, FH: &histogram.FloatHistogram{Sum: stale}}}}, 3},
	} {
		if got := tc.s.StaleMarkers(); got != tc.want {
			t.Errorf("%s: %d stale markers, want %d", tc.name, got, tc.want)
		}
	}
}
