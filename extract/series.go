// Package extract plans a recovery and runs it: it cuts [from, to) into
// windows and units of work, fetches the units from a Source with a bounded
// number of workers, and hands each window's series to a Sink. It does no I/O
// of its own; the ends of the pipeline (Grafana, TSDB blocks, JSON) are
// elsewhere, so one loop serves recover, export and demo alike.
package extract

import (
	"cmp"
	"math"
	"slices"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
)

// Sample is one float sample: a millisecond timestamp and its value.
type Sample struct {
	T int64
	V float64
}

// HistogramSample is one native histogram sample. Exactly one of H and FH is
// set: H holds integer counts, which is what a scrape stores and what older
// Prometheus servers (before 2.47) can read back from a block; FH holds float
// counts, which recording rules produce.
type HistogramSample struct {
	T  int64
	H  *histogram.Histogram
	FH *histogram.FloatHistogram
}

// Series is one time series. Samples and Histograms are each sorted by T
// without duplicates once they have passed Normalize; a series may hold both
// kinds, at different timestamps, when it changed from one to the other.
type Series struct {
	Labels     labels.Labels
	Samples    []Sample
	Histograms []HistogramSample
}

// sameValue compares values bit for bit, so that NaN equals NaN and a stale
// marker is told apart from an ordinary NaN.
func sameValue(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

// Normalize sorts the samples by time, keeps only those in [mint, maxt) and
// drops repeated timestamps. A repeated timestamp with the same value is the
// expected overlap of a closed range selector and is dropped silently; one
// with a different value is a conflict the caller must report, so it is
// counted and the first value kept.
func (s *Series) Normalize(mint, maxt int64) (conflicts int) {
	if !slices.IsSortedFunc(s.Samples, ByTime) {
		slices.SortStableFunc(s.Samples, ByTime)
	}
	out := s.Samples[:0]
	for _, smp := range s.Samples {
		if smp.T < mint || smp.T >= maxt {
			continue
		}
		if n := len(out); n > 0 && out[n-1].T == smp.T {
			if !sameValue(out[n-1].V, smp.V) {
				conflicts++
			}
			continue
		}
		out = append(out, smp)
	}
	s.Samples = out
	return conflicts
}

// ByTime orders samples by timestamp, for slices.SortFunc and friends.
func ByTime(a, b Sample) int { return cmp.Compare(a.T, b.T) }
