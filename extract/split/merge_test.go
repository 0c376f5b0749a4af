package split

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

func TestCoalesceGaps(t *testing.T) {
	in := []extract.Gap{
		{Selector: "a", From: 0, To: 10, Reason: "r1"},
		{Selector: "a", From: 10, To: 20, Reason: "r2"},
		{Selector: "b", From: 20, To: 30},
		{Selector: "a", From: 30, To: 40},
	}
	got := coalesceGaps(in)
	if len(got) != 3 || got[0].To != 20 || got[0].Reason != "r1" || got[2].From != 30 {
		t.Fatalf("coalesced %+v", got)
	}
}

func samples(ts ...int64) []extract.Sample {
	out := make([]extract.Sample, len(ts))
	for i, t := range ts {
		out[i] = extract.Sample{T: t, V: float64(t)}
	}
	return out
}

func TestTrim(t *testing.T) {
	a, b := labels.FromStrings("x", "a"), labels.FromStrings("x", "b")
	for _, tc := range []struct {
		name     string
		in       []extract.Series
		from, to int64
		want     []extract.Series
	}{
		{"inside", []extract.Series{{Labels: a, Samples: samples(1, 2)}}, 0, 10, []extract.Series{{Labels: a, Samples: samples(1, 2)}}},
		{"both ends: from kept, to left out", []extract.Series{{Labels: a, Samples: samples(0, 5, 10, 15)}}, 5, 15, []extract.Series{{Labels: a, Samples: samples(5, 10)}}},
		{"a series with nothing left goes", []extract.Series{{Labels: a, Samples: samples(1)}, {Labels: b, Samples: samples(7)}}, 5, 10, []extract.Series{{Labels: b, Samples: samples(7)}}},
		{"histograms too", []extract.Series{{Labels: a, Histograms: []extract.HistogramSample{{T: 1}, {T: 6}}}}, 5, 10, []extract.Series{{Labels: a, Histograms: []extract.HistogramSample{{T: 6}}}}},
		{"none", nil, 0, 10, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := extract.Compare(tc.want, trim(tc.in, tc.from, tc.to)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestMergeSeries(t *testing.T) {
	a, b := labels.FromStrings("x", "a"), labels.FromStrings("x", "b")
	for _, tc := range []struct {
		name  string
		in    []extract.Series
		want  []extract.Series
		order []string // the labels of the result, in order
	}{
		{"halves in order", []extract.Series{{Labels: a, Samples: samples(1, 2)}, {Labels: a, Samples: samples(3)}},
			[]extract.Series{{Labels: a, Samples: samples(1, 2, 3)}}, []string{`{x="a"}`}},
		{"halves out of order are sorted", []extract.Series{{Labels: a, Samples: samples(3, 4)}, {Labels: b, Samples: samples(9)}, {Labels: a, Samples: samples(1)}},
			[]extract.Series{{Labels: a, Samples: samples(1, 3, 4)}, {Labels: b, Samples: samples(9)}}, []string{`{x="a"}`, `{x="b"}`}},
		{"first-seen order of series", []extract.Series{{Labels: b, Samples: samples(1)}, {Labels: a, Samples: samples(1)}, {Labels: b, Samples: samples(2)}},
			[]extract.Series{{Labels: b, Samples: samples(1, 2)}, {Labels: a, Samples: samples(1)}}, []string{`{x="b"}`, `{x="a"}`}},
		{"histograms sorted", []extract.Series{{Labels: a, Histograms: []extract.HistogramSample{{T: 5}}}, {Labels: a, Histograms: []extract.HistogramSample{{T: 2}}}},
			[]extract.Series{{Labels: a, Histograms: []extract.HistogramSample{{T: 2}, {T: 5}}}}, []string{`{x="a"}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mergeSeries(tc.in)
			if err := extract.Compare(tc.want, got); err != nil {
				t.Fatal(err)
			}
			for i, s := range got {
				if s.Labels.String() != tc.order[i] {
					t.Fatalf("series %d is %s, want %s", i, s.Labels, tc.order[i])
				}
			}
		})
	}
	// The first piece's array is never appended into: the decoder may
	// share it.
	backing := samples(1, 2, 9)
	in := []extract.Series{{Labels: a, Samples: backing[:2]}, {Labels: a, Samples: samples(3)}}
	mergeSeries(in)
	if backing[2].T != 9 {
		t.Fatalf("mergeSeries wrote into the first piece's array: %v", backing)
	}
}
