package extract

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
)

var t0 = time.Date(2025, 8, 3, 0, 0, 0, 0, time.UTC)

func TestNewPlan(t *testing.T) {
	h := func(x float64) time.Time { return t0.Add(time.Duration(x * float64(time.Hour))) }
	cases := []struct {
		name      string
		from, to  time.Time
		step      time.Duration
		match     []string
		windows   int
		firstUnit [2]time.Time // From, To of the first unit
		selectors []string
		errPart   string
	}{
		{name: "aligned", from: h(2), to: h(8), windows: 3, firstUnit: [2]time.Time{h(2), h(4)}, selectors: []string{AllSeries}},
		{name: "unaligned ends make partial windows", from: h(2.5), to: h(8.5), windows: 4, firstUnit: [2]time.Time{h(2.5), h(4)}, selectors: []string{AllSeries}},
		{name: "selectors in canonical form, repeats dropped", from: h(0), to: h(1), windows: 1, firstUnit: [2]time.Time{h(0), h(1)},
			match: []string{`up{job="a"}`, `{__name__="up", job="a"}`, `{job=~"b.*"}`}, selectors: []string{`up{job="a"}`, `{job=~"b.*"}`}},
		{name: "two matchers on the name stay in braces", from: h(0), to: h(1), windows: 1, firstUnit: [2]time.Time{h(0), h(1)},
			match: []string{`{__name__=~".+", __name__="up"}`}, selectors: []string{`{__name__="up",__name__=~".+"}`}},
		{name: "from after to", from: h(3), to: h(2), errPart: "must be before"},
		{name: "empty range", from: h(3), to: h(3), errPart: "must be before"},
		{name: "not a selector", from: h(0), to: h(1), match: []string{"rate(up[5m])"}, errPart: "not a series selector"},
		{name: "empty selector", from: h(0), to: h(1), match: []string{"{}"}, errPart: "has no matcher"},
		{name: "only empty matchers", from: h(0), to: h(1), match: []string{`{job=""}`}, errPart: "not a series selector"},
		{name: "step too fine for a window", from: h(0), to: h(1), step: 500 * time.Millisecond, errPart: "too fine"},
		{name: "sub-ms step", from: h(0), to: h(1), step: 1500 * time.Microsecond, errPart: "whole milliseconds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPlan(tc.from, tc.to, tc.step, tc.match)
			if tc.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("error = %v, want one containing %q", err, tc.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Windows) != tc.windows || !slices.Equal(p.Selectors, tc.selectors) {
				t.Fatalf("windows %v selectors %q", p.Windows, p.Selectors)
			}
			for _, w := range p.Windows {
				if w.Start%WindowMs != 0 || w.End-w.Start != WindowMs {
					t.Errorf("window %v is not an aligned 2h range", w)
				}
			}
			units := p.Units()
			if len(units) != tc.windows*len(tc.selectors) {
				t.Fatalf("%d units", len(units))
			}
			if u := units[0]; u.From != tc.firstUnit[0].UnixMilli() || u.To != tc.firstUnit[1].UnixMilli() {
				t.Errorf("first unit covers %d..%d", u.From, u.To)
			}
			if last := units[len(units)-1]; last.To != p.To {
				t.Errorf("last unit ends at %d, plan at %d", last.To, p.To)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	stale := math.Float64frombits(value.StaleNaN)
	cases := []struct {
		name      string
		in, want  []Sample
		conflicts int
	}{
		{"trims to [mint, maxt)", []Sample{{9, 1}, {10, 2}, {19, 3}, {20, 4}}, []Sample{{10, 2}, {19, 3}}, 0},
		{"sorts", []Sample{{12, 2}, {11, 1}}, []Sample{{11, 1}, {12, 2}}, 0},
		{"equal repeats are one sample", []Sample{{11, 1}, {11, 1}, {12, math.NaN()}, {12, math.NaN()}}, []Sample{{11, 1}, {12, math.NaN()}}, 0},
		{"different repeats are conflicts, the first is kept", []Sample{{11, 1}, {11, 2}, {12, math.NaN()}, {12, stale}}, []Sample{{11, 1}, {12, math.NaN()}}, 2},
	}
	for _, tc := range cases {
		s := Series{Samples: slices.Clone(tc.in)}
		c := s.Normalize(10, 20)
		if c != tc.conflicts || len(s.Samples) != len(tc.want) {
			t.Fatalf("%s: %v, %d conflicts", tc.name, s.Samples, c)
		}
		for i := range s.Samples {
			if s.Samples[i].T != tc.want[i].T || !sameValue(s.Samples[i].V, tc.want[i].V) {
				t.Fatalf("%s: %v", tc.name, s.Samples)
			}
		}
	}
}

// fakeSource answers every unit with one series per selector (of floats,
// or of histograms for selector b), or with the error chosen for its window.
type fakeSource struct {
	fail map[int64]error // by window start
}

func (f *fakeSource) Stream(ctx context.Context, u Unit, add func([]Series) error) error {
	if err := f.fail[u.Window.Start]; err != nil {
		return err
	}
	s := Series{Labels: labels.FromStrings("__name__", "m", "sel", u.Selector)}
	if u.Selector == "b" {
		// A series of histograms only is kept and counted like any other.
		s.Histograms = []HistogramSample{hist(u.From-1, 0), hist(u.From, 1), fhist(u.To-1, 2), hist(u.To, 3)}
	} else {
		s.Samples = []Sample{{u.From - 1, 0}, {u.From, 1}, {u.To - 1, 2}, {u.To, 3}}
	}
	return add([]Series{s})
}

type recordingSink struct {
	mu        sync.Mutex
	added     map[Window]int
	done      []Window
	discarded []Window
}

func (r *recordingSink) Add(_ context.Context, w Window, s []Series) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range s {
		r.added[w] += x.Len()
	}
	return nil
}

func (r *recordingSink) Done(_ context.Context, w Window, _ []Gap) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = append(r.done, w)
	return nil
}

func (r *recordingSink) Discard(w Window) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.discarded = append(r.discarded, w)
}

