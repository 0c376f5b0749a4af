package progress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/logattr"
)

// fakeSink refuses Done for the windows in failDone.
type fakeSink struct{ failDone map[int64]bool }

func (s fakeSink) Add(context.Context, extract.Window, []extract.Series) error { return nil }
func (s fakeSink) Done(_ context.Context, w extract.Window, _ []extract.Gap) error {
	if s.failDone[w.Start] {
		return errors.New("disk full")
	}
	return nil
}
func (s fakeSink) Discard(extract.Window) {}

// feed plays what extract.Run does to a sink: samples for every window, then
// Done, and Discard where Done fails or the window failed.
func feed(t *testing.T, sink extract.Sink, windows, failed int) {
	t.Helper()
	ctx := context.Background()
	series := []extract.Series{
		{Labels: labels.FromStrings("__name__", "up"), Samples: make([]extract.Sample, 3)},
		{Labels: labels.FromStrings("__name__", "down"), Samples: make([]extract.Sample, 2)},
	}
	for i := range windows {
		w := extract.Window{Start: int64(i) * extract.WindowMs, End: int64(i+1) * extract.WindowMs}
		if err := sink.Add(ctx, w, series); err != nil {
			t.Fatal(err)
		}
		if i < failed {
			sink.Discard(w)
			continue
		}
		if err := sink.Done(ctx, w, nil); err != nil {
			sink.Discard(w)
		}
	}
}

