package blocks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/promrecover/promrecover/extract"
)

// commitEvery bounds the samples an uncommitted appender holds in memory, as
// promtool's backfill does.
const commitEvery = 5000

// window is one block in the making.
type window struct {
	mu         sync.Mutex
	w          extract.Window
	dir        string // staging subdirectory, the BlockWriter's destination
	logger     *slog.Logger
	stage      func(dir string) error // makes dir in the staging area
	bw         *blockWriter           // nil until the first sample
	ledger     *ledger
	duplicates uint64
	stale      uint64 // stale markers written
	notAfter   int64  // samples stamped after it are held back
	future     int64  // samples held back
	// broken is the first failed Add: the window lacks that unit's series,
	// and the head may hold part of one, so Done must refuse it.
	broken error
	closed bool
}

func newWindow(w extract.Window, dir string, logger *slog.Logger, stage func(string) error, notAfter int64) *window {
	return &window{w: w, dir: dir, logger: logger, stage: stage, ledger: newLedger(), notAfter: notAfter}
}

// pending is a series that passed the checks and is about to be appended.
type pending struct {
	src  *extract.Series
	lset labels.Labels
	hash uint64
	d    digest
}

func (win *window) add(ctx context.Context, series []extract.Series) error {
	if win.broken != nil {
		return fmt.Errorf("window %s: an earlier add failed: %w", win.w, win.broken)
	}
	series, future := holdBack(series, win.w, win.notAfter)
	todo, dups, err := win.check(series)
	if err == nil && len(todo) > 0 {
		err = win.append(ctx, todo)
	}
	if err != nil {
		// A window is installed whole or not at all: with one unit rejected
		// (or two disagreeing about a series) it can only be discarded.
		win.broken = err
		return err
	}
	win.duplicates += dups
	win.future += future
	return nil
}

// holdBack leaves out of series the samples of every kind stamped after
// notAfter, and counts them. Only a window that reaches past notAfter pays
// for a copy, and only of the series that have such samples: the caller's
// series stay as they were.
func holdBack(series []extract.Series, w extract.Window, notAfter int64) ([]extract.Series, int64) {
	if w.End <= notAfter+1 {
		return series, 0
	}
	var out []extract.Series
	var n int64
	for i, s := range series {
		f := slices.DeleteFunc(slices.Clone(s.Samples), func(smp extract.Sample) bool { return smp.T > notAfter })
		h := slices.DeleteFunc(slices.Clone(s.Histograms), func(smp extract.HistogramSample) bool { return smp.T > notAfter })
		cut := len(s.Samples) + len(s.Histograms) - len(f) - len(h)
		if cut == 0 {
			continue
		}
		if out == nil {
			out = slices.Clone(series)
		}
		out[i].Samples, out[i].Histograms = f, h
		n += int64(cut)
	}
	if out == nil {
		return series, 0
	}
	return out, n
}

// check validates a whole Add before anything is appended, so a rejected
// Add never writes part of a unit. It returns the series still to append and
// the number of identical repeats skipped.
func (win *window) check(series []extract.Series) ([]pending, uint64, error) {
	var (
		todo  []pending
		batch = map[uint64][]int{} // repeats inside this one call
		dups  uint64
	)
	for i := range series {
		s := &series[i]
		if s.Len() == 0 {
			continue
		}
		// The head drops empty-valued labels; compare what it will store.
		lset := s.Labels.WithoutEmpty()
		if lset.IsEmpty() {
			return nil, 0, fmt.Errorf("window %s: a series with %d samples has no labels", win.w, s.Len())
		}
		if err := extract.LabelSetError(lset); err != nil {
			return nil, 0, fmt.Errorf("window %s: %w", win.w, err)
		}
		d, err := digestSeries(win.w, s)
		if err != nil {
			return nil, 0, fmt.Errorf("window %s: series %s: %w", win.w, lset, err)
		}
		h := lset.Hash()
		var prev *digest
		if r, ok := win.ledger.find(h, lset); ok {
			prev = &r.d
		} else {
			for _, j := range batch[h] {
				if labels.Equal(todo[j].lset, lset) {
					prev = &todo[j].d
					break
				}
			}
		}
		if prev != nil {
			if *prev != d {
				return nil, 0, fmt.Errorf("window %s: series %s arrived twice with different samples (%d samples, then %d); overlapping selectors should return the same data, so not writing it",
					win.w, lset, prev.n, d.n)
			}
			dups++
			continue
		}
		batch[h] = append(batch[h], len(todo))
		todo = append(todo, pending{src: s, lset: lset, hash: h, d: d})
	}
	return todo, dups, nil
}

// digestSeries checks what the BlockWriter would otherwise get wrong
// silently: a sample out of order inside one uncommitted batch is dropped at
// Commit, and one outside the window would land in the wrong block. It
// digests both kinds of samples in time order, as a block reads them back,
// by runs of one kind, so that a float series is one plain loop. Each run
// takes at least one sample, even of an unsorted list, whose disorder its
// loop then finds.
func digestSeries(w extract.Window, s *extract.Series) (digest, error) {
	d := newDigest()
	lastF, lastH := w.Start-1, w.Start-1
	f, h := s.Samples, s.Histograms
	for len(f) > 0 || len(h) > 0 {
		n := len(f)
		if len(h) > 0 {
			n = extract.Before(f, h[0].T)
		}
		for _, smp := range f[:n] {
			if smp.T <= lastF || smp.T >= w.End {
				return d, timeError(w, "sample", smp.T, lastF)
			}
			d.add(smp.T, smp.V)
			lastF = smp.T
		}
		if f = f[n:]; len(h) == 0 {
			break
		}
		if len(f) > 0 && f[0].T == h[0].T {
			return d, fmt.Errorf("a float and a histogram sample at %d: a series holds one sample a timestamp", h[0].T)
		}
		n = len(h)
		if len(f) > 0 {
			n = extract.Before(h, f[0].T)
		}
		for _, smp := range h[:n] {
			if smp.T <= lastH || smp.T >= w.End {
				return d, timeError(w, "histogram sample", smp.T, lastH)
			}
			d.addHistogram(smp)
			lastH = smp.T
		}
		h = h[n:]
	}
	return d, nil
}