func TestRunAccountsForEveryWindow(t *testing.T) {
	p, err := NewPlan(t0, t0.Add(8*time.Hour), 0, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	w := func(i int) int64 { return p.Windows[i].Start }
	cases := []struct {
		name            string
		fail            map[int64]error
		done, discarded int
		abort           bool
	}{
		{name: "all fetched", done: 4},
		{name: "a failed window is discarded whole, the others finish", fail: map[int64]error{w(1): errors.New("boom")}, done: 3, discarded: 1},
		{name: "an abort stops the run and every window is accounted for", fail: map[int64]error{w(0): &AbortError{Err: errors.New("401")}}, abort: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sink := &recordingSink{added: map[Window]int{}}
			res, err := Run(context.Background(), p, &fakeSource{fail: tc.fail}, sink, 1, slog.New(slog.DiscardHandler))
			if (err != nil) != tc.abort {
				t.Fatalf("err = %v", err)
			}
			if len(res.Windows) != len(p.Windows) {
				t.Fatalf("%d window results for %d windows", len(res.Windows), len(p.Windows))
			}
			if tc.abort {
				if len(res.Failed()) != len(p.Windows) || len(sink.done) != 0 {
					t.Fatalf("failed %d, done %d", len(res.Failed()), len(sink.done))
				}
				return
			}
			if len(sink.done) != tc.done || len(sink.discarded) != tc.discarded || len(res.Failed()) != tc.discarded {
				t.Fatalf("done %d discarded %d failed %d", len(sink.done), len(sink.discarded), len(res.Failed()))
			}
			// Each unit's two samples inside [From, To) reach the sink; the
			// ones outside are trimmed.
			for _, d := range sink.done {
				if sink.added[d] != 2*len(p.Selectors) {
					t.Errorf("window %v got %d samples", d, sink.added[d])
				}
			}
			if series, samples := res.Totals(); series != tc.done*2 || samples != int64(tc.done*4) || res.DistinctSeries != 2 {
				t.Errorf("totals %d series %d samples, %d distinct", series, samples, res.DistinctSeries)
			}
		})
	}
}

// fullSink fails Done for every window as a full disk does: with an abort.
type fullSink struct{ recordingSink }

func (f *fullSink) Done(context.Context, Window, []Gap) error {
	return &AbortError{Err: errors.New("no space left on device")}
}

// countingSource counts the units it is asked for.
type countingSource struct {
	fakeSource
	units atomic.Int64
}

func (c *countingSource) Stream(ctx context.Context, u Unit, add func([]Series) error) error {
	c.units.Add(1)
	return c.fakeSource.Stream(ctx, u, add)
}

