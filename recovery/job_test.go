package recovery

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/relabel"
	"github.com/promrecover/promrecover/extract/state"
	"github.com/promrecover/promrecover/internal/seriestest"
)

// from and now place the test plan's two windows well before the head.
var (
	from = time.Date(2025, 8, 3, 2, 0, 0, 0, time.UTC)
	now  = from.Add(24 * time.Hour)
)

// fakeSource serves the same series for every selector; fail fails the
// units of the windows starting at the given times.
type fakeSource struct {
	series  []extract.Series
	fail    map[int64]error
	sharded []string // what Shard returns; nil: the selectors as they are
}

func (f *fakeSource) Stream(_ context.Context, u extract.Unit, add func([]extract.Series) error) error {
	if err := f.fail[u.Window.Start]; err != nil {
		return err
	}
	return add(extract.Clip(f.series, u.From, u.To))
}

func (f *fakeSource) Shard(_ context.Context, selectors []string, _, _ int64, _ int) ([]string, int) {
	if f.sharded != nil {
		return f.sharded, -1
	}
	return selectors, -1
}

// scraped is one series per label set, scraped every 15s over the plan.
func scraped(sets ...labels.Labels) *fakeSource {
	src := &fakeSource{}
	for _, ls := range sets {
		src.series = append(src.series, seriestest.Scraped(ls, from, from.Add(4*time.Hour), func(int64) float64 { return 1 }))
	}
	return src
}

func up(job string) labels.Labels { return labels.FromStrings("__name__", "up", "job", job) }

// newJob recovers [from, from+4h) of up from src into dir, logging into log.
func newJob(t *testing.T, dir string, src *fakeSource, log *bytes.Buffer) *Job {
	t.Helper()
	plan, err := extract.NewPlan(from, from.Add(4*time.Hour), 0, []string{"up"})
	if err != nil {
		t.Fatal(err)
	}
	return &Job{
		Plan: plan,
		Connect: func(context.Context) (Conn, error) {
			return Conn{Source: src, Origin: Origin{Name: "fake", UID: "f1", Via: "test"}}, nil
		},
		Out:         dir,
		State:       StateOptions{URL: "http://grafana.test", Datasource: "fake"},
		Concurrency: 2,
		Now:         now,
		Log:         slog.New(slog.NewTextHandler(log, nil)),
	}
}

func TestRunResumes(t *testing.T) {
	second := from.Add(2 * time.Hour).UnixMilli()
	tests := []struct {
		name    string
		first   *fakeSource // the earlier run; nil for none
		between func(t *testing.T, dir string, o *Outcome)
		then    *fakeSource
		// What the second run ends as, how many windows it skips and
		// fetches, and what it logs.
		status           Status
		earlier, fetched int
		log              string
	}{
		{name: "a first run recovers every window", then: scraped(up("a")), status: Complete, fetched: 2},
		{name: "a failed window is all the next run fetches",
			first:  &fakeSource{series: scraped(up("a")).series, fail: map[int64]error{second: errors.New("HTTP 502")}},
			then:   scraped(up("a")),
			status: Complete, earlier: 1, fetched: 1, log: "resuming: windows recovered by an earlier run are skipped"},
		{name: "a recorded block that is gone is fetched again",
			first: &fakeSource{series: scraped(up("a")).series, fail: map[int64]error{second: errors.New("HTTP 502")}},
			between: func(t *testing.T, dir string, o *Outcome) {
				if err := os.RemoveAll(filepath.Join(dir, o.Installed[0].ULID)); err != nil {
					t.Fatal(err)
				}
			},
			then:   scraped(up("a")),
			status: Complete, fetched: 2, log: "a block recorded by an earlier run is not in the output directory"},
		{name: "a window still failing leaves the run incomplete",
			then:   &fakeSource{series: scraped(up("a")).series, fail: map[int64]error{second: errors.New("HTTP 502")}},
			status: Incomplete, fetched: 2},
		{name: "nothing matched", then: &fakeSource{}, status: Empty, fetched: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var log bytes.Buffer
			if tt.first != nil {
				o, err := newJob(t, dir, tt.first, &log).Run(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if tt.between != nil {
					tt.between(t, dir, o)
				}
				log.Reset()
			}
			o, err := newJob(t, dir, tt.then, &log).Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := o.Status(); got != tt.status {
				t.Errorf("status %d, want %d", got, tt.status)
			}
			if len(o.Earlier) != tt.earlier || len(o.Result.Windows) != tt.fetched {
				t.Errorf("%d windows skipped and %d fetched, want %d and %d", len(o.Earlier), len(o.Result.Windows), tt.earlier, tt.fetched)
			}
			if o.State != filepath.Join(dir, blocks.StateFileName) || o.Origin.Name != "fake" {
				t.Errorf("state %q, origin %+v", o.State, o.Origin)
			}
			if !strings.Contains(log.String(), tt.log) {
				t.Errorf("the log lacks %q:\n%s", tt.log, log.String())
			}
			if got, want := o.Recovered(), tt.earlier+tt.fetched-len(o.Result.Failed()); got != want {
				t.Errorf("recovered %d, want %d", got, want)
			}
			// A run that left windows undone keeps its state for the
			// same plan; a complete one, or one that wrote nothing,
			// lets a recovery of another plan take it over.
			other := newJob(t, dir, tt.then, &log)
			other.Plan.Selectors = []string{"down"}
			_, err = other.openState()
			if keeps := tt.status == Incomplete; (err != nil) != keeps {
				t.Errorf("another plan opens the state: %v; the run left windows undone: %v", err, keeps)
			}
		})
	}
}

