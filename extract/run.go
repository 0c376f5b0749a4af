package extract

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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
	Samples   int64 // samples of both kinds handed to the sink
	Conflicts int   // samples dropped because the source gave two values for one timestamp
	// Conflicted names the series of those samples, with their counts:
	// the first few, of ConflictedSeries.
	Conflicted       []SeriesCount
	ConflictedSeries int
	Gaps             []Gap // parts of a completed window that could not be fetched
	Err              error // nil when the window was completed
	// Interrupted says Err is the run being cancelled (Ctrl-C), not a
	// fault of the window: it was not fetched, or was cut short and
	// discarded, and the same run again recovers it.
	Interrupted bool
}

// SeriesCount is a series, as text, and a count of its samples.
type SeriesCount struct {
	Series  string
	Samples int
}

// namedConflicts is how many series with conflicting samples a window
// names: the log line must stay a line.
const namedConflicts = 5

// ConflictText lists a window's series with conflicting samples.
func (w *WindowResult) ConflictText() string {
	parts := make([]string, len(w.Conflicted))
	for i, c := range w.Conflicted {
		parts[i] = fmt.Sprintf("%s: %d", c.Series, c.Samples)
	}
	text := strings.Join(parts, ", ")
	if more := w.ConflictedSeries - len(w.Conflicted); more > 0 {
		text += fmt.Sprintf(" and %d more series", more)
	}
	return text
}

