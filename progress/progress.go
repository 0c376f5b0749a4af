// Package progress shows how far a run has got: live bars when stderr is a
// terminal, one plain log record every few seconds when it is not.
//
// The bars are drawn by github.com/vbauerster/mpb/v8 rather than
// github.com/schollz/progressbar/v3: mpb draws several bars at once, and its
// Progress is an io.Writer that prints what is written to it above the bars,
// so log records that arrive while the bars are live neither tear them nor
// get overwritten; progressbar draws a single bar and leaves any other output
// to tear it. mpb redraws only when its output is a terminal, and it is used
// only then; a pipe or a file gets log records, which --log-format shapes
// like every other record.
package progress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/logattr"
)

// barRefresh is how often the bars are redrawn: often enough to look live,
// seldom enough to cost nothing next to the fetching.
const barRefresh = 150 * time.Millisecond

// DefaultEvery is how often a plain record is logged: often enough to show a
// run is alive, seldom enough not to flood a CI log.
const DefaultEvery = 5 * time.Second

// Options describe what to show of one run.
type Options struct {
	Windows int             // windows the run fetches; 0 when not known ahead, as in an import
	Samples int64           // samples the run is expected to fetch; 0 when not estimated
	Size    int64           // bytes of the input read through Reader, when known ahead
	Stats   func() Counters // the source's counters; nil when there is no client
	Every   time.Duration   // between plain records when stderr is not a terminal; 0: DefaultEvery
	Hide    bool            // show nothing (asked to be quiet)
}

// Counters are what a source's client has done over the wire so far: every
// source that talks HTTP keeps them, whatever its API.
type Counters struct {
	Requests, Retries, WireBytes int64 // WireBytes: the answers as received (compressed)
}

// Console is stderr, shared by log records and progress. Log handlers write
// to it; while bars are drawn it hands what they write to the bars, which
// print it above themselves.
type Console struct {
	out      io.Writer
	terminal bool

	mu   sync.Mutex
	bars *mpb.Progress // while bars are drawn
}

// NewConsole wraps stderr; progress is drawn as bars only if it is a
// terminal that can move its cursor, which TERM=dumb (an editor's shell
// buffer, for one) says it cannot.
func NewConsole(stderr io.Writer) *Console {
	f, ok := stderr.(*os.File)
	return &Console{out: stderr, terminal: ok && term.IsTerminal(int(f.Fd())) && os.Getenv("TERM") != "dumb"}
}

// Write writes one log record, above the bars while they are drawn (at
// their next redraw, at most barRefresh later).
func (c *Console) Write(b []byte) (int, error) {
	c.mu.Lock()
	bars := c.bars
	c.mu.Unlock()
	if bars != nil {
		// ErrDone: the bars finished between the check and the write.
		if n, err := bars.Write(b); !errors.Is(err, mpb.ErrDone) {
			return n, err
		}
	}
	return c.out.Write(b)
}

// Run counts what one run has done and shows it until Stop.
type Run struct {
	o     Options
	start time.Time
	// Written by the sink wrapper, read by the display: one atomic add per
	// call, never per sample. finishedSamples are those of the windows
	// finished, either way.
	windows, failed, samples, finishedSamples, read atomic.Int64
	quit, done                                      chan struct{} // nil when nothing is shown

	mu       sync.Mutex
	inFlight map[int64]int64 // samples of the windows not finished yet, by start
}

// Start begins showing a run: bars on a terminal, otherwise a record on log
// every o.Every and one at Stop, so even a short run leaves its totals.
func (c *Console) Start(log *slog.Logger, o Options) *Run {
	r := &Run{o: o, start: time.Now(), inFlight: map[int64]int64{}}
	if o.Hide {
		return r
	}
	var d display = plain{log}
	every := o.Every
	if every <= 0 {
		every = DefaultEvery
	}
	if c.terminal {
		d, every = c.newBars(r), barRefresh
	}
	r.quit, r.done = make(chan struct{}), make(chan struct{})
	go r.loop(d, every)
	return r
}

// Wrap counts what reaches sink from a run that ctx stops. Nothing is
// counted when nothing is shown.
func (r *Run) Wrap(ctx context.Context, sink extract.Sink) extract.Sink {
	if r.quit == nil {
		return sink
	}
	return &counter{ctx: ctx, next: sink, r: r}
}

// Reader counts what is read from in, an input of Options.Size bytes.
func (r *Run) Reader(in io.Reader) io.Reader {
	if r.quit == nil {
		return in
	}
	return &reader{in: in, r: r}
}

type reader struct {
	in io.Reader
	r  *Run
}