// timeError says why a sample at t, after one at last (w.Start-1 for none),
// cannot be appended.
func timeError(w extract.Window, kind string, t, last int64) error {
	if t < w.Start || t >= w.End {
		return fmt.Errorf("%s at %d is outside the window", kind, t)
	}
	return fmt.Errorf("%s at %d follows one at %d: samples must be sorted by time without repeats", kind, t, last)
}

func (win *window) append(ctx context.Context, todo []pending) error {
	if win.bw == nil {
		if err := win.openWriter(); err != nil {
			return err
		}
	}
	b := &batch{app: win.bw.Appender(ctx), bw: win.bw, ctx: ctx}
	for _, p := range todo {
		if err := ctx.Err(); err != nil {
			return errors.Join(fmt.Errorf("window %s: %w", win.w, err), b.app.Rollback())
		}
		if err := b.series(p.lset, p.src); err != nil {
			return fmt.Errorf("window %s: series %s: %w", win.w, p.lset, err)
		}
	}
	if err := b.app.Commit(); err != nil {
		return fmt.Errorf("window %s: commit: %w", win.w, err)
	}
	for _, p := range todo {
		// The caller may reuse its label storage once Add returns. The head
		// keeps a pointer to each series' last histogram, but reads it only
		// to check a later append to the series, and a series is appended
		// to once a window.
		win.ledger.put(p.hash, record{lset: p.lset.Copy(), d: p.d})
		win.stale += uint64(p.src.StaleMarkers())
	}
	return nil
}

// batch is the appender being filled, committed every commitEvery samples.
type batch struct {
	ctx context.Context
	bw  *blockWriter
	app storage.Appender
	n   int
}

// series appends one series' samples in time order: runs of floats and of
// histograms, with a commit between runs, since the head sorts out a
// batch's floats and histograms of one series separately.
func (b *batch) series(lset labels.Labels, s *extract.Series) error {
	var ref storage.SeriesRef
	f, h := s.Samples, s.Histograms
	for len(f) > 0 || len(h) > 0 {
		if len(h) == 0 || len(f) > 0 && f[0].T < h[0].T {
			n := len(f)
			if len(h) > 0 {
				n = extract.Before(f, h[0].T)
			}
			err := run(b, f[:n], "sample", func(smp extract.Sample) (err error) {
				ref, err = b.app.Append(ref, lset, smp.T, smp.V)
				return err
			})
			if err != nil {
				return err
			}
			f = f[n:]
		} else {
			n := len(h)
			if len(f) > 0 {
				n = extract.Before(h, f[0].T)
			}
			err := run(b, h[:n], "histogram sample", func(smp extract.HistogramSample) (err error) {
				ref, err = b.app.AppendHistogram(ref, lset, smp.T, smp.H, smp.FH)
				return err
			})
			if err != nil {
				return err
			}
			h = h[n:]
		}
		if len(f) > 0 || len(h) > 0 {
			if err := b.commit(); err != nil {
				return err
			}
		}
	}
	return nil
}

// run appends samples of one kind with add, each counting toward the next
// commit.
func run[S interface{ Time() int64 }](b *batch, samples []S, kind string, add func(S) error) error {
	for _, smp := range samples {
		if err := add(smp); err != nil {
			return errors.Join(fmt.Errorf("append %s at %d: %w", kind, smp.Time(), err), b.app.Rollback())
		}
		if err := b.count(); err != nil {
			return err
		}
	}
	return nil
}

func (b *batch) count() error {
	if b.n++; b.n < commitEvery {
		return nil
	}
	return b.commit()
}

func (b *batch) commit() error {
	if err := b.app.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	b.app, b.n = b.bw.Appender(b.ctx), 0
	return nil
}

func (win *window) openWriter() error {
	if err := win.stage(win.dir); err != nil {
		return fmt.Errorf("window %s: staging: %w", win.w, err)
	}
	// Twice the window: the head refuses samples older than half its chunk
	// range behind the newest one, and a window's samples span all of it.
	bw, err := newBlockWriter(win.logger, win.dir, 2*extract.WindowMs)
	if err != nil {
		return fmt.Errorf("window %s: block writer: %w", win.w, err)
	}
	win.bw = bw
	return nil
}

func (win *window) closeWriter() error {
	if win.bw == nil {
		return nil
	}
	err := win.bw.Close()
	win.bw = nil
	if err != nil {
		return fmt.Errorf("close block writer: %w", err)
	}
	return nil
}

// release frees the head and removes the window's staging directory.
func (win *window) release() error {
	err := win.closeWriter()
	win.ledger = newLedger()
	if rerr := os.RemoveAll(win.dir); rerr != nil {
		err = errors.Join(err, fmt.Errorf("remove %s: %w", win.dir, rerr))
	}
	return err
}
