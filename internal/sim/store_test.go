package sim

import (
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// TestMemSourceMergesRepeatedSeries: a series given twice is stored once,
// and a timestamp given twice keeps its first sample, of either kind, as a
// TSDB refuses the append of a second.
func TestMemSourceMergesRepeatedSeries(t *testing.T) {
	lset := labels.FromStrings("__name__", "a")
	h := func(t, n int64) extract.HistogramSample {
		return extract.HistogramSample{T: t, H: &histogram.Histogram{Count: uint64(n), ZeroCount: uint64(n)}}
	}
	m := newMemSource([]extract.Series{
		{Labels: lset, Samples: []extract.Sample{{T: 1, V: 1}, {T: 3, V: 3}}, Histograms: []extract.HistogramSample{h(10, 1), h(30, 3)}},
		{Labels: lset, Samples: []extract.Sample{{T: 3, V: 30}, {T: 2, V: 2}}, Histograms: []extract.HistogramSample{h(30, 30), h(20, 2)}},
	})
	if m.len() != 1 {
		t.Fatalf("%d series, want 1", m.len())
	}
	got := m.list[0]
	want := extract.Series{Labels: lset, Samples: []extract.Sample{{T: 1, V: 1}, {T: 2, V: 2}, {T: 3, V: 3}},
		Histograms: []extract.HistogramSample{h(10, 1), h(20, 2), h(30, 3)}}
	if err := extract.Compare([]extract.Series{want}, []extract.Series{got}); err != nil {
		t.Fatal(err)
	}
}