func TestRunStopsBeforeConnectingOnAStateOfAnotherPlan(t *testing.T) {
	dir := t.TempDir()
	var log bytes.Buffer
	failing := &fakeSource{series: scraped(up("a")).series, fail: map[int64]error{from.UnixMilli(): errors.New("HTTP 502")}}
	if _, err := newJob(t, dir, failing, &log).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	j := newJob(t, dir, scraped(up("a")), &log)
	j.Plan.Selectors = []string{"down"}
	j.Connect = func(context.Context) (Conn, error) {
		t.Error("connected although the state does not fit")
		return Conn{}, errors.New("not reached")
	}
	o, err := j.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "is for another recovery") {
		t.Errorf("error %v", err)
	}
	if o == nil || o.Result != nil {
		t.Errorf("outcome %+v", o)
	}
	j.State.Restart = true
	j.Connect = newJob(t, dir, scraped(up("a")), &log).Connect
	if o, err := j.Run(context.Background()); err != nil || o.Status() != Complete {
		t.Errorf("with a restart: %v, %+v", err, o)
	}
}

func TestRunIntoAnotherSinkKeepsNoState(t *testing.T) {
	dir := t.TempDir()
	var log bytes.Buffer
	sink := &countingSink{}
	src := scraped(up("a"), up("b"))
	src.sharded = []string{`up{job="a"}`, `up{job!="a"}`}
	j := newJob(t, dir, src, &log)
	j.Sink, j.MaxSeries = sink, 1
	o, err := j.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if o.State != "" || len(o.Installed) > 0 || o.Status() != Complete {
		t.Errorf("outcome %+v", o)
	}
	// Two windows of two shards, each shard served both series.
	if adds, done := sink.adds.Load(), sink.done.Load(); adds != 4 || done != 2 {
		t.Errorf("%d adds and %d windows done, want 4 and 2", adds, done)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) > 0 {
		t.Errorf("wrote into --out: %v %v", entries, err)
	}
	if strings.Contains(log.String(), "recovering") {
		t.Errorf("an export logs as a recovery:\n%s", log.String())
	}
}

// countingSink counts the calls; Add is called concurrently, as a Sink's
// contract allows.
type countingSink struct{ adds, done atomic.Int64 }

func (s *countingSink) Add(context.Context, extract.Window, []extract.Series) error {
	s.adds.Add(1)
	return nil
}
func (s *countingSink) Done(context.Context, extract.Window, []extract.Gap) error {
	s.done.Add(1)
	return nil
}
func (s *countingSink) Discard(extract.Window) {}

