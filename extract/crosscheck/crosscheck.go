// Package crosscheck checks each unit a raw-mode run fetches against the
// source's own count of its samples, series by series, before any of it
// reaches the sink: a source that answers 200 with part of an answer
// missing (a proxy that cuts a body at a frame boundary, a query-frontend
// that drops a shard's result) would otherwise have the gap installed as if
// it were the data.
//
// The counts are count_over_time of the very range selector each unit's
// fetch asks, at the same time (see rangeOf), so they cover the same
// samples whichever end the server keeps; a source whose fetch is cut
// otherwise (remote read's [from, to)) gives its own range selector and
// span (extract.CountRanger). Neither side carries stale
// markers: the API's answers leave them out, and count_over_time does not
// count them; a source that does hand them over has them left out of its
// side of the comparison too. Native histogram samples count on both.
//
// The units of the plan are counted ahead, a chunk of them in one range
// query (each selector's count tagged, the terms joined with "or"): at
// each window's end on a grid of windows for the units that fill their
// window, so that a series is one series of the answer for all of them,
// and pinned with @ for the one or two at the plan's ends that do not.
// Checking costs a request for many fetches. count_over_time drops
// __name__, and Prometheus refuses a vector in which two series are then
// equal, which a selector that does not pin the name (every series, say)
// nearly always meets: for those, a request before lists the series with
// their names, and each is counted by groups of names in which no two
// share their other labels. A series whose count matches goes on to the
// sink at once; one that differs is held, and
// so is nothing else, so memory holds only what differs. A unit that
// differs is counted and fetched once more; what still differs fails the
// unit, and so its window, with a *DiffError naming the series.
package crosscheck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/promrecover/promrecover/extract"
)

// A chunk of units is counted together, so that checking takes a request
// or two a day of range: at most chunkUnits units (the expression, a few
// terms a selector, stays some kilobytes, and the answer within a source's
// limits most of the time; a request over them is halved) over at most
// chunkWindows windows (a day: the census looks back over the whole span,
// and a day is what the source's own count queries look back over, see
// grafana.countSlice).
const (
	chunkUnits   = 256
	chunkWindows = 12
)

// Stats is what checking did.
type Stats struct {
	Checked   int   // units compared with the source's counts
	Differing int   // of those, units whose first fetch differed
	Refetched int   // units fetched again for that
	Failed    int   // units that still differed, and failed
	Unchecked int   // units that could not be counted (or came partial), so were not compared
	Requests  int   // count requests sent, retries aside
	Bytes     int64 // of their answers, decompressed
}

// Source wraps a Source that is also an extract.Counter with the check.
// It implements extract.BatchSource, passing batches on where the source
// takes them.
type Source struct {
	src     extract.Source
	counter extract.Counter
	log     *slog.Logger
	index   map[unitKey]int
	units   []extract.Unit
	starts  []int // where each chunk of units starts; a last entry ends the last

	mu     sync.Mutex
	chunks map[int]*chunk

	checked, differing, refetched, fails, unchecked, requests atomic.Int64
	most                                                      atomic.Int64 // units one count request may carry, lowered where one failed
	bytes                                                     atomic.Int64
}

type unitKey struct {
	w   extract.Window
	sel string
}

type chunk struct {
	once   sync.Once
	counts []*counts
}

// Wrap checks the units of p, fetched from src, against c's counts.
func Wrap(src extract.Source, c extract.Counter, p *extract.Plan, log *slog.Logger) *Source {
	s := &Source{src: src, counter: c, log: log, index: map[unitKey]int{}, units: p.Units(), chunks: map[int]*chunk{}}
	s.most.Store(chunkUnits)
	windows := 0
	for i, u := range s.units {
		s.index[unitKey{u.Window, u.Selector}] = i
		if i > 0 && u.Window != s.units[i-1].Window {
			windows++
		}
		if i == 0 || i-s.starts[len(s.starts)-1] == chunkUnits || windows == chunkWindows {
			s.starts, windows = append(s.starts, i), 0
		}
	}
	s.starts = append(s.starts, len(s.units))
	return s
}

// Stats returns what checking did so far.
func (s *Source) Stats() Stats {
	return Stats{Checked: int(s.checked.Load()), Differing: int(s.differing.Load()), Refetched: int(s.refetched.Load()),
		Failed: int(s.fails.Load()), Unchecked: int(s.unchecked.Load()), Requests: int(s.requests.Load()), Bytes: s.bytes.Load()}
}

