package served

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/servers"
	"github.com/promrecover/promrecover/promapi"
)

func TestExpr(t *testing.T) {
	w := extract.Window{Start: 7200000, End: 14400000}
	for _, tc := range []struct {
		name   string
		closed bool
		names  []string
		want   string
	}{
		{"Prometheus 3: the range reaches the window's start, left out, 1ms before it", false, []string{"up"},
			`(sum(count_over_time({__name__="up"}[7200000ms])) or vector(0))`},
		{"Prometheus 2: both ends in, 1ms shorter", true, []string{"up"},
			`(sum(count_over_time({__name__="up"}[7199999ms])) or vector(0))`},
		{"a sum a name, quoted for PromQL", false, []string{"a_sum", "a_count", `q"x\y.z`},
			`(sum(count_over_time({__name__="a_sum"}[7200000ms])) or vector(0)) + (sum(count_over_time({__name__="a_count"}[7200000ms])) or vector(0)) + (sum(count_over_time({__name__="q\"x\\y.z"}[7200000ms])) or vector(0))`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (&Watch{closed: tc.closed}).expr(w, tc.names); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestWaitAgainstPrometheus writes blocks with a real blocks.Sink into the
// data directory of a running Prometheus of each version, beside a block it
// already serves in the same window: floats, a float stale marker, native
// histograms and a histogram stale marker, and series that only their names
// tell apart. The wait ends once it serves them, counted without the stale
// markers (no query returns them) and beside what it served before.
func TestWaitAgainstPrometheus(t *testing.T) {
	w := extract.Window{Start: 1754179200000, End: 1754179200000 + 2*3600*1000} // 2025-08-03T00:00Z
	stale := math.Float64frombits(value.StaleNaN)
	lset := func(name string) labels.Labels { return labels.FromStrings("__name__", name, "job", "api") }
	var floats []extract.Sample
	var hs []extract.HistogramSample
	for i := int64(0); i < 100; i++ {
		floats = append(floats, extract.Sample{T: w.Start + 60_000 + i*15_000, V: float64(i)})
		hs = append(hs, extract.HistogramSample{T: w.Start + i*15_000, H: &histogram.Histogram{Count: uint64(i), ZeroCount: uint64(i), Sum: float64(i), ZeroThreshold: 1e-128}})
	}
	floats = append(floats, extract.Sample{T: w.Start + 60_000 + 100*15_000, V: stale})
	hs = append(hs, extract.HistogramSample{T: w.Start + 100*15_000, H: &histogram.Histogram{Sum: stale}})
	// What Prometheus serves of the window before: one sample.
	kept := []extract.Series{{Labels: lset("a_count"), Samples: []extract.Sample{{T: w.Start, V: 1}}}}
	written := []extract.Series{
		{Labels: lset("a_sum"), Samples: floats},   // a_count's labels but the name
		{Labels: lset("a_count"), Samples: floats}, // the kept sample's series, later samples
		{Labels: lset("h"), Histograms: hs},
	}
	for _, v := range servers.Versions {
		t.Run("Prometheus "+string(v), func(t *testing.T) {
			t.Parallel() // each waits for its Prometheus's reload, a minute
			ctx := context.Background()
			dir := t.TempDir()
			install(t, dir, w, kept, nil)
			prom := servers.Prometheus(t, v, dir)
			watch, err := New(ctx, promapi.New(prom.URL, promapi.Options{}))
			if err != nil {
				t.Fatal(err)
			}
			got := install(t, dir, w, written, watch)
			if len(got) != 1 || got[0].Stale != 3 {
				t.Fatalf("installed %+v, want one block with 3 stale markers", got)
			}
			res := watch.Wait(ctx, got, 2*time.Minute, time.Second)
			if res.Windows != 1 || len(res.Missing) != 0 {
				t.Fatalf("not served after %s: %+v", res.After, res.Missing)
			}
			t.Logf("Prometheus %s served the window after %s", v, res.After.Round(time.Second))
		})
	}
}

// install writes series as the window's block into dir, through watch's
// wrapper when watch is not nil, and returns what it installed.
func install(t *testing.T, dir string, w extract.Window, series []extract.Series, watch *Watch) []blocks.Block {
	t.Helper()
	ctx := context.Background()
	bs, err := blocks.NewSink(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	var sink extract.Sink = bs
	if watch != nil {
		sink = watch.Wrap(bs)
	}
	if err := sink.Add(ctx, w, series); err != nil {
		t.Fatal(err)
	}
	if err := sink.Done(ctx, w, nil); err != nil {
		t.Fatal(err)
	}
	return bs.Blocks()
}

// TestWaitInterrupted: a cancelled wait ends at once, every window not
// yet served missing, and says it was cut short.
func TestWaitInterrupted(t *testing.T) {
	w := extract.Window{Start: 0, End: 7200000}
	watch := &Watch{client: promapi.New("http://"+servers.FreeAddr(t), promapi.Options{}), before: map[extract.Window]count{w: {expr: "up"}}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := watch.Wait(ctx, []blocks.Block{{Window: w, Samples: 5}}, time.Hour, time.Second)
	if !res.Interrupted || res.Windows != 1 || len(res.Missing) != 1 || res.Missing[0].Want != 5 || res.After > 10*time.Second {
		t.Fatalf("got %+v", res)
	}
}
