package recovery

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/relabel"
	"github.com/promrecover/promrecover/extract/split"
	"github.com/promrecover/promrecover/extract/state"
	"github.com/promrecover/promrecover/internal/seriestest"
)

// batchSource is a fakeSource that carries several selectors a request.
type batchSource struct{ fakeSource }

func (b *batchSource) StreamBatch(context.Context, []extract.Unit, func(int, []extract.Series) error) []error {
	return nil
}
func (b *batchSource) MaxBatch() int { return 8 }

// censusOf counts sets; withSets says whether the API gives them.
func censusOf(sets []labels.Labels, withSets bool, err error) func(context.Context, []string, int64, int64) (*Census, error) {
	return func(context.Context, []string, int64, int64) (*Census, error) {
		if err != nil {
			return nil, err
		}
		c := &Census{Via: "via the series API", Counter: split.Sets(sets)}
		if withSets {
			c.Sets = sets
		}
		return c, nil
	}
}

func TestReport(t *testing.T) {
	sets := []labels.Labels{up("a"), up("b"), labels.FromStrings("__name__", "go_goroutines", "job", "a")}
	dropJob, err := relabel.Parse([]string{"job"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	refused := errors.New("HTTP 403")
	tests := []struct {
		name     string
		src      Source
		census   func(context.Context, []string, int64, int64) (*Census, error)
		rules    relabel.Rules
		retain   time.Duration
		newest   time.Duration // of a block in Out, after from; 0: no Out
		earlier  int           // windows recovered earlier
		want     Series
		requests int
		samples  int64
		past     int // windows past the retention
	}{
		{name: "counted", src: &fakeSource{}, census: censusOf(sets, true, nil),
			want:     Series{Via: "via the series API", Total: 3, Metrics: []MetricCount{{"go_goroutines", 1}, {"up", 2}}},
			requests: 2, samples: 3 * 240},
		{name: "batched, half done earlier", src: &batchSource{}, census: censusOf(sets, true, nil), earlier: 1,
			want:     Series{Via: "via the series API", Total: 3, Metrics: []MetricCount{{"go_goroutines", 1}, {"up", 2}}},
			requests: 1, samples: 3 * 120},
		{name: "refused", src: &fakeSource{}, census: censusOf(nil, false, refused),
			want: Series{Total: -1, Refused: refused}, requests: 2},
		{name: "relabelling merges", src: &fakeSource{}, census: censusOf(sets, true, nil), rules: dropJob,
			want: Series{Via: "via the series API", Total: 3, Metrics: []MetricCount{{"go_goroutines", 1}, {"up", 2}},
				Merges: []string{`{__name__="up", job="a"} and {__name__="up", job="b"} both become {__name__="up"}`}},
			requests: 2, samples: 3 * 240},
		{name: "count queries cannot check merges", src: &fakeSource{}, census: censusOf(sets, false, nil), rules: dropJob,
			want:     Series{Via: "via the series API", Total: 3, Metrics: []MetricCount{{"go_goroutines", 1}, {"up", 2}}, Unchecked: true},
			requests: 2, samples: 3 * 240},
		{name: "past the retention", src: &fakeSource{}, census: censusOf(nil, true, nil), retain: 21 * time.Hour, newest: 24 * time.Hour,
			want: Series{Via: "via the series API"}, requests: 2, past: 1},
		// Prometheus counts from its newest block, not from the clock.
		{name: "the recovered windows are the newest blocks", src: &fakeSource{}, census: censusOf(nil, true, nil), retain: 21 * time.Hour,
			want: Series{Via: "via the series API"}, requests: 2},
		{name: "the newest block is older than now minus the retention", src: &fakeSource{}, census: censusOf(nil, true, nil), retain: 21 * time.Hour, newest: 10 * time.Hour,
			want: Series{Via: "via the series API"}, requests: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			j := newJob(t, "", nil, &log)
			j.Relabel, j.Retention = tt.rules, tt.retain
			if tt.newest > 0 {
				j.Out = t.TempDir()
				seriestest.Block(t, j.Out, from.Add(tt.newest).UnixMilli())
			}
			j.Connect = func(context.Context) (Conn, error) {
				return Conn{Source: tt.src, Origin: Origin{Name: "fake"}, Census: tt.census}, nil
			}
			var done Done
			for _, w := range j.Plan.Windows[:tt.earlier] {
				done.Windows = append(done.Windows, stateWindow(w))
			}
			r, err := j.Report(context.Background(), done, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(r.Series, tt.want) {
				t.Errorf("series\n%+v, want\n%+v", r.Series, tt.want)
			}
			if r.Requests != tt.requests || r.Samples != tt.samples || len(r.Todo.Windows) != 2-tt.earlier {
				t.Errorf("%d requests, %d samples, %d windows left; want %d, %d, %d", r.Requests, r.Samples, len(r.Todo.Windows), tt.requests, tt.samples, 2-tt.earlier)
			}
			past := 0
			for _, w := range r.Windows {
				if w.PastRetention {
					past++
				}
			}
			if past != tt.past {
				t.Errorf("%d windows past the retention, want %d", past, tt.past)
			}
		})
	}
}

func stateWindow(w extract.Window) state.Window {
	return state.Window{Start: w.Start, End: w.End, ULID: "01K1QZ7T0000000000000000AB"}
}

func TestReportFailsOnACancelledDiscovery(t *testing.T) {
	var log bytes.Buffer
	j := newJob(t, "", nil, &log)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	j.Connect = func(context.Context) (Conn, error) {
		return Conn{Source: &fakeSource{}, Census: censusOf(nil, false, context.Canceled)}, nil
	}
	if _, err := j.Report(ctx, Done{}, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v", err)
	}
}

func TestEarlierDone(t *testing.T) {
	dir := t.TempDir()
	var log bytes.Buffer
	if _, err := newJob(t, dir, &fakeSource{series: scraped(up("a")).series, fail: map[int64]error{from.UnixMilli(): errors.New("HTTP 502")}}, &log).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		out     string
		restart bool
		done    int
	}{
		{name: "the window recovered earlier", out: dir, done: 1},
		{name: "no data directory", out: ""},
		{name: "a restart drops the state", out: dir, restart: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJob(t, tt.out, nil, &log)
			j.State.Restart = tt.restart
			d, err := j.EarlierDone(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Windows) != tt.done || (tt.done > 0) != (d.State != "") {
				t.Errorf("done %+v", d)
			}
		})
	}
	// Reading the state wrote nothing: the next run resumes it still.
	if o, err := newJob(t, dir, scraped(up("a")), &log).Run(context.Background()); err != nil || len(o.Earlier) != 1 {
		t.Errorf("%v, %+v", err, o)
	}
}

func TestMerges(t *testing.T) {
	dropJob, err := relabel.Parse([]string{"job"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		found []labels.Labels
		want  []string
	}{
		{"none", []labels.Labels{up("a"), labels.FromStrings("__name__", "x", "job", "a")}, nil},
		{"one pair", []labels.Labels{up("a"), up("b")}, []string{`{__name__="up", job="a"} and {__name__="up", job="b"} both become {__name__="up"}`}},
		{"the same series twice", []labels.Labels{up("a"), up("a")}, nil},
		{"more than the limit", []labels.Labels{up("a"), up("b"), up("c"), up("d")}, []string{
			`{__name__="up", job="a"} and {__name__="up", job="b"} both become {__name__="up"}`,
			`{__name__="up", job="a"} and {__name__="up", job="c"} both become {__name__="up"}`,
			"and 1 more"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := merges(tt.found, dropJob, 2); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
