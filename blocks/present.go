package blocks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/promrecover/promrecover/extract"
)

// Present is a sink that passes on only the samples the blocks already in a
// data directory do not hold, so that a recovery run again into it
// (restarted, its resume state lost, its source reached at another address)
// never writes a sample twice, whatever its resume state says. A sample the
// blocks hold with another value is not written either: what is there stays.
//
// It reads the blocks that were there when it was opened, not those the run
// installs, and not the head (wal/): samples a running Prometheus holds only
// in memory are not known here. Each Add looks its series up in the blocks
// that overlap its window, so memory stays bounded by the window.
type Present struct {
	extract.Sink
	blocks []*tsdb.Block
	log    *slog.Logger

	// OnWhole, when set (before the first Add), is called for a window
	// whose every fetched sample the blocks held, which therefore gets no
	// block: with the window, its gaps, the series and samples fetched, and
	// as ULID the block that held most of them, so that a resume
	// state can record the window as done for as long as that block (or one
	// Prometheus compacted it into) is there. An error fails the window.
	OnWhole func(Block) error

	mu      sync.Mutex
	windows map[extract.Window]*held
	done    map[extract.Window]Held // of each window completed
	total   Held
}

// Held counts what the blocks already held of what a run fetched, over the
// windows completed.
type Held struct {
	Samples   int64 // with the same value: not written again
	Conflicts int64 // with another value: the value there kept, the fetched one not written
	Windows   int   // windows held whole: no block written
}

// held is a window's part of Held while it is fetched.
type held struct {
	Held
	series  uint64
	fetched int64
	passed  int64            // samples handed on to be written
	by      map[string]int64 // samples held, by block
}

// OpenPresent opens the blocks of dir that overlap [mint, maxt) (epoch ms)
// for sink to be fed only what they lack. A block that cannot be opened is
// warned of and left out: the samples it holds may then be written again,
// which Prometheus's merge of overlapping blocks tolerates.
func OpenPresent(dir string, mint, maxt int64, sink extract.Sink, log *slog.Logger) (*Present, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Present{Sink: sink, log: log, windows: map[extract.Window]*held{}, done: map[extract.Window]Held{}}
	ids, err := blockIDs(dir)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		path := filepath.Join(dir, id)
		b, err := tsdb.OpenBlock(nil, path, nil, nil)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue // Prometheus is deleting it
		case err != nil:
			log.Warn("a block in the output directory could not be read: samples it holds may be written again", "block", id, "err", err)
			continue
		}
		if m := b.Meta(); m.MaxTime <= mint || m.MinTime >= maxt {
			if err := b.Close(); err != nil {
				return nil, errors.Join(fmt.Errorf("close block %s: %w", path, err), p.Close())
			}
			continue
		}
		p.blocks = append(p.blocks, b)
	}
	return p, nil
}

// Close closes the blocks. The sink it wraps is the caller's to close.
func (p *Present) Close() error {
	var errs []error
	for _, b := range p.blocks {
		errs = append(errs, b.Close())
	}
	p.blocks = nil
	return errors.Join(errs...)
}

// Held is what the blocks held of the windows completed so far.
func (p *Present) Held() Held {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}

// HeldIn is what the blocks held of the completed window w, for a caller
// that checks its block against what it fetched for it.
func (p *Present) HeldIn(w extract.Window) Held {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done[w]
}

// Add implements extract.Sink. The source lends the series for the call, so
// their samples are trimmed in place; the slice itself is left alone, as the
// caller reads its labels afterwards.
func (p *Present) Add(ctx context.Context, w extract.Window, series []extract.Series) error {
	var h held
	h.by = map[string]int64{}
	kept := make([]extract.Series, 0, len(series))
	for _, s := range series {
		h.series++
		h.fetched += int64(s.Len())
		if err := p.subtract(ctx, w, &s, &h); err != nil {
			return fmt.Errorf("window %s: series %s: reading what the output directory holds: %w", w, s.Labels, err)
		}
		if s.Len() > 0 {
			h.passed += int64(s.Len())
			kept = append(kept, s)
		}
	}
	p.note(w, &h)
	if len(kept) == 0 {
		return nil
	}
	return p.Sink.Add(ctx, w, kept)
}

