// Package served waits until a running Prometheus serves the windows a run
// installed into its data directory: blocks renamed into place are only
// data once Prometheus has loaded them (it looks for new blocks once a
// minute), and one that never loads them (another data directory, a
// retention that deletes them at once) loses them as surely as an unwritten
// block.
//
// A window counts as served when the Prometheus counts, over the window,
// exactly the samples it counted before the block was installed plus those
// the block holds but its stale markers, summed over the metric names
// written: one instant query a window, which reads a count, not the
// samples. Counting before the install keeps what the Prometheus already
// held (the surviving data of --only-gaps, other series of the same names)
// out of the comparison.
package served

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/promapi"
)

// Watch learns, as a sink wrapper, what each window writes and what the
// Prometheus served of it before, and then waits for the rest.
type Watch struct {
	client *promapi.Client
	closed bool // the server's range selectors include their start

	mu     sync.Mutex
	names  map[extract.Window]map[string]bool // of the windows being fetched
	before map[extract.Window]count           // of the windows completed
}

// count is what the Prometheus counted of a window: the query asked, and
// its answer or why there is none.
type count struct {
	expr string
	n    int64
	err  error
}

// New returns a Watch of the Prometheus c asks, once it answers a query: a
// wrong address fails here, before anything is fetched.
func New(ctx context.Context, c *promapi.Client) (*Watch, error) {
	if _, err := c.QuerySum(ctx, "vector(0)", time.Now().UnixMilli()); err != nil {
		return nil, fmt.Errorf("the Prometheus does not answer: %w", err)
	}
	closed, _ := c.ClosedRanges(ctx) // a server that does not say is taken for a current one
	return &Watch{client: c, closed: closed, names: map[extract.Window]map[string]bool{}, before: map[extract.Window]count{}}, nil
}

// Wrap returns sink, which must be the one that writes the blocks, with the
// counts taken around it.
func (w *Watch) Wrap(sink extract.Sink) extract.Sink { return &watched{w, sink} }

type watched struct {
	w *Watch
	extract.Sink
}

func (s *watched) Add(ctx context.Context, win extract.Window, series []extract.Series) error {
	s.w.mu.Lock()
	names := s.w.names[win]
	if names == nil {
		names = map[string]bool{}
		s.w.names[win] = names
	}
	for _, ser := range series {
		// The blocks refuse a series without a name; it must not make
		// the selector one that matches the empty name.
		if n := ser.Labels.Get(model.MetricNameLabel); n != "" {
			names[n] = true
		}
	}
	s.w.mu.Unlock()
	return s.Sink.Add(ctx, win, series)
}

// Done counts what the Prometheus serves of the window before the block is
// installed. A count that fails does not stop the install: the wait says
// so for that window.
func (s *watched) Done(ctx context.Context, win extract.Window, gaps []extract.Gap) error {
	names := s.w.take(win)
	if len(names) == 0 {
		return s.Sink.Done(ctx, win, gaps)
	}
	c := count{expr: s.w.expr(win, names)}
	c.n, c.err = s.w.ask(ctx, win, c.expr)
	if err := s.Sink.Done(ctx, win, gaps); err != nil {
		return err
	}
	s.w.mu.Lock()
	s.w.before[win] = c
	s.w.mu.Unlock()
	return nil
}

func (s *watched) Discard(win extract.Window) {
	s.w.take(win)
	s.Sink.Discard(win)
}

func (w *Watch) take(win extract.Window) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	names := w.names[win]
	delete(w.names, win)
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// expr counts the samples of the metrics names in the window, [Start, End),
// asked at End-1ms: Prometheus 2's range then reaches one ms less far back.
// A sum a name, each 0 when the name has no series there: count_over_time
// drops the names, and series that only they told apart would make one
// count_over_time of them all an error.
func (w *Watch) expr(win extract.Window, names []string) string {
	r := win.End - win.Start
	if w.closed {
		r--
	}
	sums := make([]string, len(names))
	for i, n := range names {
		sums[i] = fmt.Sprintf("(sum(count_over_time({__name__=%q}[%dms])) or vector(0))", n, r)
	}
	return strings.Join(sums, " + ")
}

func (w *Watch) ask(ctx context.Context, win extract.Window, expr string) (int64, error) {
	v, err := w.client.QuerySum(ctx, expr, win.End-1)
	if err != nil {
		return 0, err
	}
	if v < 0 || v > math.MaxInt64 || v != math.Trunc(v) {
		return 0, fmt.Errorf("query %s: %v is no count", expr, v)
	}
	return int64(v), nil
}

// Missing is a window the Prometheus did not serve as written.
type Missing struct {
	Window    extract.Window
	Want, Got int64 // the samples expected and those last served
	Err       error // why the count could not be asked, if it could not
}

// Result is how the wait ended.
type Result struct {
	URL     string        // of the Prometheus asked
	Windows int           // waited for
	After   time.Duration // until every window was served, or the wait ended
	Missing []Missing     // by window
	// Interrupted says the wait was cut short (Ctrl-C, SIGTERM).
	Interrupted bool
}

// pending is a window waited for.
type pending struct {
	Missing
	expr    string
	unknown bool // what it served before is not known: Err says why
}

// Wait polls every interval, up to timeout, until the Prometheus serves
// each of the installed blocks' windows with exactly the samples written;
// a cancelled ctx ends it early, with the windows not yet served missing.
func (w *Watch) Wait(ctx context.Context, installed []blocks.Block, timeout, interval time.Duration) Result {
	start := time.Now()
	todo := w.expected(installed)
	res := Result{URL: w.client.URL(), Windows: len(todo)}
	for ctx.Err() == nil {
		left := timeout - time.Since(start)
		// Prometheus loads every new block at one reload: until the first
		// window is served, asking of the others costs queries and tells
		// nothing. The last poll asks of all, for what the summary says.
		todo = w.poll(ctx, todo, left > interval)
		if !slices.ContainsFunc(todo, func(p pending) bool { return !p.unknown }) || left <= 0 {
			break
		}
		t := time.NewTimer(min(interval, left))
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	res.After, res.Interrupted = time.Since(start), ctx.Err() != nil && len(todo) > 0
	for _, p := range todo {
		res.Missing = append(res.Missing, p.Missing)
	}
	slices.SortFunc(res.Missing, func(a, b Missing) int { return cmp.Compare(a.Window.Start, b.Window.Start) })
	return res
}

// expected is, for each installed window, what the Prometheus must serve:
// what it did before and the block's samples.
func (w *Watch) expected(installed []blocks.Block) []pending {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []pending
	for _, b := range installed {
		c, ok := w.before[b.Window]
		if !ok {
			continue // a window that wrote no sample
		}
		p := pending{Missing: Missing{Window: b.Window, Want: c.n + int64(b.Samples-b.Stale), Err: c.err}, expr: c.expr, unknown: c.err != nil}
		out = append(out, p)
	}
	return out
}

// poll asks the count of each pending window, or with untilFirst only up
// to the first not served as written, and returns those still not served.
func (w *Watch) poll(ctx context.Context, todo []pending, untilFirst bool) []pending {
	var still []pending
	asking := true
	for _, p := range todo {
		if asking && !p.unknown {
			p.Got, p.Err = w.ask(ctx, p.Window, p.expr)
			if p.Err == nil && p.Got == p.Want {
				continue
			}
			asking = !untilFirst
		}
		still = append(still, p)
	}
	return still
}