// Result is the outcome of a run, window by window in plan order.
type Result struct {
	Windows []WindowResult
	// DistinctSeries counts label sets over the windows completed, like
	// Totals, but each once: a series is fetched once per window, and again
	// for every selector that matches it.
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

// Failed lists the windows that were not completed, but for those an
// interrupt left undone.
func (r *Result) Failed() []WindowResult {
	var out []WindowResult
	for _, w := range r.Windows {
		if w.Err != nil && !w.Interrupted {
			out = append(out, w)
		}
	}
	return out
}

// Recovered counts the windows completed.
func (r *Result) Recovered() int {
	n := 0
	for _, w := range r.Windows {
		if w.Err == nil {
			n++
		}
	}
	return n
}

// Interrupted counts the windows an interrupt left undone.
func (r *Result) Interrupted() int {
	return len(r.Windows) - r.Recovered() - len(r.Failed())
}

// Partial says whether the run got some of its windows but not all of
// them whole: what a script is told apart from getting nothing, since the
// same run again fetches only the rest.
func (r *Result) Partial() bool {
	return r.Recovered() > 0 && r.Recovered() < len(r.Windows) || len(r.Gaps()) > 0
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

// BatchSource is a Source that can also fetch several units of one window in
// one request, which saves a round trip and the server's per-request work
// when a plan has several selectors.
type BatchSource interface {
	Source
	// StreamBatch fetches units (all of one window) and hands each one's
	// series to add with the unit's index; it returns one error per unit,
	// with the same meaning as Stream's.
	StreamBatch(ctx context.Context, units []Unit, add func(i int, series []Series) error) []error
	// MaxBatch is how many units one request may carry.
	MaxBatch() int
}

// Run fetches every unit of the plan with at most concurrency workers and
// feeds the sink. A unit that fails fails its window only (it is discarded
// whole and reported); an AbortError stops the run. Windows not reached
// because of an abort are reported as failed too, and those a cancelled ctx
// left undone as Interrupted, so the result always accounts for the whole
// plan.
func Run(ctx context.Context, p *Plan, src Source, sink Sink, concurrency int, log *slog.Logger) (*Result, error) {
	perWindow := len(p.Selectors)
	seen := &seriesSet{m: map[uint64]struct{}{}}
	states := make([]windowState, len(p.Windows))
	for i := range states {
		states[i] = windowState{WindowResult: WindowResult{Window: p.Windows[i]}, pending: perWindow,
			seen: seriesSet{m: map[uint64]struct{}{}}, run: seen}
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(concurrency, 1))
	var abort error
	var abortOnce sync.Once
	// An abort comes from a unit, or from the sink installing the window
	// the unit completed (a full disk).
	finish := func(st *windowState, err error) error {
		if derr := st.finish(sink, ctx, err, log); err == nil {
			err = derr
		}
		var ae *AbortError
		if errors.As(err, &ae) {
			abortOnce.Do(func() { abort = ae })
			return err
		}
		return nil
	}
	// notFetched settles a batch that an abort or an interrupt came before.
	notFetched := func(st *windowState, batch []Unit) bool {
		if gctx.Err() == nil {
			return false
		}
		for range batch {
			st.finish(sink, ctx, fmt.Errorf("not fetched: %w", context.Cause(gctx)), log)
		}
		return true
	}
	for _, batch := range batches(p.Units(), src) {
		st := &states[slices.Index(p.Windows, batch[0].Window)]
		if notFetched(st, batch) {
			continue
		}
		runs := make([]*unitRun, len(batch))
		for i, u := range batch {
			runs[i] = &unitRun{u: u, sink: sink, seen: &st.seen, ctx: gctx}
		}
		g.Go(func() error {
			// An abort may have come while this batch waited for a worker.
			if notFetched(st, batch) {
				return nil
			}
			var errs []error
			// A panic of the source or the sink fails the units of this
			// request, as any error would, rather than the process.
			perr := Catch(log, func() error {
				if bs, ok := src.(BatchSource); ok && len(batch) > 1 {
					errs = bs.StreamBatch(gctx, batch, func(i int, ss []Series) error { return runs[i].add(ss) })
				} else {
					errs = []error{src.Stream(gctx, batch[0], runs[0].add)}
				}
				return nil
			})
			if perr != nil {
				errs = make([]error, len(batch))
				for i, r := range runs {
					errs[i], r.writeErr = perr, nil
				}
			}
			var first error
			for i, r := range runs {
				if err := finish(st, r.done(errs[i], st)); err != nil && first == nil {
					first = err
				}
			}
			return first
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

// batches groups the units of each window into requests as large as the
// source takes; a plain Source gets one unit a request.
func batches(units []Unit, src Source) [][]Unit {
	size := 1
	if bs, ok := src.(BatchSource); ok {
		size = max(bs.MaxBatch(), 1)
	}
	var out [][]Unit
	for i := 0; i < len(units); {
		j := i + 1
		for j < len(units) && j-i < size && units[j].Window == units[i].Window {
			j++
		}
		out = append(out, units[i:j])
		i = j
	}
	return out
}

// unitRun trims, counts and forwards what one unit brings.
type unitRun struct {
	ctx       context.Context
	u         Unit
	sink      Sink
	seen      *seriesSet
	series    int
	samples   int64
	conflicts int
	// conflicted names the first series with conflicts, of nconflicted.
	conflicted  []SeriesCount
	nconflicted int
	writeErr    error
}

func (r *unitRun) add(batch []Series) error {
	kept := batch[:0]
	for i := range batch {
		if c := batch[i].Normalize(r.u.From, r.u.To); c > 0 {
			r.conflicts += c
			if r.nconflicted++; len(r.conflicted) < namedConflicts {
				r.conflicted = append(r.conflicted, SeriesCount{Series: batch[i].Labels.String(), Samples: c})
			}
		}
		if n := batch[i].Len(); n > 0 {
			r.samples += int64(n)
			kept = append(kept, batch[i])
		}
	}
	if len(kept) == 0 {
		return nil
	}
	if err := r.sink.Add(r.ctx, r.u.Window, kept); err != nil {
		r.writeErr = fmt.Errorf("write %s in %s: %w", r.u.Selector, r.u.Window, err)
		return r.writeErr
	}
	r.seen.add(kept)
	r.series += len(kept)
	return nil
}

// done settles the unit with the source's error: counts go to the window,
// and the error returned is what fails the window (nil for a partial unit,
// whose gaps are kept).
func (r *unitRun) done(err error, st *windowState) error {
	if r.writeErr != nil {
		return r.writeErr
	}
	var partial *PartialError
	if err != nil && !errors.As(err, &partial) {
		return fmt.Errorf("fetch %s in %s: %w", r.u.Selector, r.u.Window, err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.Series += r.series
	st.Samples += r.samples
	st.Conflicts += r.conflicts
	st.ConflictedSeries += r.nconflicted
	st.Conflicted = append(st.Conflicted, r.conflicted[:min(len(r.conflicted), namedConflicts-len(st.Conflicted))]...)
	if partial != nil {
		st.Gaps = append(st.Gaps, partial.Gaps...)
	}
	return nil
}

// seriesSet counts distinct label sets by hash: a count, so a collision
// (astronomically unlikely) would only make it one short.
type seriesSet struct {
	mu sync.Mutex
	m  map[uint64]struct{}
}

// merge adds the label sets counted in o.
func (s *seriesSet) merge(o *seriesSet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for h := range o.m {
		s.m[h] = struct{}{}
	}
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
	// seen counts the window's series; they join the run's count only
	// when the window is installed, as its samples do.
	seen seriesSet
	run  *seriesSet
}

// finish settles one unit with err; ctx is the run's, whose cancelling
// makes the units it cuts short interrupted rather than failed (an abort
// cancels only the workers' context, and its windows fail). It returns the
// sink's error for a window it could not install.
func (st *windowState) finish(sink Sink, ctx context.Context, err error, log *slog.Logger) error {
	st.mu.Lock()
	if err != nil && st.Err == nil {
		st.Err = err
		st.Interrupted = ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.Cause(ctx)))
	}
	st.pending--
	last := st.pending == 0
	failed, interrupted := st.Err, st.Interrupted
	st.mu.Unlock()
	if !last {
		return nil
	}
	defer func() { st.seen.m = nil }() // merged below once installed; no longer needed either way
	if failed != nil {
		if err := Catch(log, func() error { sink.Discard(st.Window); return nil }); err != nil {
			log.Error("discarding a window", "window", st.Window.String(), "err", err)
		}
		if interrupted {
			// One line at the end says how many; a warning each would
			// bury the windows that really failed.
			log.Debug("window interrupted", "window", st.Window.String(), "err", failed)
			return nil
		}
		log.Warn("window not recovered", "window", st.Window.String(), "err", failed)
		return nil
	}
	// A window whose every unit arrived is finished even when the run is
	// being stopped: its data is here, and writing it is what "let in-flight
	// windows finish" means.
	if err := Catch(log, func() error { return sink.Done(context.WithoutCancel(ctx), st.Window, st.Gaps) }); err != nil {
		_ = Catch(log, func() error { sink.Discard(st.Window); return nil })
		st.mu.Lock()
		st.Err = fmt.Errorf("finish %s: %w", st.Window, err)
		st.mu.Unlock()
		log.Warn("window not recovered", "window", st.Window.String(), "err", err)
		return err
	}
	st.run.merge(&st.seen)
	if st.Conflicts > 0 {
		log.Warn("samples with a second, different value at the same timestamp; the first was kept", "window", st.Window.String(),
			"samples", st.Conflicts, "series", st.ConflictText())
	}
	log.Debug("window done", "window", st.Window.String(), "series", st.Series, "samples", st.Samples)
	return nil
}
