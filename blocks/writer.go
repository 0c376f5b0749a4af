package blocks

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math"
	"os"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/tsdb/index"
)

// headStripes is the number of lock stripes of a window's head. Prometheus's
// default, 16384, suits a head that many scrapers append to at once; a
// window is appended to under its own lock, one Add at a time.
const headStripes = 1024

// blockWriter is tsdb.BlockWriter (prometheus/tsdb/blockwriter.go, v0.315.0)
// with two head options changed. Profiling promrecover import of 2,000
// series x 960 samples over three windows (bench/import.sh; pprof of the
// heap before the windows are flushed) found 17 of 66 MiB in use held by
// isolation's per-series transaction rings (tsdb.(*txRing).add: every
// appended sample records its append ID, and a ring never shrinks) and 12
// MiB by the 16384 stripes of the three heads. Isolation keeps queries from
// seeing half a commit; nothing queries this head while it is appended to,
// and the compactor reads it only after the last commit, so it is disabled;
// the stripes are cut to headStripes. tsdb.NewBlockWriter takes no head
// options, hence this copy; everything else is as there.
type blockWriter struct {
	logger    *slog.Logger
	dir       string
	head      *tsdb.Head
	blockSize int64 // in ms
	chunkDir  string
}

func newBlockWriter(logger *slog.Logger, dir string, blockSize int64) (*blockWriter, error) {
	chunkDir, err := os.MkdirTemp(os.TempDir(), "head")
	if err != nil {
		return nil, fmt.Errorf("create temp dir: %w", err)
	}
	opts := tsdb.DefaultHeadOptions()
	opts.ChunkRange = blockSize
	opts.ChunkDirRoot = chunkDir
	opts.IsolationDisabled = true
	opts.StripeSize = headStripes
	h, err := tsdb.NewHead(nil, logger, nil, nil, opts, tsdb.NewHeadStats())
	if err != nil {
		return nil, errors.Join(fmt.Errorf("tsdb.NewHead: %w", err), os.RemoveAll(chunkDir))
	}
	w := &blockWriter{logger: logger, dir: dir, head: h, blockSize: blockSize, chunkDir: chunkDir}
	if err := h.Init(math.MinInt64); err != nil {
		return nil, errors.Join(fmt.Errorf("init head: %w", err), w.Close())
	}
	return w, nil
}

// Appender returns an appender on the head.
func (w *blockWriter) Appender(ctx context.Context) storage.Appender {
	return w.head.Appender(ctx)
}

// Flush writes the head into one block in w.dir, covering [min sample time,
// max sample time + 1ms); a zero ULID means nothing was written.
func (w *blockWriter) Flush(ctx context.Context) (ulid.ULID, error) {
	mint := w.head.MinTime()
	maxt := w.head.MaxTime() + 1
	segment, err := segmentSize(ctx, w.head)
	if err != nil {
		return ulid.ULID{}, fmt.Errorf("size the chunk segment: %w", err)
	}
	compactor, err := tsdb.NewLeveledCompactorWithOptions(ctx, nil, w.logger, []int64{w.blockSize}, chunkenc.NewPool(), tsdb.LeveledCompactorOptions{
		EnableOverlappingCompaction: true, // as tsdb.NewLeveledCompactor sets it
		MaxBlockChunkSegmentSize:    segment,
	})
	if err != nil {
		return ulid.ULID{}, fmt.Errorf("create leveled compactor: %w", err)
	}
	ids, err := compactor.Write(w.dir, w.head, mint, maxt, nil)
	if err != nil {
		return ulid.ULID{}, fmt.Errorf("compactor write: %w", err)
	}
	if len(ids) == 0 {
		return ulid.ULID{}, nil
	}
	return ids[0], nil
}

// segmentSize is the size of one chunk segment holding every chunk of h, as
// the chunk writer counts them. The writer preallocates a whole segment
// before it writes the first chunk, and its default segment is 512 MiB: a
// block of a few megabytes needed that much free space while it was written,
// and four windows at once 2 GiB, so a small disk got no block at all
// (issue 12). A block that holds more than the default gets segments of the
// default size, as Prometheus's own.
func segmentSize(ctx context.Context, h *tsdb.Head) (int64, error) {
	ir, err := h.Index()
	if err != nil {
		return 0, err
	}
	defer ir.Close()
	cr, err := h.Chunks()
	if err != nil {
		return 0, err
	}
	defer cr.Close()
	name, value := index.AllPostingsKey()
	p, err := ir.Postings(ctx, name, value)
	if err != nil {
		return 0, err
	}
	var (
		b     labels.ScratchBuilder
		metas []chunks.Meta
		size  = int64(chunks.SegmentHeaderSize)
	)
	for p.Next() && size < chunks.DefaultChunkSegmentSize {
		if err := ir.Series(p.At(), &b, &metas); err != nil {
			return 0, err
		}
		for _, m := range metas {
			c, _, err := cr.ChunkOrIterable(m)
			if err != nil {
				return 0, err
			}
			if c == nil {
				// Only out-of-order data comes as an iterable, which a
				// window's head, appended in order, never holds.
				return chunks.DefaultChunkSegmentSize, nil
			}
			size += chunks.MaxChunkLengthFieldSize + chunks.ChunkEncodingSize + int64(len(c.Bytes())) + crc32.Size
		}
	}
	return min(size, chunks.DefaultChunkSegmentSize), p.Err()
}

// Close frees the head and removes its chunk directory.
func (w *blockWriter) Close() error {
	err := w.head.Close()
	if rerr := os.RemoveAll(w.chunkDir); rerr != nil {
		err = errors.Join(err, fmt.Errorf("remove %s: %w", w.chunkDir, rerr))
	}
	return err
}
