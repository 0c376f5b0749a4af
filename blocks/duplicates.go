package blocks

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// Duplicated is a pair of overlapping blocks and the samples both hold: the
// same series at the same time. Prometheus queries such blocks merged, so a
// window installed twice reads back exactly like one installed once; only
// counting shows it, and the samples take twice the disk until a compaction
// merges them.
type Duplicated struct {
	Overlap
	Samples uint64
}

// Duplicates counts, for each pair of ov (see Overlaps), the samples that
// both of its blocks in dir hold; the pairs holding none are left out.
func Duplicates(dir string, ov []Overlap) ([]Duplicated, error) {
	var out []Duplicated
	for _, o := range ov {
		times, err := sampleTimes(filepath.Join(dir, o.A.ULID), o.MinTime, o.MaxTime)
		if err != nil {
			return nil, err
		}
		var n uint64
		err = eachSeriesTimes(filepath.Join(dir, o.B.ULID), o.MinTime, o.MaxTime, func(series string, ts []int64) {
			n += shared(times[series], ts)
		})
		if err != nil {
			return nil, err
		}
		if n > 0 {
			out = append(out, Duplicated{Overlap: o, Samples: n})
		}
	}
	return out, nil
}

// DuplicateError says that blocks hold samples twice.
type DuplicateError struct {
	Dir  string
	Dups []Duplicated
}

func (e *DuplicateError) Error() string {
	var n uint64
	pairs := make([]string, len(e.Dups))
	for i, d := range e.Dups {
		n += d.Samples
		pairs[i] = fmt.Sprintf("%s and %s: %d", d.A.ULID, d.B.ULID, d.Samples)
	}
	return fmt.Sprintf("the blocks in %s hold %d samples twice (%s): they were installed twice (a window recovered or imported again, or recovered where Prometheus had it); Prometheus merges overlapping blocks at its next compaction and keeps one of each, or stop it and remove the second block of each pair", e.Dir, n, strings.Join(pairs, "; "))
}

// CheckDuplicates is a *DuplicateError for dups, nil without any.
func CheckDuplicates(dir string, dups []Duplicated) error {
	if len(dups) == 0 {
		return nil
	}
	return &DuplicateError{Dir: dir, Dups: dups}
}

// sampleTimes maps each series of the block at path, by its labels' text,
// to the times of its samples in [mint, maxt).
func sampleTimes(path string, mint, maxt int64) (map[string][]int64, error) {
	out := map[string][]int64{}
	err := eachSeriesTimes(path, mint, maxt, func(series string, ts []int64) {
		out[series] = slices.Clone(ts)
	})
	return out, err
}

// eachSeriesTimes calls f with each series of the block at path and the
// times, ascending, of its samples in [mint, maxt); f must not keep ts.
func eachSeriesTimes(path string, mint, maxt int64, f func(series string, ts []int64)) (err error) {
	b, err := tsdb.OpenBlock(nil, path, nil, nil)
	if err != nil {
		return fmt.Errorf("open block %s: %w", path, err)
	}
	defer func() { err = errors.Join(err, closeWrap(b.Close, "block "+path)) }()
	q, err := tsdb.NewBlockQuerier(b, math.MinInt64, math.MaxInt64)
	if err != nil {
		return fmt.Errorf("query block %s: %w", path, err)
	}
	defer func() { err = errors.Join(err, closeWrap(q.Close, "block "+path)) }()
	set := q.Select(context.Background(), false, nil, allSeries())
	var it chunkenc.Iterator
	var ts []int64
	for set.Next() {
		s := set.At()
		it, ts = s.Iterator(it), ts[:0]
		for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
			if t := it.AtT(); t >= mint && t < maxt {
				ts = append(ts, t)
			}
		}
		if err := it.Err(); err != nil {
			return fmt.Errorf("read series %s in %s: %w", s.Labels(), path, err)
		}
		f(s.Labels().String(), ts)
	}
	if err := set.Err(); err != nil {
		return fmt.Errorf("read block %s: %w", path, err)
	}
	return nil
}

// shared counts the times in both ascending lists.
func shared(a, b []int64) uint64 {
	var n uint64
	for len(a) > 0 && len(b) > 0 {
		switch {
		case a[0] < b[0]:
			a = a[1:]
		case a[0] > b[0]:
			b = b[1:]
		default:
			n++
			a, b = a[1:], b[1:]
		}
	}
	return n
}