// subtract drops from s what the blocks overlapping w hold of it in w.
func (p *Present) subtract(ctx context.Context, w extract.Window, s *extract.Series, h *held) error {
	lset := s.Labels.WithoutEmpty() // as the head stores it
	ms := make([]*labels.Matcher, 0, lset.Len())
	lset.Range(func(l labels.Label) { ms = append(ms, labels.MustNewMatcher(labels.MatchEqual, l.Name, l.Value)) })
	for _, b := range p.blocks {
		if s.Len() == 0 {
			return nil
		}
		if m := b.Meta(); m.MaxTime <= w.Start || m.MinTime >= w.End {
			continue
		}
		have, err := lookup(ctx, b, lset, ms, w)
		if err != nil {
			return err
		}
		present, conflicts := s.Subtract(&have)
		h.Samples += int64(present)
		h.Conflicts += int64(conflicts)
		h.by[b.Meta().ULID.String()] += int64(present + conflicts)
	}
	return nil
}

// lookup reads what b holds in w of the series lset (whose matchers are ms).
func lookup(ctx context.Context, b *tsdb.Block, lset labels.Labels, ms []*labels.Matcher, w extract.Window) (have extract.Series, err error) {
	// Querier bounds are inclusive.
	q, err := tsdb.NewBlockQuerier(b, w.Start, w.End-1)
	if err != nil {
		return have, err
	}
	defer func() { err = errors.Join(err, q.Close()) }()
	set := q.Select(ctx, false, nil, ms...)
	var it chunkenc.Iterator
	for set.Next() {
		// The matchers also match series with more labels.
		if labels.Equal(set.At().Labels(), lset) {
			have, _, err = readSeries(set.At(), it, w.Start, w.End)
			return have, err
		}
	}
	return have, set.Err()
}

// note adds one Add's counts to its window's.
func (p *Present) note(w extract.Window, h *held) {
	p.mu.Lock()
	defer p.mu.Unlock()
	all := p.windows[w]
	if all == nil {
		all = &held{by: map[string]int64{}}
		p.windows[w] = all
	}
	all.Samples += h.Samples
	all.Conflicts += h.Conflicts
	all.series += h.series
	all.fetched += h.fetched
	all.passed += h.passed
	for id, n := range h.by {
		all.by[id] += n
	}
}

// take removes w's counts; nil when nothing came for it.
func (p *Present) take(w extract.Window) *held {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.windows[w]
	delete(p.windows, w)
	return h
}

// Done implements extract.Sink: it completes the window in the sink, warns
// of the samples that differ from what is there, and has OnWhole record a
// window the blocks held whole.
func (p *Present) Done(ctx context.Context, w extract.Window, gaps []extract.Gap) error {
	h := p.take(w)
	if err := p.Sink.Done(ctx, w, gaps); err != nil || h == nil {
		return err
	}
	if h.Conflicts > 0 {
		p.log.Warn("fetched samples differ from what the output directory holds at the same timestamps: the values there are kept, the fetched ones not written",
			"window", w.String(), "samples", h.Conflicts)
	}
	whole := h.passed == 0
	if whole && p.OnWhole != nil {
		if err := p.OnWhole(h.block(w, gaps)); err != nil {
			return fmt.Errorf("window %s: %w", w, err)
		}
	}
	if whole {
		h.Windows = 1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done[w] = h.Held
	p.total.Samples += h.Samples
	p.total.Conflicts += h.Conflicts
	p.total.Windows += h.Windows
	return nil
}

// block describes a window held whole by the block that held most of it.
func (h *held) block(w extract.Window, gaps []extract.Gap) Block {
	var most string
	for id, n := range h.by {
		if most == "" || n > h.by[most] || n == h.by[most] && id < most {
			most = id
		}
	}
	return Block{ULID: most, Window: w, MinTime: w.Start, MaxTime: w.End, Series: h.series, Samples: uint64(h.fetched), Gaps: gaps}
}

// Discard implements extract.Sink.
func (p *Present) Discard(w extract.Window) {
	p.take(w)
	p.Sink.Discard(w)
}
