package main

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// TestRecoverSplitsAndNamesWhatItCannotGet runs recover against a datasource
// with Mimir's series limit, where one series can never be fetched: the rest
// is split into queries that pass and installed exactly, the one series is
// named with its time range, the run fails, and a rerun still says so.
func TestRecoverSplitsAndNamesWhatItCannotGet(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 4)
	// The demo's series of one instance of one metric: what cannot be had.
	var lost labels.Labels
	for _, s := range data {
		if s.Labels.Get(model.MetricNameLabel) == "http_requests_total" {
			lost = s.Labels
			break
		}
	}
	tooBig := `{"status":"error","errorType":"execution","error":"the query exceeded the maximum number of chunks (limit: 1 chunks) (err-mimir-max-chunks-per-query)"}`
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}, MaxSeriesPerQuery: 40,
		Intercept: func(c sim.PromCall) *sim.PromReply {
			// Any query that would touch the lost series is refused.
			if c.Path == "/api/v1/query" && matchesSeries(t, c.Expr, lost) {
				return &sim.PromReply{Status: http.StatusUnprocessableEntity, Body: tooBig}
			}
			return nil
		}})
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(4*time.Hour)
	out := t.TempDir()
	args := []string{"recover", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", out}
	stdout, stderr, err := runCLI(t, args...)
	if err == nil || !strings.Contains(err.Error(), "could not be fetched") {
		t.Fatalf("error = %v\n%s\n%s", err, stdout, stderr)
	}
	if n := strings.Count(stdout, "NOT RECOVERED"); n != 1 {
		t.Fatalf("%d parts reported lost, want exactly the one series:\n%s", n, stdout)
	}
	// The line names a selector that picks the lost series and no other,
	// and the whole time range.
	line := stdout[strings.Index(stdout, "NOT RECOVERED ")+len("NOT RECOVERED "):]
	sel := line[:strings.Index(line, " from ")]
	for _, s := range data {
		if matchesSeries(t, sel+"[1m]", s.Labels) != labels.Equal(s.Labels, lost) {
			t.Fatalf("the reported selector %s does not pick exactly %s", sel, lost)
		}
	}
	if !strings.Contains(line, " from "+from.Format(time.RFC3339)+" to "+to.Format(time.RFC3339)+":") {
		t.Fatalf("the report does not give the range %s..%s: %s", from, to, line)
	}
	var want []extract.Series
	for _, s := range data {
		if !labels.Equal(s.Labels, lost) {
			want = append(want, s)
		}
	}
	got, err := blocks.ReadSeries(out, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if err := extract.Compare(extract.Clip(want, from.UnixMilli(), to.UnixMilli()), got); err != nil {
		t.Fatal(err)
	}

	// A rerun has nothing to fetch, and still does not pretend all is well.
	stdout, _, err = runCLI(t, args...)
	if err == nil || !strings.Contains(stdout, "NOT RECOVERED (by an earlier run)") {
		t.Fatalf("rerun: %v\n%s", err, stdout)
	}
}

// matchesSeries reports whether the range selector expr selects ls.
func matchesSeries(t *testing.T, expr string, ls labels.Labels) bool {
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(expr[:strings.LastIndex(expr, "[")])
	if err != nil {
		t.Errorf("%s: %v", expr, err)
		return false
	}
	for _, m := range ms {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}

// TestRecoverShardsBeforeFetching: with a datasource limit of 60 series a
// query, selectors sized by discovery never meet a too-big answer, and the
// data is exact, in the blocks and as the real Prometheus serves it.
func TestRecoverShardsBeforeFetching(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 8)
	url, srv := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}, MaxSeriesPerQuery: 60})
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(6*time.Hour)
	out := t.TempDir()
	// The fetches alone are counted here; the check's count requests,
	// which meet the limit and are halved, are TestCrosscheckUnderALimit's.
	stdout, stderr, err := runCLI(t, "recover", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", out, "--max-series-per-query", "50", "--no-crosscheck")
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	// The one selector became shards, each asked once a window, and none
	// was refused as too big.
	m := regexp.MustCompile(`msg="sharding a large selector" .* shards=(\d+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no sharding logged:\n%s", stderr)
	}
	shards, _ := strconv.Atoi(m[1])
	if c := srv.Counters(); shards < 2 || c.Queries != int64(2*shards) || c.FailedQueries != 0 {
		t.Errorf("%d shards: want at least 2, each asked in both windows once (%d queries, %d refused as too big)", shards, c.Queries, c.FailedQueries)
	}
	installedExactly(t, out, data, from, to)
}

// TestRecoverShardsByCountQueries: where Grafana refuses the series API
// through the resources and through the proxy, recover shards a selector
// from count queries instead: no query fetches more than the limit of
// series, and the blocks are exactly the source, as the real Prometheus
// serves them.
func TestRecoverShardsByCountQueries(t *testing.T) {
	const limit = 20
	data := gen.DemoSeries(dataStart, dataEnd, 8)
	var mu sync.Mutex
	most := 0 // the most series a data query selected
	url, srv := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken},
		RefuseResources: http.StatusNotFound, RefuseProxyLookups: http.StatusForbidden,
		Intercept: func(c sim.PromCall) *sim.PromReply {
			if c.Path != "/api/v1/query" || strings.Contains(c.Expr, "last_over_time(") {
				return nil
			}
			n := 0
			for _, s := range data {
				if matchesSeries(t, c.Expr, s.Labels) {
					n++
				}
			}
			mu.Lock()
			most = max(most, n)
			mu.Unlock()
			return nil
		}})
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(6*time.Hour)
	out := t.TempDir()
	stdout, stderr, err := runCLI(t, "recover", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", out, "--max-series-per-query", strconv.Itoa(limit))
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	m := regexp.MustCompile(`msg="sharding a large selector" .* series=(\d+) shards=(\d+) discovery="via count queries"`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no sharding via count queries logged:\n%s", stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if series, _ := strconv.Atoi(m[1]); series != len(data) || most > limit || most == 0 {
		t.Errorf("counted %s series of %d; a data query selected up to %d series, want 1 to %d", m[1], len(data), most, limit)
	}
	if c := srv.Counters(); c.FailedQueries != 0 {
		t.Errorf("%d queries failed", c.FailedQueries)
	}
	installedExactly(t, out, data, from, to)
}

// installedExactly checks that the blocks in out hold exactly the samples of
// data in [from, to), read back and as the real Prometheus serves them.
func installedExactly(t *testing.T, out string, data []extract.Series, from, to time.Time) {
	t.Helper()
	got, err := blocks.ReadSeries(out, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	source := extract.Clip(data, from.UnixMilli(), to.UnixMilli())
	if err := extract.Compare(source, got); err != nil {
		t.Fatal(err)
	}
	servesExactly(t, out, from, to, source)
}

// prefixData is the data set: 240 series of twelve metrics, twenty
// instances each, some names sharing long prefixes, over the whole data
// range.
func prefixData() []extract.Series {
	names := []string{"api_requests_total", "api_request_errors_total", "node_cpu_seconds_total", "disk_read_bytes", "go_goroutines",
		"http_latency_seconds", "node_memory_MemFree_bytes", "net_rx_bytes", "process_cpu_seconds_total", "queue_depth", "temp_celsius", "up"}
	var out []extract.Series
	for i, name := range names {
		for j := range 20 {
			s := extract.Series{Labels: labels.FromStrings("__name__", name, "job", "app", "instance", fmt.Sprintf("10.0.0.%d:9100", j))}
			for t, k := dataStart.UnixMilli()+int64(i*20+j)*17%15000, 0; t < dataEnd.UnixMilli(); t, k = t+15000, k+1 {
				s.Samples = append(s.Samples, extract.Sample{T: t, V: float64(k + i*j)})
			}
			out = append(out, s)
		}
	}
	return out
}

// TestRecoverUnderASeriesLimitWithoutLookups is issue 11's case: Mimir's
// series limit (30) under 240 series, with the label and series lookups
// refused on both paths, so that no query can count the series first. The
// parts are cut by the metric names' prefixes where the server refuses, and
// every sample of the four windows is installed.
func TestRecoverUnderASeriesLimitWithoutLookups(t *testing.T) {
	data := prefixData()
	url, srv := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}, MaxSeriesPerQuery: 30,
		RefuseResources: http.StatusNotFound, RefuseProxyLookups: http.StatusForbidden})
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(10*time.Hour)
	out := t.TempDir()
	stdout, stderr, err := runCLI(t, "recover", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	m := regexp.MustCompile(`(?m)^requests (\d+),`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no request count in the summary:\n%s", stdout)
	}
	requests, _ := strconv.Atoi(m[1])
	t.Logf("%d requests (%d queries, %d refused as too big) for 4 windows", requests, srv.Counters().Queries, srv.Counters().FailedQueries)
	// 516 requests recovered nothing before; cutting by prefixes costs
	// most where names share long prefixes (api_request..., node_...):
	// 580 requests.
	if requests > 4*150 {
		t.Errorf("%d requests for 4 windows of 240 series; want at most 150 a window", requests)
	}
	if !strings.Contains(stdout, "recovered 4 of 4 windows") || strings.Contains(stdout, "NOT RECOVERED") {
		t.Errorf("summary:\n%s", stdout)
	}
	installedExactly(t, out, data, from, to)
}