// TestRunStopsWhenTheSinkAborts: a sink that cannot install a window, and
// would fail every other one the same way, stops the run: nothing is fetched
// after it, and every window is accounted for.
func TestRunStopsWhenTheSinkAborts(t *testing.T) {
	p, err := NewPlan(t0, t0.Add(8*time.Hour), 0, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	src := &countingSource{}
	sink := &fullSink{recordingSink{added: map[Window]int{}}}
	res, err := Run(context.Background(), p, src, sink, 1, slog.New(slog.DiscardHandler))
	var ae *AbortError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want the sink's abort", err)
	}
	if n := src.units.Load(); n != int64(len(p.Selectors)) {
		t.Errorf("%d units fetched, want the first window's %d only", n, len(p.Selectors))
	}
	if len(res.Failed()) != len(p.Windows) || res.Recovered() != 0 {
		t.Errorf("%d windows failed and %d recovered of %d", len(res.Failed()), res.Recovered(), len(p.Windows))
	}
}

func TestCompare(t *testing.T) {
	a := labels.FromStrings("__name__", "a")
	b := labels.FromStrings("__name__", "b")
	want := []Series{{Labels: a, Samples: []Sample{{1, 1}, {2, math.NaN()}}}, {Labels: b, Samples: []Sample{{1, math.Inf(1)}}}}
	cases := []struct {
		name    string
		got     []Series
		errPart string
	}{
		{"equal in another order", []Series{want[1], want[0]}, ""},
		{"missing series", want[:1], "missing"},
		{"extra series", append(slices.Clone(want), Series{Labels: labels.FromStrings("__name__", "c")}), "not in the source"},
		{"missing sample", []Series{{Labels: a, Samples: []Sample{{1, 1}}}, want[1]}, "missing"},
		{"other value", []Series{{Labels: a, Samples: []Sample{{1, 1}, {2, 0}}}, want[1]}, "want"},
	}
	for _, tc := range cases {
		err := Compare(want, tc.got)
		if (err == nil) != (tc.errPart == "") || (err != nil && !strings.Contains(err.Error(), tc.errPart)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if got := Clip(want, 2, 3); len(got) != 1 || got[0].Samples[0].T != 2 {
		t.Errorf("Clip = %v", got)
	}
	if n := CountSamples(want); n != 3 {
		t.Errorf("CountSamples = %d", n)
	}
}

// cancelSource cancels the run while it fetches the window starting at at,
// as Ctrl-C does, and fails that fetch with the cancelling.
type cancelSource struct {
	fakeSource
	at     int64
	cancel context.CancelFunc
}

func (c *cancelSource) Stream(ctx context.Context, u Unit, add func([]Series) error) error {
	if u.Window.Start == c.at {
		c.cancel()
		return ctx.Err()
	}
	return c.fakeSource.Stream(ctx, u, add)
}

// TestRunInterrupted: the windows a cancelled context cuts short or leaves
// unfetched are Interrupted, not Failed; a window that failed before is
// still Failed.
func TestRunInterrupted(t *testing.T) {
	p, err := NewPlan(t0, t0.Add(8*time.Hour), 0, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := &cancelSource{fakeSource: fakeSource{fail: map[int64]error{p.Windows[0].Start: errors.New("boom")}}, at: p.Windows[2].Start, cancel: cancel}
	sink := &recordingSink{added: map[Window]int{}}
	res, err := Run(ctx, p, src, sink, 1, slog.New(slog.DiscardHandler))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the cancelling", err)
	}
	want := []bool{false, false, true, true} // by window: Interrupted
	for i, w := range res.Windows {
		if w.Interrupted != want[i] || (w.Err == nil) != (i == 1) {
			t.Errorf("window %d: interrupted %v err %v, want interrupted %v", i, w.Interrupted, w.Err, want[i])
		}
	}
	if f := res.Failed(); len(f) != 1 || f[0].Window != p.Windows[0] || res.Recovered() != 1 || res.Interrupted() != 2 {
		t.Errorf("failed %v, recovered %d, interrupted %d; want window 0, 1, 2", f, res.Recovered(), res.Interrupted())
	}
	if len(sink.done) != 1 || len(sink.discarded) != 3 {
		t.Errorf("done %d, discarded %d; want 1, 3", len(sink.done), len(sink.discarded))
	}
}
