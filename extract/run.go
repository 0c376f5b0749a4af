package extract

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// Source fetches one unit: every series the unit's selector matches, with
// every sample (raw) or step (step mode) in [u.From, u.To), handed to add as
// they arrive. Each series comes whole for the unit; a retry may hand the
// same series again. Samples outside the unit may be included; Run trims
// them. Beside what it added, Stream may return a *PartialError.
type Source interface {
	Stream(ctx context.Context, u Unit, add func([]Series) error) error
}

// Sink receives finished work. Add may be called concurrently for different
// units of the same window; the series it gets are valid only during the
// call (a streaming source reuses their memory). A series may come again for
// the same window, identical (a retry, or two selectors that match it). Done is called once when every unit of a window
// has been added, with the parts of it the source could not give; Discard
// instead when any unit of it failed, and the sink must then leave no trace
// of that window.
type Sink interface {
	Add(ctx context.Context, w Window, series []Series) error
	Done(ctx context.Context, w Window, gaps []Gap) error
	Discard(w Window)
}

// AbortError marks an error after which no other unit can succeed either
// (credentials refused, unknown datasource): Run stops at once rather than
// failing every window the same way.
type AbortError struct{ Err error }

func (e *AbortError) Error() string { return e.Err.Error() }
func (e *AbortError) Unwrap() error { return e.Err }

// Gap is a part of a unit that could not be fetched even split as far as it
// goes: exactly which series (a selector) and which time range are missing.
type Gap struct {
	Selector string
	From, To int64 // [From, To) in ms
	Reason   string
}

func (g Gap) String() string {
	return fmt.Sprintf("%s from %s to %s: %s", g.Selector, msTime(g.From).Format(time.RFC3339Nano), msTime(g.To).Format(time.RFC3339Nano), g.Reason)
}

// PartialError is returned by a Source beside the series it did fetch when
// some parts of the unit could not be fetched. Run writes what came and
// reports the gaps, so one impossible series does not cost a whole window.
type PartialError struct{ Gaps []Gap }

func (e *PartialError) Error() string {
	parts := make([]string, len(e.Gaps))
	for i, g := range e.Gaps {
		parts[i] = g.String()
	}
	return fmt.Sprintf("%d parts not recovered: %s", len(e.Gaps), strings.Join(parts, "; "))
}

// WindowResult is what became of one window.
type WindowResult struct {
	Window    Window
	Series    int   // series fetched, summed over the window's units
	Samples   int64 // samples handed to the sink
	Conflicts int   // samples dropped because the source gave two values for one timestamp
	Gaps      []Gap // parts of a completed window that could not be fetched
	Err       error // nil when the window was completed
}

// Result is the outcome of a run, window by window in plan order.
type Result struct {
	Windows []WindowResult
	// DistinctSeries counts label sets over the whole run: a series is
	// fetched once per window, and again for every selector that matches it.
	DistinctSeries int
}

// Gaps lists the parts of completed windows that could not be fetched.
func (r *Result) Gaps() []Gap {
	var out []Gap
	for _, w := range r.Windows {
		out = append(out, w.Gaps...)
	}
	return out
}

// Failed lists the windows that were not completed.
func (r *Result) Failed() []WindowResult {
	var out []WindowResult
	for _, w := range r.Windows {
		if w.Err != nil {
			out = append(out, w)
		}
	}
	return out
}

// Totals sums series and samples fetched for completed windows; a series
// counts once per window and selector.
func (r *Result) Totals() (series int, samples int64) {
	for _, w := range r.Windows {
		if w.Err == nil {
			series += w.Series
			samples += w.Samples
		}
	}
	return series, samples
}

