package extract

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

func TestDiff(t *testing.T) {
	a, b := labels.FromStrings("__name__", "a"), labels.FromStrings("__name__", "b")
	floats := func(lset labels.Labels, smp ...Sample) Series { return Series{Labels: lset, Samples: smp} }
	hists := func(lset labels.Labels, h ...HistogramSample) Series { return Series{Labels: lset, Histograms: h} }
	for _, tc := range []struct {
		name      string
		want, got []Series
		d         Difference
		first     string
	}{
		{
			name: "equal, both kinds",
			want: []Series{floats(a, Sample{1, 1}, Sample{2, 2}), hists(b, hist(1, 3))},
			got:  []Series{hists(b, hist(1, 3)), floats(a, Sample{1, 1}, Sample{2, 2})},
			d:    Difference{Equal: 3},
		},
		{
			name:  "a histogram-only series missing from the blocks",
			want:  []Series{floats(a, Sample{1, 1}), hists(b, hist(5, 3), hist(6, 4))},
			got:   []Series{floats(a, Sample{1, 1})},
			d:     Difference{Equal: 1, Missing: 2},
			first: `series {__name__="b"} is not in the blocks (from 1970-01-01T00:00:00.005Z)`,
		},
		{
			name:  "another histogram, an extra float, a missing one",
			want:  []Series{{Labels: a, Samples: []Sample{{1, 1}, {3, 3}}, Histograms: []HistogramSample{hist(2, 3)}}},
			got:   []Series{{Labels: a, Samples: []Sample{{1, 1}, {4, 4}}, Histograms: []HistogramSample{withSum(hist(2, 3), 7)}}},
			d:     Difference{Equal: 1, Differ: 1, Missing: 1, Extra: 1},
			first: `series {__name__="a"}: the sample at 1970-01-01T00:00:00.003Z (3 ms) is not in the blocks`,
		},
		{
			name:  "a float histogram is not the integer one with the same counts",
			want:  []Series{hists(a, hist(2, 3))},
			got:   []Series{hists(a, fhist(2, 3))},
			d:     Difference{Differ: 1},
			first: `series {__name__="a"} at 1970-01-01T00:00:00.002Z (2 ms): the blocks hold {count:3, sum:3`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Diff(tc.want, tc.got)
			first := d.First
			d.First = ""
			if d != tc.d {
				t.Errorf("Diff = %+v, want %+v", d, tc.d)
			}
			if !strings.HasPrefix(first, tc.first) || (tc.first == "") != (first == "") {
				t.Errorf("first difference %q, want one starting %q", first, tc.first)
			}
		})
	}
}
