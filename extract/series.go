// Package extract plans a recovery and runs it: it cuts [from, to) into
// windows and units of work, fetches the units from a Source with a bounded
// number of workers, and hands each window's series to a Sink. It does no I/O
// of its own; the ends of the pipeline (Grafana, TSDB blocks, JSON) are
// elsewhere, so one loop serves recover, export and demo alike.
package extract

import (
	"cmp"
	"fmt"
	"iter"
	"math"
	"slices"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
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

// Len counts the samples of both kinds.
func (s *Series) Len() int { return len(s.Samples) + len(s.Histograms) }

// Times yields the timestamps of both kinds of samples in order, for those
// that ask when a series has data whatever its kind. Both lists must be
// sorted, as Normalize leaves them.
func (s *Series) Times() iter.Seq[int64] {
	return func(yield func(int64) bool) {
		f, h := s.Samples, s.Histograms
		for len(f) > 0 || len(h) > 0 {
			var t int64
			if len(h) == 0 || len(f) > 0 && f[0].T <= h[0].T {
				t, f = f[0].T, f[1:]
			} else {
				t, h = h[0].T, h[1:]
			}
			if !yield(t) {
				return
			}
		}
	}
}

// sameValue compares values bit for bit, so that NaN equals NaN and a stale
// marker is told apart from an ordinary NaN.
func sameValue(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

// Time is the sample's timestamp, for code generic over both kinds.
func (s Sample) Time() int64 { return s.T }

func (s Sample) stale() bool          { return value.IsStaleNaN(s.V) }
func (h HistogramSample) stale() bool { return h.IsStale() }

// Time is the sample's timestamp, for code generic over both kinds.
func (h HistogramSample) Time() int64 { return h.T }

// StaleMarkers counts the series' stale markers of both kinds: samples no
// query returns.
func (s *Series) StaleMarkers() int {
	return countStale(s.Samples) + countStale(s.Histograms)
}

func countStale[S timed[S]](samples []S) int {
	n := 0
	for _, smp := range samples {
		if smp.stale() {
			n++
		}
	}
	return n
}

func (s Sample) same(o Sample) bool { return s.T == o.T && sameValue(s.V, o.V) }
func (s Sample) String() string     { return fmt.Sprintf("(%d, %s)", s.T, s.value()) }
func (s Sample) value() string      { return fmt.Sprint(s.V) }

func (h HistogramSample) String() string { return fmt.Sprintf("(%d, %s)", h.T, h.value()) }

func (h HistogramSample) value() string {
	if h.H != nil {
		return h.H.String()
	}
	return h.FH.String()
}

// same compares bit for bit, as sameValue does, and tells an integer
// histogram from a float one with the same counts: they are written to
// different chunk encodings. Empty buckets are left out, since TSDB adds
// some when it recodes a chunk for a new bucket layout; so is the counter
// reset hint, which a block keeps per chunk, not per sample.
func (h HistogramSample) same(o HistogramSample) bool {
	if h.T != o.T || (h.H == nil) != (o.H == nil) {
		return false
	}
	if h.H != nil {
		return h.H.Equals(o.H) || h.H.Copy().Compact(0).Equals(o.H.Copy().Compact(0))
	}
	if h.FH == nil || o.FH == nil {
		return h.FH == o.FH
	}
	return h.FH.Equals(o.FH) || h.FH.Copy().Compact(0).Equals(o.FH.Copy().Compact(0))
}

// IsStale reports whether h is a stale marker. Prometheus turns the float
// stale marker appended to a histogram series into a histogram whose sum is
// the marker and whose other fields mean nothing, so whoever reads one back
// keeps it as the float stale marker it stands for.
func (h HistogramSample) IsStale() bool {
	if h.H != nil {
		return value.IsStaleNaN(h.H.Sum)
	}
	return h.FH != nil && value.IsStaleNaN(h.FH.Sum)
}

// timed is what Normalize, Clip and Compare need of either kind of sample.
type timed[S any] interface {
	Time() int64
	same(S) bool
	stale() bool
	String() string
	value() string
}

// Normalize sorts the samples of both kinds by time, keeps only those in
// [mint, maxt) and drops repeated timestamps. A repeated timestamp with the
// same value is the expected overlap of a closed range selector and is
// dropped silently; one with a different value is a conflict the caller must
// report, so it is counted and the first value kept.
func (s *Series) Normalize(mint, maxt int64) (conflicts int) {
	var c int
	s.Samples, conflicts = normalize(s.Samples, func(a, b Sample) bool { return a.T < b.T }, mint, maxt)
	s.Histograms, c = normalize(s.Histograms, func(a, b HistogramSample) bool { return a.T < b.T }, mint, maxt)
	return conflicts + c
}

// normalize takes the order as a plain function, and settles the common case
// (sorted without repeats) in one pass and a binary search, so that the
// float path makes no more indirect calls a sample than a loop written for
// floats alone.
func normalize[S timed[S]](samples []S, before func(a, b S) bool, mint, maxt int64) ([]S, int) {
	n := len(samples)
	if n == 0 {
		return samples, 0
	}
	i := 1
	for i < n && before(samples[i-1], samples[i]) {
		i++
	}
	if i == n {
		return samples[Before(samples, mint):Before(samples, maxt)], 0
	}
	if byTime := func(a, b S) int { return cmp.Compare(a.Time(), b.Time()) }; !slices.IsSortedFunc(samples[i-1:], byTime) {
		slices.SortStableFunc(samples, byTime)
	}
	conflicts := 0
	out := samples[:0]
	for _, smp := range samples {
		t := smp.Time()
		if t < mint || t >= maxt {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Time() == t {
			if !out[n-1].same(smp) {
				conflicts++
			}
			continue
		}
		out = append(out, smp)
	}
	return out, conflicts
}

// ByTime orders samples by timestamp, for slices.SortFunc and friends.
func ByTime(a, b Sample) int { return cmp.Compare(a.T, b.T) }

// Before counts the samples of a sorted list that come before time t.
func Before[S interface{ Time() int64 }](samples []S, t int64) int {
	n, _ := slices.BinarySearchFunc(samples, t, func(s S, t int64) int { return cmp.Compare(s.Time(), t) })
	return n
}

// Subtract removes from s, in place, the samples at timestamps have already
// holds a sample of either kind at: present counts those with the same value,
// conflicts those with another, whose value in have stands. Both must be
// sorted, as Normalize leaves them.
func (s *Series) Subtract(have *Series) (present, conflicts int) {
	var p, c int
	s.Samples, present, conflicts = subtract(s.Samples, have.Samples, have.Histograms)
	s.Histograms, p, c = subtract(s.Histograms, have.Histograms, have.Samples)
	return present + p, conflicts + c
}

// subtract drops the samples of in at a timestamp of kin (the same kind) or
// of other (the other kind, so always a conflict).
func subtract[S timed[S], O interface {
	Time() int64
	stale() bool
}](in, kin []S, other []O) (out []S, present, conflicts int) {
	if len(kin) == 0 && len(other) == 0 {
		return in, 0, 0
	}
	out = in[:0]
	i, j := 0, 0
	for _, smp := range in {
		t := smp.Time()
		i += Before(kin[i:], t)
		j += Before(other[j:], t)
		switch {
		case i < len(kin) && kin[i].Time() == t:
			if kin[i].same(smp) {
				present++
			} else {
				conflicts++
			}
		case j < len(other) && other[j].Time() == t && other[j].stale() && smp.stale():
			present++ // a block keeps a histogram's stale marker as a float one
		case j < len(other) && other[j].Time() == t:
			conflicts++
		default:
			out = append(out, smp)
		}
	}
	return out, present, conflicts
}