func (c *reader) Read(b []byte) (int, error) {
	n, err := c.in.Read(b)
	c.r.read.Add(int64(n))
	return n, err
}

// Stop shows the final state and returns once the display is finished, so
// that what is printed next comes below it.
func (r *Run) Stop() {
	if r.quit == nil {
		return
	}
	close(r.quit)
	<-r.done
}

func (r *Run) loop(d display, every time.Duration) {
	defer close(r.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			d.update(r.snapshot())
		case <-r.quit:
			d.end(r.snapshot())
			return
		}
	}
}

func (r *Run) snapshot() snapshot {
	s := snapshot{total: int64(r.o.Windows), windows: r.windows.Load(), failed: r.failed.Load(), samples: r.samples.Load(),
		finishedSamples: r.finishedSamples.Load(), expected: r.o.Samples, read: r.read.Load(), size: r.o.Size, elapsed: time.Since(r.start)}
	if r.o.Stats != nil {
		st := r.o.Stats()
		s.stats = &st
	}
	return s
}

// counter is the sink wrapper that feeds a Run.
type counter struct {
	ctx  context.Context // the run's: once it is cancelled, windows discarded are left undone, not failed
	next extract.Sink
	r    *Run
}

func (c *counter) Add(ctx context.Context, w extract.Window, series []extract.Series) error {
	// Counted before next sees them: a filter may trim them in place.
	n := extract.CountSamples(series)
	if err := c.next.Add(ctx, w, series); err != nil {
		return err
	}
	c.r.samples.Add(n)
	c.r.mu.Lock()
	c.r.inFlight[w.Start] += n
	c.r.mu.Unlock()
	return nil
}

// finish moves the samples of w to those of the windows finished.
func (r *Run) finish(w extract.Window) {
	r.mu.Lock()
	n := r.inFlight[w.Start]
	delete(r.inFlight, w.Start)
	r.mu.Unlock()
	r.finishedSamples.Add(n)
}

func (c *counter) Done(ctx context.Context, w extract.Window, gaps []extract.Gap) error {
	// A failed Done is followed by Discard, which counts the window.
	if err := c.next.Done(ctx, w, gaps); err != nil {
		return err
	}
	c.r.finish(w)
	c.r.windows.Add(1)
	return nil
}

func (c *counter) Discard(w extract.Window) {
	c.next.Discard(w)
	if c.ctx.Err() == nil {
		c.r.finish(w)
		c.r.failed.Add(1)
	}
}

// snapshot is a Run's counts at one moment.
type snapshot struct {
	total, windows, failed, samples int64
	finishedSamples                 int64 // of the windows finished
	expected                        int64 // samples, as estimated ahead; 0: not
	read, size                      int64 // bytes of the input
	elapsed                         time.Duration
	stats                           *Counters // nil without a client
}

// finished counts windows done either way, which is what the ETA goes by.
func (s snapshot) finished() int64 { return s.windows + s.failed }

func (s snapshot) windowsText() string {
	if s.total > 0 {
		return fmt.Sprintf("%d/%d", s.windows, s.total)
	}
	return fmt.Sprint(s.windows)
}

func (s snapshot) rate() string { return fmt.Sprintf("%.0f/s", s.perSecond()) }

// perSecond is the samples received a second.
func (s snapshot) perSecond() float64 { return float64(s.samples) / max(s.elapsed.Seconds(), 1e-3) }

// fraction is how much of the run is done, by samples rather than whole
// windows, which finish in batches: the samples received of those expected
// when they were estimated ahead (and are not yet exceeded), else of the
// total the windows finished foretell (their samples per window times all
// the windows); else the input read when its size is known.
func (s snapshot) fraction() float64 {
	switch {
	case s.total > 0 && s.finished() >= s.total:
		return 1
	case s.expected > 0 && s.samples < s.expected:
		return float64(s.samples) / float64(s.expected)
	case s.total > 0 && s.finishedSamples > 0:
		return float64(s.samples) / (float64(s.finishedSamples) / float64(s.finished()) * float64(s.total))
	case s.total > 0:
		// Windows without samples foretell none: go by windows.
		return float64(s.finished()) / float64(s.total)
	case s.size > 0:
		return float64(s.read) / float64(s.size)
	}
	return 0
}

// eta assumes the rest goes as fast as what is done went: at a steady rate
// it only falls.
func (s snapshot) eta() (time.Duration, bool) {
	f := s.fraction()
	if f <= 0 || f >= 1 {
		return 0, false
	}
	return time.Duration(float64(s.elapsed) * (1 - f) / f), true
}