func TestProgressCounts(t *testing.T) {
	cases := []struct {
		name                      string
		windows, failed, doneFail int
		interrupted               bool // the run's context is cancelled before the windows come
		want                      snapshot
	}{
		{"all done", 4, 0, 0, false, snapshot{total: 4, windows: 4, samples: 20, finishedSamples: 20}},
		{"failed while fetching", 4, 1, 0, false, snapshot{total: 4, windows: 3, failed: 1, samples: 20, finishedSamples: 20}},
		{"failed to finish: counted once", 4, 0, 2, false, snapshot{total: 4, windows: 2, failed: 2, samples: 20, finishedSamples: 20}},
		{"discarded once interrupted: left undone, not failed", 4, 3, 0, true, snapshot{total: 4, windows: 1, samples: 20, finishedSamples: 5}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := NewConsole(io.Discard)
			r := c.Start(slog.New(slog.DiscardHandler), Options{Windows: tc.windows, Every: time.Hour})
			fail := map[int64]bool{}
			for i := tc.windows - tc.doneFail; i < tc.windows; i++ {
				fail[int64(i)*extract.WindowMs] = true
			}
			ctx, cancel := context.WithCancel(context.Background())
			if tc.interrupted {
				cancel()
			}
			defer cancel()
			feed(t, r.Wrap(ctx, fakeSink{failDone: fail}), tc.windows, tc.failed)
			r.Stop()
			got := r.snapshot()
			got.elapsed = 0
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestProgressPlain: not a terminal, progress is log records in the log's
// format, and the last one has the totals whatever the timing.
func TestProgressPlain(t *testing.T) {
	stats := func() Counters { return Counters{Requests: 7, Retries: 1, WireBytes: 3 << 20} }
	cases := []struct {
		name string
		o    Options
		run  func(t *testing.T, r *Run)
		want map[string]any // of the last record; nil: the field is absent
		text []string       // in the last record in the text format
		eta  bool
	}{
		{
			name: "windows known",
			o:    Options{Windows: 3, Stats: stats},
			run:  func(t *testing.T, r *Run) { feed(t, r.Wrap(context.Background(), fakeSink{}), 3, 1) },
			want: map[string]any{"windows": 2.0, "windows_total": 3.0, "failed": 1.0, "samples": 15.0, "requests": 7.0, "retries": 1.0,
				"received_bytes": float64(3 << 20), "read_bytes": nil},
			text: []string{" windows=2/3 failed=1 samples=15 rate=", ` requests=7 retries=1 received="3.0 MiB" elapsed=`},
		},
		{
			name: "input of known size, half read",
			o:    Options{Size: 100},
			run: func(t *testing.T, r *Run) {
				if _, err := io.ReadAll(r.Reader(strings.NewReader(strings.Repeat("x", 50)))); err != nil {
					t.Fatal(err)
				}
				feed(t, r.Wrap(context.Background(), fakeSink{}), 1, 0)
			},
			want: map[string]any{"windows": 1.0, "windows_total": nil, "read_bytes": 50.0, "read_total_bytes": 100.0, "samples": 5.0, "failed": nil, "requests": nil},
			text: []string{` windows=1 read="50.0 b of 100.0 b" samples=5 rate=`, " eta="},
			eta:  true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf, text bytes.Buffer
			c, ct := NewConsole(&buf), NewConsole(&text)
			tc.o.Every = time.Millisecond
			r := c.Start(slog.New(slog.NewJSONHandler(c, logattr.JSON(&slog.HandlerOptions{}))), tc.o)
			tc.run(t, r)
			r.Stop()
			r = ct.Start(slog.New(slog.NewTextHandler(ct, logattr.Text(&slog.HandlerOptions{}))), tc.o)
			tc.run(t, r)
			r.Stop()
			lines := strings.Split(strings.TrimSpace(text.String()), "\n")
			for _, want := range tc.text {
				if l := lines[len(lines)-1]; !strings.Contains(l, want) {
					t.Errorf("last text record %q lacks %q", l, want)
				}
			}

			var last map[string]any
			for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				if err := json.Unmarshal([]byte(l), &last); err != nil {
					t.Fatalf("not a JSON record: %q", l)
				}
				if last["msg"] != "progress" {
					t.Fatalf("not a progress record: %q", l)
				}
			}
			for k, v := range tc.want {
				if last[k] != v {
					t.Errorf("last record: %s = %v, want %v (%v)", k, last[k], v, last)
				}
			}
			if _, ok := last["eta_seconds"]; ok != tc.eta {
				t.Errorf("last record: eta present %v, want %v (%v)", ok, tc.eta, last)
			}
			if strings.Contains(buf.String(), "\x1b") {
				t.Errorf("escape codes in plain output: %q", buf.String())
			}
		})
	}
}

func TestProgressHidden(t *testing.T) {
	var buf bytes.Buffer
	c := NewConsole(&buf)
	r := c.Start(slog.New(slog.NewTextHandler(c, nil)), Options{Windows: 3, Every: time.Millisecond, Hide: true})
	sink := &fakeSink{}
	if got := r.Wrap(context.Background(), sink); got != extract.Sink(sink) {
		t.Errorf("hidden progress wraps the sink: %T", got)
	}
	r.Stop()
	if buf.Len() > 0 {
		t.Errorf("hidden progress wrote %q", buf.String())
	}
}

// TestProgressBarsOnTerminal draws on a real pseudo-terminal: a record
// logged while the bars are live whole on a line of its own, the final frame
// with the totals, and a record logged after Stop below it.
func TestProgressBarsOnTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("no pseudo-terminal (/dev/ptmx), which this test needs: %v", err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	read := make(chan string)
	go func() {
		var buf bytes.Buffer
		io.Copy(&buf, ptmx) // ends with EIO once tty is closed
		read <- buf.String()
	}()

	c := NewConsole(tty)
	log := slog.New(slog.NewTextHandler(c, nil))
	stats := func() Counters { return Counters{Requests: 4, WireBytes: 2048} }
	r := c.Start(log, Options{Windows: 2, Stats: stats})
	sink := r.Wrap(context.Background(), fakeSink{})
	feed(t, sink, 1, 0)
	log.Info("between the windows", "n", 1)
	feed(t, sink, 1, 0)
	r.Stop()
	log.Info("after the bars")
	tty.Close()
	out := <-read

	// Whether the bars were redrawn depends on the timing here; the command's
	// test holds the run until they are.
	for _, want := range []string{"windows", "2/2", "10, ", "4, 0 retries, 2.0 KiB received"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, out)
		}
	}
	// A record that follows a redraw comes after its escape codes.
	text := regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]").ReplaceAllString(out, "")
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for _, msg := range []string{`msg="between the windows" n=1`, `msg="after the bars"`} {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, "time=") && strings.HasSuffix(l, msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("no whole line logging %s:\n%q", msg, out)
		}
	}
	if !strings.HasSuffix(strings.TrimSpace(out), `msg="after the bars"`) {
		t.Errorf("the record after Stop is not below the bars:\n%q", out)
	}
}