// expected is the source's count of u: from the chunk of the plan it is
// in, counted on first use.
func (s *Source) expected(ctx context.Context, u extract.Unit) *counts {
	i, ok := s.index[unitKey{u.Window, u.Selector}]
	if !ok || u.From != s.units[i].From || u.To != s.units[i].To {
		return s.count(ctx, []extract.Unit{u})[0]
	}
	n, _ := slices.BinarySearch(s.starts, i+1)
	start, end := s.starts[n-1], s.starts[n]
	s.mu.Lock()
	c := s.chunks[start]
	if c == nil {
		c = &chunk{}
		s.chunks[start] = c
	}
	s.mu.Unlock()
	c.once.Do(func() { c.counts = s.count(ctx, s.units[start:end]) })
	s.mu.Lock()
	defer s.mu.Unlock()
	got := c.counts[i-start]
	c.counts[i-start] = nil // each unit is fetched once; a refetch counts afresh
	if got == nil {
		return s.count(ctx, []extract.Unit{u})[0]
	}
	return got
}

// Stream implements extract.Source.
func (s *Source) Stream(ctx context.Context, u extract.Unit, add func([]extract.Series) error) error {
	p := newPass(u, extract.CountRange(s.counter, u), s.expected(ctx, u), add, nil)
	return s.settle(ctx, p, s.src.Stream(ctx, u, p.take))
}

// MaxBatch implements extract.BatchSource.
func (s *Source) MaxBatch() int {
	if bs, ok := s.src.(extract.BatchSource); ok {
		return bs.MaxBatch()
	}
	return 1
}

// StreamBatch implements extract.BatchSource.
func (s *Source) StreamBatch(ctx context.Context, units []extract.Unit, add func(int, []extract.Series) error) []error {
	bs, ok := s.src.(extract.BatchSource)
	if !ok || len(units) == 1 {
		errs := make([]error, len(units))
		for i, u := range units {
			errs[i] = s.Stream(ctx, u, func(ss []extract.Series) error { return add(i, ss) })
		}
		return errs
	}
	passes := make([]*pass, len(units))
	for i, u := range units {
		passes[i] = newPass(u, extract.CountRange(s.counter, u), s.expected(ctx, u), func(ss []extract.Series) error { return add(i, ss) }, nil)
	}
	errs := bs.StreamBatch(ctx, units, func(i int, ss []extract.Series) error { return passes[i].take(ss) })
	for i, p := range passes {
		errs[i] = s.settle(ctx, p, errs[i])
	}
	return errs
}

// settle judges a unit's first fetch, which ended with err: a unit that
// differs is counted and fetched once more, and fails if it still does.
func (s *Source) settle(ctx context.Context, p *pass, err error) error {
	var partial *extract.PartialError
	switch {
	case p.want.err != nil || errors.As(err, &partial):
		// Nothing to compare with, or parts missing that the gaps
		// already name: what came goes on, as without the check.
		s.unchecked.Add(1)
		if p.want.err != nil && ctx.Err() == nil {
			s.log.Warn("could not count the unit at the source, so it is not checked", "selector", p.u.Selector, "window", p.u.Window.String(), "err", p.want.err)
		}
		if rerr := p.release(); rerr != nil {
			return rerr
		}
		return err
	case err != nil:
		return err
	}
	s.checked.Add(1)
	diffs := p.diffs()
	if len(diffs) == 0 {
		return nil
	}
	s.differing.Add(1)
	s.refetched.Add(1)
	s.log.Warn("the source counts other samples than were fetched; fetching the unit again", "selector", p.u.Selector,
		"window", p.u.Window.String(), "series", len(diffs), "first", diffs[0].String())
	again := newPass(p.u, p.span, s.count(ctx, []extract.Unit{p.u})[0], p.add, p.sent)
	if again.want.err != nil {
		return fmt.Errorf("counting the unit again, after its answer differed (%s): %w", diffs[0], again.want.err)
	}
	if err := s.src.Stream(ctx, p.u, again.take); err != nil {
		return err
	}
	if diffs = again.diffs(); len(diffs) > 0 {
		s.fails.Add(1)
		return &DiffError{Unit: p.u, Diffs: diffs}
	}
	return nil
}