func (s snapshot) etaText() (string, bool) {
	left, ok := s.eta()
	return left.Round(time.Second).String(), ok
}

func (s snapshot) readText() string {
	return fmt.Sprintf("% .1f of % .1f", decor.SizeB1024(s.read), decor.SizeB1024(s.size))
}

func received(st *Counters) string { return fmt.Sprintf("% .1f", decor.SizeB1024(st.WireBytes)) }

// display is how a Run is shown.
type display interface {
	update(snapshot)
	end(snapshot)
}

// plain logs one record per update, for a pipe or a file.
type plain struct{ log *slog.Logger }

func (p plain) update(s snapshot) {
	var attrs []any
	if s.total > 0 {
		attrs = append(attrs, "windows", logattr.Of(s.windows, s.total))
	} else {
		attrs = append(attrs, "windows", s.windows)
	}
	if s.size > 0 {
		attrs = append(attrs, "read", logattr.New(s.readText(), logattr.Num("_bytes", s.read), logattr.Num("_total_bytes", s.size)))
	}
	if s.failed > 0 {
		attrs = append(attrs, "failed", s.failed)
	}
	attrs = append(attrs, "samples", s.samples, "rate", logattr.New(s.rate(), logattr.Num("_samples_per_second", s.perSecond())))
	if s.stats != nil {
		attrs = append(attrs, "requests", s.stats.Requests, "retries", s.stats.Retries, "received", logattr.New(received(s.stats), logattr.Num("_bytes", s.stats.WireBytes)))
	}
	attrs = append(attrs, "elapsed", s.elapsed.Round(time.Second))
	if eta, ok := s.eta(); ok {
		attrs = append(attrs, "eta", eta.Round(time.Second))
	}
	p.log.Info("progress", attrs...)
}

func (p plain) end(s snapshot) { p.update(s) }

// bars draws live bars on a terminal.
type bars struct {
	c        *Console
	p        *mpb.Progress
	measured *mpb.Bar // the line with the bar of the fraction done, if any
	all      []*mpb.Bar
}

// barSteps is the resolution of the bar of the fraction done.
const barSteps = 1000

func (c *Console) newBars(r *Run) *bars {
	p := mpb.New(mpb.WithOutput(c.out), mpb.WithRefreshRate(barRefresh), mpb.WithWidth(40))
	text := func(f func(snapshot) string) mpb.BarOption {
		return mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return f(r.snapshot()) }))
	}
	// Names padded to the longest, so that the counts line up.
	name := func(n string) decor.Decorator { return decor.Name(n, decor.WC{C: decor.DSyncWidthR}) }
	b := &bars{c: c, p: p}
	// measure is true for the one line that gets the bar and the ETA: the
	// windows when their number is known, else the input when its size is.
	add := func(n string, measure bool, f func(snapshot) string) {
		style, total, show := mpb.NopStyle(), int64(0), f
		if measure {
			style, total = mpb.BarStyle(), barSteps
			show = func(s snapshot) string {
				if eta, ok := s.etaText(); ok {
					return f(s) + ", ETA " + eta
				}
				return f(s)
			}
		}
		bar := p.New(total, style, mpb.PrependDecorators(name(n)), text(show))
		if measure {
			b.measured = bar
		}
		b.all = append(b.all, bar)
	}
	add("windows", r.o.Windows > 0, func(s snapshot) string {
		if s.failed > 0 {
			return fmt.Sprintf("%s, %d failed", s.windowsText(), s.failed)
		}
		return s.windowsText()
	})
	if r.o.Size > 0 {
		add("input", r.o.Windows == 0, snapshot.readText)
	}
	add("samples", false, func(s snapshot) string { return fmt.Sprintf("%d, %s", s.samples, s.rate()) })
	if r.o.Stats != nil {
		add("requests", false, func(s snapshot) string {
			return fmt.Sprintf("%d, %d retries, %s received", s.stats.Requests, s.stats.Retries, received(s.stats))
		})
	}
	c.mu.Lock()
	c.bars = p
	c.mu.Unlock()
	return b
}

func (b *bars) update(s snapshot) {
	if b.measured != nil {
		b.measured.SetCurrent(int64(s.fraction() * barSteps))
	}
}

// end draws the final state and leaves it on the screen, then gives stderr
// back to log records.
func (b *bars) end(s snapshot) {
	b.update(s)
	for _, bar := range b.all {
		bar.Abort(false) // a no-op on a full bar
	}
	b.p.Wait()
	b.c.mu.Lock()
	b.c.bars = nil
	b.c.mu.Unlock()
}
