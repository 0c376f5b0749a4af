package blocks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/promrecover/promrecover/extract"
)

// ReadSeries returns every series with samples in [mint, maxt) across the
// blocks in dir, sorted by labels; overlapping blocks are merged as
// Prometheus would. Histograms come without the empty buckets TSDB may have
// added, and a histogram stale marker as the float stale marker it stands
// for (see extract.HistogramSample.IsStale). It opens each block read-only rather than using
// tsdb.OpenDBReadOnly, which creates a sandbox directory inside dir and
// replays the WAL, neither of which belongs in a live data directory. The
// head (wal/) is not read.
func ReadSeries(dir string, mint, maxt int64) ([]extract.Series, error) {
	var out []extract.Series
	err := EachSeries(dir, mint, maxt, func(s extract.Series) error {
		out = append(out, s)
		return nil
	})
	slices.SortFunc(out, func(a, b extract.Series) int { return labels.Compare(a.Labels, b.Labels) })
	return out, err
}

// EachSeries is ReadSeries one series at a time, in label order, for readers
// that need not hold every sample at once.
func EachSeries(dir string, mint, maxt int64, f func(extract.Series) error) (err error) {
	ids, err := blockIDs(dir)
	if err != nil {
		return err
	}
	var queriers []storage.Querier
	defer func() {
		for _, q := range queriers {
			err = errors.Join(err, q.Close())
		}
	}()
	for _, id := range ids {
		path := filepath.Join(dir, id)
		b, err := tsdb.OpenBlock(nil, path, nil, nil)
		if err != nil {
			return fmt.Errorf("open block %s: %w", path, err)
		}
		if m := b.Meta(); m.MaxTime <= mint || m.MinTime >= maxt {
			if err := b.Close(); err != nil {
				return fmt.Errorf("close block %s: %w", path, err)
			}
			continue
		}
		// Querier bounds are inclusive.
		q, err := tsdb.NewBlockQuerier(b, mint, maxt-1)
		if err != nil {
			return errors.Join(fmt.Errorf("query block %s: %w", path, err), b.Close())
		}
		queriers = append(queriers, blockQuerier{q, b})
	}
	if len(queriers) == 0 {
		return nil
	}

	ctx := context.Background()
	q := storage.NewMergeQuerier(queriers, nil, storage.ChainedSeriesMerge)
	set := q.Select(ctx, true, nil, allSeries())
	var it chunkenc.Iterator
	for set.Next() {
		var series extract.Series
		if series, it, err = readSeries(set.At(), it, mint, maxt); err != nil {
			return fmt.Errorf("read series %s in %s: %w", series.Labels, dir, err)
		}
		if series.Len() > 0 {
			if err := f(series); err != nil {
				return err
			}
		}
	}
	if err := set.Err(); err != nil {
		return fmt.Errorf("read series in %s: %w", dir, err)
	}
	return nil
}

// readSeries reads the samples of s in [mint, maxt) with it (nil, or one to
// reuse), which it returns for the next series. Histograms come compacted,
// and a histogram stale marker as the float one, as ReadSeries says.
func readSeries(s storage.Series, it chunkenc.Iterator, mint, maxt int64) (extract.Series, chunkenc.Iterator, error) {
	series := extract.Series{Labels: s.Labels().Copy()}
	it = s.Iterator(it)
	for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
		if vt == chunkenc.ValFloat {
			if t, v := it.At(); t >= mint && t < maxt {
				series.Samples = append(series.Samples, extract.Sample{T: t, V: v})
			}
			continue
		}
		if t := it.AtT(); t < mint || t >= maxt {
			continue
		}
		// Histograms are read into ones of our own: given nil, the
		// iterator would share its spans, which compacting would change
		// under it.
		var h extract.HistogramSample
		switch vt {
		case chunkenc.ValHistogram:
			h.T, h.H = it.AtHistogram(&histogram.Histogram{})
			h.H.Compact(0)
		case chunkenc.ValFloatHistogram:
			h.T, h.FH = it.AtFloatHistogram(&histogram.FloatHistogram{})
			h.FH.Compact(0)
		}
		if h.IsStale() {
			series.Samples = append(series.Samples, extract.Sample{T: h.T, V: math.Float64frombits(value.StaleNaN)})
		} else {
			series.Histograms = append(series.Histograms, h)
		}
	}
	return series, it, it.Err()
}

// blockQuerier closes its block with the querier.
type blockQuerier struct {
	storage.Querier
	b *tsdb.Block
}

func (q blockQuerier) Close() error { return errors.Join(q.Querier.Close(), q.b.Close()) }

// NewestMaxTime returns the latest maxTime in the meta.json of the blocks in
// dir. Prometheus measures time retention from it (see RetentionCutoff).
func NewestMaxTime(dir string) (int64, bool, error) {
	metas, err := readMetas(dir)
	if err != nil {
		return 0, false, err
	}
	var (
		newest int64
		found  bool
	)
	for _, m := range metas {
		if !found || m.MaxTime > newest {
			newest, found = m.MaxTime, true
		}
	}
	return newest, found, nil
}

// Installed reports which of the block ULIDs are in dir: as a block
// directory, or as a source of a block Prometheus compacted them into (it
// deletes the originals after compaction, and their data is still there).
func Installed(dir string, ids []string) (map[string]bool, error) {
	metas, err := readMetas(dir)
	if err != nil {
		return nil, err
	}
	present := map[string]bool{}
	for _, m := range metas {
		present[m.ULID.String()] = true
		for _, src := range m.Compaction.Sources {
			present[src.String()] = true
		}
	}
	out := map[string]bool{}
	for _, id := range ids {
		out[id] = present[id]
	}
	return out, nil
}

// readMetas reads the meta.json of every block in dir.
func readMetas(dir string) ([]tsdb.BlockMeta, error) {
	ids, err := blockIDs(dir)
	if err != nil {
		return nil, err
	}
	var metas []tsdb.BlockMeta
	for _, id := range ids {
		path := filepath.Join(dir, id, "meta.json")
		raw, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			// Prometheus may be deleting the block right now.
			continue
		}
		if err != nil {
			return nil, err
		}
		var m tsdb.BlockMeta
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		metas = append(metas, m)
	}
	return metas, nil
}

// blockIDs lists the block directories in dir, as Prometheus recognises them.
func blockIDs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && isULID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}
