package blocks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"

	"github.com/prometheus/prometheus/model/labels"
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
			if vt != chunkenc.ValFloat {
				return meta, fmt.Errorf("verify %s: series %s holds a %s sample, only floats were appended", path, lset, vt)
			}
			got.add(it.At())
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
