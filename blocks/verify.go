package blocks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/promrecover/promrecover/extract"
)

// digest summarises one series' samples: their number and an order-sensitive
// checksum of every timestamp and value bit pattern, so NaN, the stale marker
// and -0 are each told apart. It lets a window remember what it appended
// without keeping the samples.
type digest struct {
	n   uint64
	sum uint64
}

const digestSeed = 0x9e3779b97f4a7c15

func newDigest() digest { return digest{sum: digestSeed} }

func (d *digest) add(t int64, v float64) {
	d.sum = mix64(d.sum ^ uint64(t))
	d.sum = mix64(d.sum ^ math.Float64bits(v))
	d.n++
}

// Kinds of histogram in a digest, so that an integer histogram and a float
// one with the same counts differ.
const (
	digestInt   = 1
	digestFloat = 2
)

// addHistogram adds one histogram sample (one of h and fh set), every field
// that survives a block bit for bit: not the counter reset hint, which a
// block keeps per chunk, nor empty buckets, which TSDB adds when it recodes a
// chunk for a new bucket layout. A stale marker counts as the float stale
// marker it stands for (see extract.HistogramSample.IsStale).
func (d *digest) addHistogram(s extract.HistogramSample) {
	if s.IsStale() {
		d.add(s.T, math.Float64frombits(value.StaleNaN))
		return
	}
	d.sum = mix64(d.sum ^ uint64(s.T))
	if h := s.H; h != nil {
		d.mix(digestInt, uint64(int64(h.Schema)), math.Float64bits(h.ZeroThreshold), h.ZeroCount, h.Count, math.Float64bits(h.Sum))
		mixBuckets(d, h.PositiveSpans, h.PositiveBuckets, true, func(c int64) uint64 { return uint64(c) })
		mixBuckets(d, h.NegativeSpans, h.NegativeBuckets, true, func(c int64) uint64 { return uint64(c) })
		d.mixFloats(h.CustomValues)
	} else {
		fh := s.FH
		d.mix(digestFloat, uint64(int64(fh.Schema)), math.Float64bits(fh.ZeroThreshold), math.Float64bits(fh.ZeroCount), math.Float64bits(fh.Count), math.Float64bits(fh.Sum))
		mixBuckets(d, fh.PositiveSpans, fh.PositiveBuckets, false, math.Float64bits)
		mixBuckets(d, fh.NegativeSpans, fh.NegativeBuckets, false, math.Float64bits)
		d.mixFloats(fh.CustomValues)
	}
	d.n++
}

func (d *digest) mix(xs ...uint64) {
	for _, x := range xs {
		d.sum = mix64(d.sum ^ x)
	}
}

func (d *digest) mixFloats(fs []float64) {
	for _, f := range fs {
		d.sum = mix64(d.sum ^ math.Float64bits(f))
	}
	d.sum = mix64(d.sum ^ uint64(len(fs)))
}

// mixBuckets adds the index and absolute count of every non-empty bucket;
// delta says the counts are stored as differences from the previous bucket,
// as integer histograms store them. The number of buckets ends each side,
// so a bucket cannot move from one side to the other unnoticed.
func mixBuckets[C int64 | float64](d *digest, spans []histogram.Span, buckets []C, delta bool, bits func(C) uint64) {
	var idx int32
	var count C
	n, i := uint64(0), 0
	for _, sp := range spans {
		idx += sp.Offset
		for range sp.Length {
			if delta {
				count += buckets[i]
			} else {
				count = buckets[i]
			}
			if count != 0 {
				d.sum = mix64(d.sum ^ uint64(int64(idx)))
				d.sum = mix64(d.sum ^ bits(count))
				n++
			}
			i++
			idx++
		}
	}
	d.sum = mix64(d.sum ^ n)
}

// mix64 is the splitmix64 finaliser: a bijection, so no two inputs in a
// row collapse into one, and cheap enough for millions of samples.
func mix64(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}

// record is what a window appended for one series.
type record struct {
	lset labels.Labels
	d    digest
}

// ledger indexes a window's records by label hash; labels are compared on a
// hash hit, so a hash collision cannot merge two series.
type ledger struct {
	byHash          map[uint64][]record
	series, samples uint64
}

