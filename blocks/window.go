package blocks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
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
	owner      *owner
	bw         *blockWriter // nil until the first sample
	ledger     *ledger
	duplicates uint64
	// broken is the first failed Add: the window lacks that unit's series,
	// and the head may hold part of one, so Done must refuse it.
	broken error
	closed bool
}

func newWindow(w extract.Window, dir string, logger *slog.Logger, o *owner) *window {
	return &window{w: w, dir: dir, logger: logger, owner: o, ledger: newLedger()}
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
	return nil
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
		if len(s.Samples) == 0 {
			continue
		}
		// The head drops empty-valued labels; compare what it will store.
		lset := s.Labels.WithoutEmpty()
		if lset.IsEmpty() {
			return nil, 0, fmt.Errorf("window %s: a series with %d samples has no labels", win.w, len(s.Samples))
		}
		if name, dup := lset.HasDuplicateLabelNames(); dup {
			return nil, 0, fmt.Errorf("window %s: series %s: label %q appears twice", win.w, lset, name)
		}
		d, err := digestSamples(win.w, s.Samples)
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

// digestSamples checks what the BlockWriter would otherwise get wrong
// silently: a sample out of order inside one uncommitted batch is dropped at
// Commit, and one outside the window would land in the wrong block.
func digestSamples(w extract.Window, samples []extract.Sample) (digest, error) {
	d := newDigest()
	for i, smp := range samples {
		if smp.T < w.Start || smp.T >= w.End {
			return d, fmt.Errorf("sample at %d is outside the window", smp.T)
		}
		if i > 0 && smp.T <= samples[i-1].T {
			return d, fmt.Errorf("sample at %d follows one at %d: samples must be sorted by time without repeats", smp.T, samples[i-1].T)
		}
		d.add(smp.T, smp.V)
	}
	return d, nil
}

func (win *window) append(ctx context.Context, todo []pending) error {
	if win.bw == nil {
		if err := win.openWriter(); err != nil {
			return err
		}
	}
	app := win.bw.Appender(ctx)
	fail := func(err error) error { return errors.Join(err, app.Rollback()) }
	n := 0
	for _, p := range todo {
		if err := ctx.Err(); err != nil {
			return fail(fmt.Errorf("window %s: %w", win.w, err))
		}
		var ref storage.SeriesRef
		for _, smp := range p.src.Samples {
			var err error
			if ref, err = app.Append(ref, p.lset, smp.T, smp.V); err != nil {
				return fail(fmt.Errorf("window %s: series %s: append sample at %d: %w", win.w, p.lset, smp.T, err))
			}
			if n++; n >= commitEvery {
				if err := app.Commit(); err != nil {
					return fmt.Errorf("window %s: series %s: commit: %w", win.w, p.lset, err)
				}
				app, n = win.bw.Appender(ctx), 0
			}
		}
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("window %s: commit: %w", win.w, err)
	}
	for _, p := range todo {
		// The caller may reuse its label storage once Add returns.
		win.ledger.put(p.hash, record{lset: p.lset.Copy(), d: p.d})
	}
	return nil
}

func (win *window) openWriter() error {
	if err := os.Mkdir(win.dir, 0o777); err != nil {
		return fmt.Errorf("window %s: staging: %w", win.w, err)
	}
	if err := chownTree(win.dir, win.owner); err != nil {
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
