package gen

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// NativeHistogramSeries returns native histogram series over [start, end),
// the same for the same seed, as a scrape of client_golang's native
// histograms stores them (integer counts, schema 3, a zero bucket of width
// 2^-12): http_request_duration_seconds of two api instances, whose fastest
// requests land in the zero bucket and whose second instance restarts
// halfway (a counter reset), and clock_skew_seconds of one node, whose
// observations are negative as often as positive. Scrapes are every 15s
// with jitter, like DemoSeries.
//
// /api/ds/query cannot carry these (Grafana turns them into heatmap cells
// without count and sum); the datasource proxy returns them whole.
func NativeHistogramSeries(start, end time.Time, seed int64) []extract.Series {
	type source struct {
		lset    labels.Labels
		observe func(rng *rand.Rand) float64
		restart bool
	}
	latency := func(rng *rand.Rand) float64 {
		if rng.Float64() < 0.05 {
			return 0 // served from cache: the zero bucket
		}
		return math.Exp(rng.NormFloat64()*1.2 - 3)
	}
	skew := func(rng *rand.Rand) float64 { return rng.NormFloat64() * 0.02 }
	sources := []source{
		{labels.FromStrings(model.MetricNameLabel, "http_request_duration_seconds", "instance", "10.0.1.10:8080", "job", "api"), latency, false},
		{labels.FromStrings(model.MetricNameLabel, "http_request_duration_seconds", "instance", "10.0.1.11:8080", "job", "api"), latency, true},
		{labels.FromStrings(model.MetricNameLabel, "clock_skew_seconds", "instance", "10.0.2.10:9100", "job", "node"), skew, false},
	}
	out := make([]extract.Series, 0, len(sources))
	for i, src := range sources {
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(1000+i)))
		acc := newHistAcc()
		s := extract.Series{Labels: src.lset}
		phase := rng.Int64N(demoInterval.Milliseconds())
		first := start.UnixMilli() - start.UnixMilli()%demoInterval.Milliseconds() + phase
		mid := start.UnixMilli() + (end.UnixMilli()-start.UnixMilli())/2
		for at := first; at < end.UnixMilli(); at += demoInterval.Milliseconds() {
			t := at + rng.Int64N(2*demoJitterMs+1) - demoJitterMs
			if src.restart && t >= mid && !acc.restarted {
				acc = newHistAcc()
				acc.restarted = true
			}
			for range rng.IntN(40) {
				acc.observe(src.observe(rng))
			}
			if t < start.UnixMilli() || t >= end.UnixMilli() {
				continue
			}
			s.Histograms = append(s.Histograms, extract.HistogramSample{T: t, H: acc.histogram()})
		}
		out = append(out, s)
	}
	return out
}

// histSchema and histZeroThreshold are client_golang's defaults for a
// native histogram with NativeHistogramBucketFactor 1.1.
const (
	histSchema        = 3
	histZeroThreshold = 1.0 / 4096
)

// histAcc accumulates observations the way a client library's native
// histogram does.
type histAcc struct {
	count, zero uint64
	sum         float64
	pos, neg    map[int32]uint64
	restarted   bool
}

func newHistAcc() *histAcc {
	return &histAcc{pos: map[int32]uint64{}, neg: map[int32]uint64{}}
}

func (a *histAcc) observe(v float64) {
	a.count++
	a.sum += v
	switch {
	case math.Abs(v) <= histZeroThreshold:
		a.zero++
	case v > 0:
		a.pos[bucketIndex(v)]++
	default:
		a.neg[bucketIndex(-v)]++
	}
}

// bucketIndex is the bucket of schema histSchema holding v > 0: bucket i
// holds (2^((i-1)/8), 2^(i/8)].
func bucketIndex(v float64) int32 {
	return int32(math.Ceil(math.Log2(v) * (1 << histSchema)))
}

// histogram is the accumulated state as an integer histogram, with spans
// and delta-encoded buckets as the exposition format carries them.
func (a *histAcc) histogram() *histogram.Histogram {
	h := &histogram.Histogram{
		Schema: histSchema, ZeroThreshold: histZeroThreshold, ZeroCount: a.zero,
		Count: a.count, Sum: a.sum,
	}
	h.PositiveSpans, h.PositiveBuckets = spansAndDeltas(a.pos)
	h.NegativeSpans, h.NegativeBuckets = spansAndDeltas(a.neg)
	if err := h.Validate(); err != nil {
		panic(fmt.Sprintf("sim: a generated histogram is invalid: %v", err))
	}
	return h
}

// spansAndDeltas encodes bucket counts by index: runs of consecutive
// indexes become spans (the first span's offset is its first index, each
// next one's the gap after the previous), counts become deltas to the
// previous bucket.
func spansAndDeltas(buckets map[int32]uint64) ([]histogram.Span, []int64) {
	idx := slices.Sorted(maps.Keys(buckets))
	var spans []histogram.Span
	var deltas []int64
	var prevCount int64
	for i, k := range idx {
		switch {
		case i == 0:
			spans = append(spans, histogram.Span{Offset: k, Length: 1})
		case k == idx[i-1]+1:
			spans[len(spans)-1].Length++
		default:
			spans = append(spans, histogram.Span{Offset: k - idx[i-1] - 1, Length: 1})
		}
		c := int64(buckets[k])
		deltas = append(deltas, c-prevCount)
		prevCount = c
	}
	return spans, deltas
}