// Run fetches every unit of the plan with at most concurrency workers and
// feeds the sink. A unit that fails fails its window only (it is discarded
// whole and reported); an AbortError stops the run. Windows not reached
// because of an abort or a cancelled context are reported as failed too, so
// the result always accounts for the whole plan.
func Run(ctx context.Context, p *Plan, src Source, sink Sink, concurrency int, log *slog.Logger) (*Result, error) {
	units := p.Units()
	perWindow := len(p.Selectors)
	states := make([]windowState, len(p.Windows))
	for i := range states {
		states[i] = windowState{WindowResult: WindowResult{Window: p.Windows[i]}, pending: perWindow}
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(concurrency, 1))
	var abort error
	var abortOnce sync.Once
	seen := &seriesSet{m: map[uint64]struct{}{}}
	for i, u := range units {
		st := &states[i/perWindow]
		if gctx.Err() != nil {
			st.finish(sink, gctx, fmt.Errorf("not fetched: %w", context.Cause(gctx)), log)
			continue
		}
		g.Go(func() error {
			err := fetchUnit(gctx, src, sink, st, u, seen)
			var ae *AbortError
			if errors.As(err, &ae) {
				abortOnce.Do(func() { abort = ae })
				st.finish(sink, gctx, err, log)
				return err
			}
			st.finish(sink, gctx, err, log)
			return nil
		})
	}
	_ = g.Wait() // the only error returned is the abort, kept above
	res := &Result{Windows: make([]WindowResult, len(states)), DistinctSeries: len(seen.m)}
	for i := range states {
		res.Windows[i] = states[i].WindowResult
	}
	if abort == nil {
		abort = ctx.Err()
	}
	return res, abort
}

func fetchUnit(ctx context.Context, src Source, sink Sink, st *windowState, u Unit, seen *seriesSet) error {
	var series int
	var samples int64
	conflicts := 0
	var writeErr error
	err := src.Stream(ctx, u, func(batch []Series) error {
		kept := batch[:0]
		for i := range batch {
			conflicts += batch[i].Normalize(u.From, u.To)
			if len(batch[i].Samples) > 0 {
				samples += int64(len(batch[i].Samples))
				kept = append(kept, batch[i])
			}
		}
		if len(kept) == 0 {
			return nil
		}
		if err := sink.Add(ctx, u.Window, kept); err != nil {
			writeErr = fmt.Errorf("write %s in %s: %w", u.Selector, u.Window, err)
			return writeErr
		}
		seen.add(kept)
		series += len(kept)
		return nil
	})
	if writeErr != nil {
		return writeErr
	}
	var partial *PartialError
	if err != nil && !errors.As(err, &partial) {
		return fmt.Errorf("fetch %s in %s: %w", u.Selector, u.Window, err)
	}
	st.mu.Lock()
	st.Series += series
	st.Samples += samples
	st.Conflicts += conflicts
	if partial != nil {
		st.Gaps = append(st.Gaps, partial.Gaps...)
	}
	st.mu.Unlock()
	return nil
}

// seriesSet counts distinct label sets by hash: a count, so a collision
// (astronomically unlikely) would only make it one short.
type seriesSet struct {
	mu sync.Mutex
	m  map[uint64]struct{}
}

func (s *seriesSet) add(series []Series) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range series {
		s.m[x.Labels.Hash()] = struct{}{}
	}
}

// windowState counts down a window's units; the last one to finish closes
// the window, so no goroutine waits on another.
type windowState struct {
	mu sync.Mutex
	WindowResult
	pending int
}

func (st *windowState) finish(sink Sink, ctx context.Context, err error, log *slog.Logger) {
	st.mu.Lock()
	if err != nil && st.Err == nil {
		st.Err = err
	}
	st.pending--
	last := st.pending == 0
	failed := st.Err
	st.mu.Unlock()
	if !last {
		return
	}
	if failed != nil {
		sink.Discard(st.Window)
		log.Warn("window not recovered", "window", st.Window.String(), "err", failed)
		return
	}
	// A window whose every unit arrived is finished even when the run is
	// being stopped: its data is here, and writing it is what "let in-flight
	// windows finish" means.
	if err := sink.Done(context.WithoutCancel(ctx), st.Window, st.Gaps); err != nil {
		sink.Discard(st.Window)
		st.mu.Lock()
		st.Err = fmt.Errorf("finish %s: %w", st.Window, err)
		st.mu.Unlock()
		log.Warn("window not recovered", "window", st.Window.String(), "err", err)
		return
	}
	log.Debug("window done", "window", st.Window.String(), "series", st.Series, "samples", st.Samples)
}