func TestOutcomeStatus(t *testing.T) {
	w0 := extract.Window{Start: 0, End: extract.WindowMs}
	ok := extract.WindowResult{Window: w0, Samples: 3}
	failed := extract.WindowResult{Window: extract.Window{Start: extract.WindowMs, End: 2 * extract.WindowMs}, Err: errors.New("refused")}
	cut := extract.WindowResult{Window: failed.Window, Err: context.Canceled, Interrupted: true}
	collision := extract.WindowResult{Window: w0, Err: &relabel.CollisionError{}}
	tests := []struct {
		name     string
		o        Outcome
		status   Status
		gaps     int
		collided bool
		partial  bool // some of the plan recovered, not all
	}{
		{"complete", Outcome{Result: &extract.Result{Windows: []extract.WindowResult{ok}}}, Complete, 0, false, false},
		{"all done earlier", Outcome{Result: &extract.Result{}, Earlier: []state.Window{{Start: 0}}}, Complete, 0, false, false},
		{"empty", Outcome{Result: &extract.Result{Windows: []extract.WindowResult{{Window: w0}}}}, Empty, 0, false, false},
		{"interrupted", Outcome{Result: &extract.Result{}, Err: context.Canceled}, Interrupted, 0, false, false},
		{"interrupted after a window", Outcome{Result: &extract.Result{Windows: []extract.WindowResult{ok, cut}}, Err: context.Canceled}, Interrupted, 0, false, true},
		{"interrupted after an earlier run", Outcome{Result: &extract.Result{Windows: []extract.WindowResult{cut}}, Earlier: []state.Window{{Start: 0}}, Err: context.Canceled}, Interrupted, 0, false, true},
		{"a gap of an earlier run", Outcome{Result: &extract.Result{Windows: []extract.WindowResult{ok}}, Earlier: []state.Window{{Gaps: []extract.Gap{{}}}}}, Incomplete, 1, false, true},
		{"a gap of this run", Outcome{Result: &extract.Result{Windows: []extract.WindowResult{{Window: w0, Samples: 1, Gaps: []extract.Gap{{}, {}}}}}}, Incomplete, 2, false, true},
		{"a window of two failed", Outcome{Result: &extract.Result{Windows: []extract.WindowResult{ok, failed}}}, Incomplete, 0, false, true},
		{"every window failed", Outcome{Result: &extract.Result{Windows: []extract.WindowResult{failed}}}, Incomplete, 0, false, false},
		{"stopped", Outcome{Result: &extract.Result{Windows: []extract.WindowResult{ok}}, Err: errors.New("refused")}, Incomplete, 0, false, true},
		{"merged series", Outcome{Result: &extract.Result{Windows: []extract.WindowResult{collision}}}, Incomplete, 0, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.o.Status(); got != tt.status {
				t.Errorf("status %d, want %d", got, tt.status)
			}
			if got := tt.o.Gaps(); got != tt.gaps {
				t.Errorf("gaps %d, want %d", got, tt.gaps)
			}
			if got := tt.o.Collided(); got != tt.collided {
				t.Errorf("collided %v, want %v", got, tt.collided)
			}
			if got := tt.o.Partial(); got != tt.partial {
				t.Errorf("partial %v, want %v", got, tt.partial)
			}
		})
	}
}

// TestStateKeyedByTheUIDConnected: a job not told its datasource keys the
// resume state by the uid it connects to, so that a job naming that uid
// resumes it, and so does one told nothing again.
func TestStateKeyedByTheUIDConnected(t *testing.T) {
	dir := t.TempDir()
	var log bytes.Buffer
	first := newJob(t, dir, &fakeSource{series: scraped(up("a")).series, fail: map[int64]error{from.UnixMilli(): errors.New("HTTP 502")}}, &log)
	first.State.Datasource = ""
	if _, err := first.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, ds := range []string{"f1", ""} {
		j := newJob(t, dir, nil, &log)
		j.State.Datasource = ds
		d, err := j.EarlierDone(context.Background())
		if err != nil || len(d.Windows) != 1 {
			t.Errorf("datasource %q: %v, %+v", ds, err, d)
		}
	}
}

// A data directory takes a range that ends by the time of the run and its
// skew; a later end is refused before anything is opened, naming the fix.
func TestRunRefusesAFutureEnd(t *testing.T) {
	now := time.Date(2025, 8, 1, 11, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		ahead time.Duration
		want  time.Duration // Ahead
	}{{0, 0}, {blocks.MaxSkew, 0}, {blocks.MaxSkew + time.Second, blocks.MaxSkew + time.Second}, {105 * time.Minute, 105 * time.Minute}} {
		p := &extract.Plan{From: now.Add(-time.Hour).UnixMilli(), To: now.Add(tc.ahead).UnixMilli()}
		out := t.TempDir()
		j := &Job{Plan: p, Now: now, Out: out}
		if got := j.Ahead(); got != tc.want {
			t.Errorf("Ahead(%s) = %s, want %s", tc.ahead, got, tc.want)
		}
		if tc.want == 0 {
			continue
		}
		_, err := j.Run(context.Background())
		var pe *extract.ParamError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "after the time of the run") {
			t.Errorf("%s ahead: err = %v, want a ParamError", tc.ahead, err)
		}
		if entries, _ := os.ReadDir(out); len(entries) > 0 {
			t.Errorf("%s ahead: the refused run left %d entries", tc.ahead, len(entries))
		}
	}
}