func newLedger() *ledger { return &ledger{byHash: map[uint64][]record{}} }

func (l *ledger) find(h uint64, lset labels.Labels) (*record, bool) {
	rs := l.byHash[h]
	for i := range rs {
		if labels.Equal(rs[i].lset, lset) {
			return &rs[i], true
		}
	}
	return nil, false
}

func (l *ledger) put(h uint64, r record) {
	l.byHash[h] = append(l.byHash[h], r)
	l.series++
	l.samples += r.d.n
}

// verifyBlock reads the block at path back and checks it holds exactly what
// the ledger says was appended: the meta counts, every series, and per series
// the sample count and checksum. Tools that skipped this step reported
// success with data missing; a block that fails it is never installed.
func verifyBlock(ctx context.Context, logger *slog.Logger, path string, w extract.Window, want *ledger) (meta tsdb.BlockMeta, err error) {
	b, err := tsdb.OpenBlock(logger, path, nil, nil)
	if err != nil {
		return meta, fmt.Errorf("verify %s: open: %w", path, err)
	}
	defer func() { err = errors.Join(err, closeWrap(b.Close, "verify "+path)) }()
	meta = b.Meta()
	if meta.MinTime < w.Start || meta.MaxTime > w.End {
		return meta, fmt.Errorf("verify %s: block covers [%d, %d), outside window %s", path, meta.MinTime, meta.MaxTime, w)
	}
	if meta.Stats.NumSeries != want.series || meta.Stats.NumSamples != want.samples {
		return meta, fmt.Errorf("verify %s: block has %d series and %d samples, %d series and %d samples were appended",
			path, meta.Stats.NumSeries, meta.Stats.NumSamples, want.series, want.samples)
	}

	q, err := tsdb.NewBlockQuerier(b, math.MinInt64, math.MaxInt64)
	if err != nil {
		return meta, fmt.Errorf("verify %s: %w", path, err)
	}
	defer func() { err = errors.Join(err, closeWrap(q.Close, "verify "+path)) }()

	matched := map[*record]bool{}
	set := q.Select(ctx, false, nil, allSeries())
	var it chunkenc.Iterator
	// Histograms are decoded into these, so reading uses no memory per sample.
	h, fh := &histogram.Histogram{}, &histogram.FloatHistogram{}
	for set.Next() {
		s := set.At()
		lset := s.Labels()
		r, ok := want.find(lset.Hash(), lset)
		if !ok {
			return meta, fmt.Errorf("verify %s: series %s is in the block but was never appended", path, lset)
		}
		if matched[r] {
			return meta, fmt.Errorf("verify %s: series %s is in the block twice", path, lset)
		}
		matched[r] = true
		it = s.Iterator(it)
		got := newDigest()
		for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
			switch vt {
			case chunkenc.ValFloat:
				got.add(it.At())
			case chunkenc.ValHistogram:
				t, hh := it.AtHistogram(h)
				got.addHistogram(extract.HistogramSample{T: t, H: hh})
			case chunkenc.ValFloatHistogram:
				t, ffh := it.AtFloatHistogram(fh)
				got.addHistogram(extract.HistogramSample{T: t, FH: ffh})
			}
		}
		if err := it.Err(); err != nil {
			return meta, fmt.Errorf("verify %s: read series %s: %w", path, lset, err)
		}
		if got != r.d {
			return meta, fmt.Errorf("verify %s: series %s reads back %d samples (checksum %x), %d were appended (checksum %x)",
				path, lset, got.n, got.sum, r.d.n, r.d.sum)
		}
	}
	if err := set.Err(); err != nil {
		return meta, fmt.Errorf("verify %s: read series: %w", path, err)
	}
	if uint64(len(matched)) != want.series {
		return meta, fmt.Errorf("verify %s: block holds %d series, %d were appended", path, len(matched), want.series)
	}
	return meta, nil
}

// allSeries is the matcher tsdb treats as "every posting".
func allSeries() *labels.Matcher { return labels.MustNewMatcher(labels.MatchEqual, "", "") }

func closeWrap(close func() error, what string) error {
	if err := close(); err != nil {
		return fmt.Errorf("%s: close: %w", what, err)
	}
	return nil
}
