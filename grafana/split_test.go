package grafana

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/split"
	"github.com/promrecover/promrecover/grafana/frames"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// The window every split test fetches: simStart is aligned to 2h.
var spWindow = extract.Window{Start: simStart.UnixMilli(), End: simStart.UnixMilli() + extract.WindowMs}

// spData is the data set of the split tests, reaching 10 minutes past the
// window on both sides so that trimming shows: a metric with six instances
// and one series without the label, two small metrics, one series sampled
// every second and a metric with one series that no query may touch.
var spData = func() []extract.Series {
	var out []extract.Series
	add := func(every int64, kv ...string) {
		s := extract.Series{Labels: labels.FromStrings(kv...)}
		n := int64(len(out))
		for t, i := spWindow.Start-10*60000+n*137%every, 0; t < spWindow.End+10*60000; t, i = t+every, i+1 {
			s.Samples = append(s.Samples, extract.Sample{T: t, V: float64(i)*0.25 + float64(n)})
		}
		out = append(out, s)
	}
	for i := range 6 {
		add(15000, "__name__", "req_total", "job", "api", "instance", fmt.Sprintf("i%d", i))
	}
	add(15000, "__name__", "req_total", "job", "api")
	for i := range 3 {
		add(15000, "__name__", "mem_bytes", "job", "node", "instance", fmt.Sprintf("n%d", i))
	}
	for _, s := range []string{"s0", "s1"} {
		add(15000, "__name__", "temp", "job", "sensors", "sensor", s)
	}
	add(1000, "__name__", "fine", "job", "f")
	for _, in := range []string{"a", "b", "c", "d"} {
		add(15000, "__name__", "big", "job", "big", "instance", in)
	}
	return out
}()

// bigC is the series that no query may touch in the never-passes cases.
var bigC = labels.FromStrings("__name__", "big", "job", "big", "instance", "c")

const chunksLimit = `{"status":"error","errorType":"execution","error":"expanding series: the query exceeded the maximum number of chunks (limit: 10 chunks) (err-mimir-max-chunks-per-query). To adjust the related per-tenant limit, configure -querier.max-fetched-chunks-per-query, or contact your service administrator."}`

// touches reports whether a PromQL expression selects the series lset.
func touches(expr string, lset labels.Labels) bool {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return false
	}
	found := false
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			all := true
			for _, m := range vs.LabelMatchers {
				all = all && m.Matches(lset.Get(m.Name))
			}
			found = found || all
		}
		return nil
	})
	return found
}

// callSpan is how long a query call reaches back: the range of a raw
// query's range selector, or a range query's end minus start.
func callSpan(c sim.PromCall) time.Duration {
	if !c.Instant {
		return c.End.Sub(c.Start)
	}
	var span time.Duration
	e, _ := parser.NewParser(parser.Options{}).ParseExpr(c.Expr)
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if ms, ok := n.(*parser.MatrixSelector); ok {
			span = ms.Range
		}
		return nil
	})
	return span
}

func isQueryCall(c sim.PromCall) bool {
	return c.Path == "/api/v1/query" || c.Path == "/api/v1/query_range"
}

// selected is the part of the data a selector picks, clipped to [from, to).
func selected(t *testing.T, sel string, from, to int64) []extract.Series {
	t.Helper()
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(sel)
	if err != nil {
		t.Fatal(err)
	}
	var out []extract.Series
	for _, s := range spData {
		if !slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return !m.Matches(s.Labels.Get(m.Name)) }) {
			out = append(out, s)
		}
	}
	return extract.Clip(out, from, to)
}

// splitRun is one Fetch against the built-in server, with what it logged
// and what the server saw.
type splitRun struct {
	series []extract.Series
	err    error
	logs   []map[string]any
	calls  []sim.PromCall // every upstream call, in order
	stats  Stats
	srv    *sim.Server
}

// splitsBy lists the "by" of every split decision logged, in order.
func (r *splitRun) splitsBy() []string {
	var out []string
	for _, l := range r.logs {
		if l["msg"] == "splitting a query" {
			out = append(out, fmt.Sprint(l["by"]))
		}
	}
	return out
}

func (r *splitRun) logged(msg string) bool {
	return slices.ContainsFunc(r.logs, func(l map[string]any) bool { return l["msg"] == msg })
}

func fetchWith(t *testing.T, cfg sim.Config, u extract.Unit, retries uint) *splitRun {
	t.Helper()
	run := &splitRun{}
	var mu sync.Mutex
	inner := cfg.Intercept
	cfg.Intercept = func(c sim.PromCall) *sim.PromReply {
		mu.Lock()
		run.calls = append(run.calls, c)
		mu.Unlock()
		if inner != nil {
			return inner(c)
		}
		return nil
	}
	cfg.Series, cfg.Tokens = spData, []string{token}
	var url string
	url, run.srv = simtest.Start(t, cfg)
	var logs bytes.Buffer
	c, err := NewClient(Options{URL: url, Auth: Auth{Token: token}, RetryInitial: time.Millisecond, RetryMax: 5 * time.Millisecond,
		MaxRetries: retries, Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	run.series, run.err = (&Source{Client: c, Datasource: promDS}).Fetch(context.Background(), u)
	run.stats = c.Stats()
	for _, line := range bytes.Split(bytes.TrimSpace(logs.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		run.logs = append(run.logs, m)
	}
	return run
}

// checkWhole checks that series hold each label set once, samples sorted
// and inside [u.From, u.To), as the blocks sink needs.
func checkWhole(t *testing.T, u extract.Unit, series []extract.Series) {
	t.Helper()
	seen := map[string]bool{}
	for _, s := range series {
		if seen[s.Labels.String()] {
			t.Fatalf("series %s returned twice", s.Labels)
		}
		seen[s.Labels.String()] = true
		for i, smp := range s.Samples {
			if smp.T < u.From || smp.T >= u.To || (i > 0 && s.Samples[i-1].T >= smp.T) {
				t.Fatalf("series %s: sample %d at %d is out of order or outside the unit", s.Labels, i, smp.T)
			}
		}
	}
}

// checkNoRepeats fails if a query call was sent twice, except the retries
// a call answered with 504 may have had.
func checkNoRepeats(t *testing.T, calls []sim.PromCall, allowed func(sim.PromCall) bool) {
	t.Helper()
	seen := map[string]int{}
	for _, c := range calls {
		if !isQueryCall(c) {
			continue
		}
		key := fmt.Sprintf("%s %d %d %s", c.Expr, c.Start.UnixMilli(), c.End.UnixMilli(), c.Step)
		seen[key]++
		if seen[key] > 1 && (allowed == nil || !allowed(c)) {
			t.Fatalf("query %s was sent again unchanged", key)
		}
	}
}

func timeoutLong(c sim.PromCall) *sim.PromReply {
	if isQueryCall(c) && callSpan(c) > 30*time.Minute {
		return &sim.PromReply{Status: http.StatusGatewayTimeout, Body: "upstream request timeout"}
	}
	return nil
}

func forbidden(c sim.PromCall) *sim.PromReply {
	if !isQueryCall(c) {
		return &sim.PromReply{Status: http.StatusForbidden, Body: `{"message":"Access denied to this data source"}`}
	}
	return nil
}

func noDiscovery(c sim.PromCall) *sim.PromReply {
	if isQueryCall(c) && strings.Contains(c.Expr, "last_over_time(") {
		return &sim.PromReply{Status: http.StatusUnprocessableEntity, Body: chunksLimit}
	}
	return forbidden(c)
}

func neverC(c sim.PromCall) *sim.PromReply {
	if isQueryCall(c) && touches(c.Expr, bigC) {
		return &sim.PromReply{Status: http.StatusUnprocessableEntity, Body: chunksLimit}
	}
	return nil
}

func timeoutC(c sim.PromCall) *sim.PromReply {
	if isQueryCall(c) && touches(c.Expr, bigC) {
		return &sim.PromReply{Status: http.StatusGatewayTimeout, Body: "upstream request timeout"}
	}
	return nil
}

// fetchSplitCase is a unit fetched from the simulator with its limits and
// faults, in raw mode and in step mode, by TestFetchSplits.
type fetchSplitCase struct {
	name      string
	sel       string
	cfg       sim.Config
	retries   uint
	firstBy   string   // the first split decision
	onlyBy    string   // when set, every split decision
	alsoBy    string   // a split decision that must be among them
	missing   []string // series not returned (labels as printed)
	gapSel    string   // the one gap expected, over the whole unit
	gapReason []string // parts of its reason
	logged    string   // a message that must be logged
}

// fetchSplitCases check the adapter end to end: the splitting itself is
// tested in package split against a fake source.
var fetchSplitCases = []fetchSplitCase{
	{name: "series limit: by metric name", sel: `{__name__=~"req_total|mem_bytes|temp"}`,
		cfg: sim.Config{MaxSeriesPerQuery: 7}, firstBy: "metric name"},
	{name: "series limit: by a label's values, with the series that lack it", sel: `req_total`,
		cfg: sim.Config{MaxSeriesPerQuery: 3}, firstBy: "label instance", onlyBy: "label instance"},
	{name: "series limit: by name, then label", sel: `{job=~"api|node"}`,
		cfg: sim.Config{MaxSeriesPerQuery: 3}, firstBy: "metric name"},
	{name: "too many samples in one series: by time", sel: `fine`,
		cfg: sim.Config{MaxSamplesPerQuery: 2000}, onlyBy: "time"},
	{name: "a timeout that survives retries: by time", sel: `{__name__=~"req_total|mem_bytes"}`,
		cfg: sim.Config{Intercept: timeoutLong}, retries: 1, onlyBy: "time"},
	{name: "label lookups forbidden: by metric name through count queries", sel: `{__name__=~"mem_bytes|temp"}`,
		cfg: sim.Config{MaxSamplesPerQuery: 2000, Intercept: forbidden}, firstBy: "metric name"},
	{name: "label lookups forbidden, count queries too big: by time", sel: `{__name__=~"mem_bytes|temp"}`,
		cfg: sim.Config{MaxSamplesPerQuery: 2000, Intercept: noDiscovery}, onlyBy: "time", logged: "series discovery failed; splitting by the prefixes of label values"},
	{name: "a series that never passes is the only gap", sel: `{__name__=~"big|mem_bytes"}`,
		cfg: sim.Config{Intercept: neverC}, firstBy: "metric name",
		missing: []string{bigC.String()}, gapSel: `big{instance="c"}`, gapReason: []string{"err-mimir-max-chunks-per-query", "too big for the datasource's limits, split as far as it goes"}},
	{name: "a series that always times out is the only gap", sel: `{__name__=~"big|mem_bytes"}`,
		cfg: sim.Config{Intercept: timeoutC}, retries: 1, firstBy: "time", alsoBy: "metric name",
		missing: []string{bigC.String()}, gapSel: `big{instance="c"}`, gapReason: []string{"still timing out after every retry", "status code 504"}},
	{name: "label lookups forbidden, a series limit: by the prefixes of names and labels, never by time", sel: `{__name__=~"req_total|mem_bytes|temp"}`,
		cfg: sim.Config{MaxSeriesPerQuery: 3, Intercept: forbidden}, firstBy: "prefix of __name__", alsoBy: "prefix of instance"},
	{name: "label lookups forbidden, one name over the series limit: by a second label", sel: `big`,
		cfg: sim.Config{MaxSeriesPerQuery: 2, Intercept: forbidden}, firstBy: "prefix of instance"},
	{name: "label lookups forbidden, nothing tells the series apart: the gap says why", sel: `temp`,
		cfg: sim.Config{MaxSeriesPerQuery: 1, Intercept: forbidden}, firstBy: "prefix of instance",
		missing: []string{"*"}, gapSel: `temp`, gapReason: []string{"err-mimir-max-series-per-query", "split as far as it goes (down to 2h0m0s)",
			"raise that limit, or narrow the selector", "series discovery failed", "HTTP 403", "only the prefixes of values"}},
}

func TestFetchSplits(t *testing.T) {
	for _, tc := range fetchSplitCases {
		for _, step := range []time.Duration{0, 15 * time.Second, time.Second} {
			if step == time.Second && tc.sel != "fine" {
				continue // only the dense series needs a fine step to be too big
			}
			if step == 15*time.Second && tc.sel == "fine" {
				continue
			}
			mode := "raw"
			if step > 0 {
				mode = "step " + step.String()
			}
			t.Run(tc.name+"/"+mode, func(t *testing.T) { checkFetchSplit(t, tc, step) })
		}
	}
}

// checkFetchSplit fetches one of fetchSplitCases at step: the parts put
// together must be what a fetch without limits gets (less what the case
// misses), split as the case says, with no query sent twice.
func checkFetchSplit(t *testing.T, tc fetchSplitCase, step time.Duration) {
	u := extract.Unit{Window: spWindow, From: spWindow.Start, To: spWindow.End, Selector: tc.sel, Step: step}
	ref := fetchWith(t, sim.Config{}, u, 0)
	if ref.err != nil || len(ref.splitsBy()) != 0 {
		t.Fatalf("reference fetch: %v, splits %v", ref.err, ref.splitsBy())
	}
	for i := range ref.series {
		ref.series[i].Normalize(u.From, u.To)
	}
	if step == 0 {
		if err := extract.Compare(selected(t, tc.sel, u.From, u.To), ref.series); err != nil {
			t.Fatalf("the reference fetch is not the source: %v", err)
		}
	}
	want := slices.DeleteFunc(slices.Clone(ref.series), func(s extract.Series) bool {
		return slices.Contains(tc.missing, "*") || slices.Contains(tc.missing, s.Labels.String())
	})

	run := fetchWith(t, tc.cfg, u, tc.retries)
	var partial *extract.PartialError
	if tc.gapSel == "" {
		if run.err != nil {
			t.Fatalf("Fetch: %v", run.err)
		}
	} else {
		if !errors.As(run.err, &partial) || len(partial.Gaps) != 1 {
			t.Fatalf("Fetch error = %v; want a PartialError with one gap", run.err)
		}
		g := partial.Gaps[0]
		if g.Selector != tc.gapSel || g.From != u.From || g.To != u.To {
			t.Fatalf("gap %s; want %s over the whole unit", g, tc.gapSel)
		}
		for _, p := range tc.gapReason {
			if !strings.Contains(g.Reason, p) {
				t.Errorf("gap reason %q lacks %q", g.Reason, p)
			}
		}
	}
	t.Logf("%d series, %d upstream calls, splits by %v, error %v", len(run.series), len(run.calls), run.splitsBy(), run.err)
	checkWhole(t, u, run.series)
	if err := extract.Compare(want, run.series); err != nil {
		t.Fatalf("the parts put together are not the source: %v", err)
	}
	by := run.splitsBy()
	if len(by) == 0 || (tc.firstBy != "" && by[0] != tc.firstBy) {
		t.Fatalf("splits by %v; want the first by %q", by, tc.firstBy)
	}
	if tc.onlyBy != "" && slices.ContainsFunc(by, func(b string) bool { return b != tc.onlyBy }) {
		t.Fatalf("splits by %v; want only by %q", by, tc.onlyBy)
	}
	if tc.alsoBy != "" && !slices.Contains(by, tc.alsoBy) {
		t.Fatalf("splits by %v; want one by %q", by, tc.alsoBy)
	}
	if tc.logged != "" && !run.logged(tc.logged) {
		t.Errorf("no %q in the log", tc.logged)
	}
	checkNoRepeats(t, run.calls, func(c sim.PromCall) bool { return tc.retries > 0 && tc.cfg.Intercept(c) != nil })
	if tc.retries > 0 && run.stats.Retries == 0 {
		t.Errorf("no retries before splitting on a timeout")
	}
}

// TestFetchSplitLabelParts checks the parts a label split makes: one per
// value and one for the rest (series without the label, or with a value the
// lookup did not list), each asked once.
func TestFetchSplitLabelParts(t *testing.T) {
	u := extract.Unit{Window: spWindow, From: spWindow.Start, To: spWindow.End, Selector: "req_total"}
	run := fetchWith(t, sim.Config{MaxSeriesPerQuery: 3}, u, 0)
	if run.err != nil {
		t.Fatal(run.err)
	}
	var exprs []string
	for _, c := range run.calls {
		if isQueryCall(c) {
			exprs = append(exprs, c.Expr)
		}
	}
	want := []string{"req_total[7200001ms]"}
	for i := range 6 {
		want = append(want, fmt.Sprintf(`req_total{instance="i%d"}[7200001ms]`, i))
	}
	want = append(want, `req_total{instance!~"i0|i1|i2|i3|i4|i5"}[7200001ms]`)
	if !slices.Equal(exprs, want) {
		t.Fatalf("queries\n%s\nwant\n%s", strings.Join(exprs, "\n"), strings.Join(want, "\n"))
	}
	if got := run.srv.Counters(); got.Queries != int64(len(want)) || got.LabelLookups != 3 {
		t.Fatalf("counters %+v; want %d queries and 3 label lookups (labels, values of instance and job)", got, len(want))
	}
}

// TestFetchNotSplit: errors that splitting cannot help are returned as they
// are, after one query.
func TestFetchNotSplit(t *testing.T) {
	cases := []struct {
		name    string
		reply   sim.PromReply
		abort   bool
		errPart []string
	}{
		{"datasource refused Grafana (401)", sim.PromReply{Status: 401, Body: "invalid authentication credentials"}, true,
			[]string{"status code 401", "the datasource refused Grafana's credentials", "promrecover's own credentials", "Connections > Data sources"}},
		{"datasource refused Grafana (403)", sim.PromReply{Status: 403, Body: `{"status":"error","error":"forbidden"}`}, true,
			[]string{"status code 403", "the datasource refused Grafana's credentials"}},
		{"a query Prometheus rejects", sim.PromReply{Status: 400, Body: `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": parse error"}`}, false,
			[]string{"bad_data"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := extract.Unit{Window: spWindow, From: spWindow.Start, To: spWindow.End, Selector: `{__name__=~"req_total|mem_bytes"}`}
			run := fetchWith(t, sim.Config{MaxSeriesPerQuery: 1, Intercept: func(sim.PromCall) *sim.PromReply { r := tc.reply; return &r }}, u, 2)
			var ae *extract.AbortError
			if run.err == nil || errors.As(run.err, &ae) != tc.abort {
				t.Fatalf("error %v; want abort = %v", run.err, tc.abort)
			}
			for _, p := range tc.errPart {
				if !strings.Contains(run.err.Error(), p) {
					t.Errorf("error %q lacks %q", run.err, p)
				}
			}
			if got := run.srv.Counters(); got.Queries != 1 || got.LabelLookups != 0 || run.stats.Retries != 0 {
				t.Fatalf("counters %+v, retries %d; want one query, no lookup, no retry", got, run.stats.Retries)
			}
		})
	}
}

// TestFetchSplitBounds: a part budget and the depth limit end in gaps, not
// in endless queries.
func TestFetchSplitBounds(t *testing.T) {
	u := extract.Unit{Window: spWindow, From: spWindow.Start, To: spWindow.End, Selector: "fine"}
	for _, tc := range []struct {
		name   string
		opts   split.Options
		reason string
	}{
		{"queries", split.Options{MaxQueries: 3}, "used up the 3 queries"},
		{"depth", split.Options{MaxDepth: 1}, "split 1 times in a row"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, _ := simtest.Start(t, sim.Config{Series: spData, Tokens: []string{token}, MaxSamplesPerQuery: 500})
			c := newTestClient(t, url, Auth{Token: token})
			series, err := (&Source{Client: c, Datasource: promDS, Split: tc.opts}).Fetch(context.Background(), u)
			var partial *extract.PartialError
			if !errors.As(err, &partial) || len(series) != 0 {
				t.Fatalf("Fetch = %d series, %v; want only gaps", len(series), err)
			}
			if g := partial.Gaps; len(g) != 1 || g[0].From != u.From || g[0].To != u.To || g[0].Selector != "fine" || !strings.Contains(g[0].Reason, tc.reason) {
				t.Fatalf("gaps %v; want one over the unit saying %q", g, tc.reason)
			}
		})
	}
}

func TestQueryErrorAborts(t *testing.T) {
	cases := []struct {
		msg    string
		status int
		part   string
	}{
		{"unexpected response with status code 401: invalid authentication credentials", 500, "refused Grafana's credentials"},
		{"unexpected response with status code 403: {\"status\":\"error\"}", 500, "refused Grafana's credentials"},
		{": authentication error: invalid token", 401, "refused Grafana's credentials"},
		{"[plugin.notRegistered] plugin not registered", 500, "plugin is missing"},
		{"[plugin.unavailable] plugin unavailable", 500, "plugin is missing"},
	}
	for _, tc := range cases {
		err := queryError("up[1h]", &frames.Result{Status: tc.status, Error: tc.msg})
		var ae *extract.AbortError
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), tc.part) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: %v; want an abort saying %q", tc.msg, err, tc.part)
		}
	}
}

func TestSplitKind(t *testing.T) {
	ctx := context.Background()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	tooBig := func(msg string) error { return queryError("up", &frames.Result{Status: 422, Error: msg}) }
	timeoutErr := &timeoutNetErr{}
	cases := []struct {
		name string
		ctx  context.Context
		err  error
		want split.Kind
	}{
		{"series limit", ctx, tooBig("execution: (err-mimir-max-series-per-query)"), split.SeriesOnly},
		{"chunks limit", ctx, tooBig("execution: (err-mimir-max-chunks-per-query)"), split.SeriesFirst},
		{"chunk bytes limit", ctx, tooBig("execution: (err-mimir-max-fetched-chunk-bytes-per-query)"), split.SeriesFirst},
		{"samples limit", ctx, tooBig("execution: query processing would load too many samples into memory in query execution"), split.SeriesFirst},
		{"11,000 points", ctx, tooBig("bad_data: exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"), split.TimeFirst},
		{"query length", ctx, tooBig("execution: the total query time range exceeds the limit (err-mimir-max-total-query-length)"), split.TimeFirst},
		{"504 from Grafana", ctx, &StatusError{Status: 504}, split.Slow},
		{"refId timed out", ctx, queryError("up", &frames.Result{Status: 503, Error: "timeout: query timed out in expression evaluation"}), split.Slow},
		{"refId 504", ctx, queryError("up", &frames.Result{Status: 500, Error: "unexpected response with status code 504: gateway timeout"}), split.Slow},
		{"client timeout", ctx, fmt.Errorf("POST /api/ds/query: %w", timeoutErr), split.Slow},
		{"500 from Grafana", ctx, &StatusError{Status: 500}, split.NoSplit},
		{"refId 503", ctx, queryError("up", &frames.Result{Status: 503, Error: "unavailable: ingester unavailable"}), split.NoSplit},
		{"bad query", ctx, queryError("up", &frames.Result{Status: 400, Error: "bad_data: parse error"}), split.NoSplit},
		{"abort", ctx, &extract.AbortError{Err: &StatusError{Status: 504}}, split.NoSplit},
		{"run cancelled", canceled, &StatusError{Status: 504}, split.NoSplit},
	}
	for _, tc := range cases {
		if got := splitKindOf(tc.ctx, tc.err); got != tc.want {
			t.Errorf("%s: %v is kind %d, want %d", tc.name, tc.err, got, tc.want)
		}
	}
}

type timeoutNetErr struct{}

func (*timeoutNetErr) Error() string   { return "Client.Timeout exceeded while awaiting headers" }
func (*timeoutNetErr) Timeout() bool   { return true }
func (*timeoutNetErr) Temporary() bool { return true }

// TestFetchSplitSurvivesAMissedLabelValue: a label lookup that leaves a value
// out (an index that lags, a value that appeared later) must not make its
// series go missing: the rest part catches them.
func TestFetchSplitSurvivesAMissedLabelValue(t *testing.T) {
	u := extract.Unit{Window: spWindow, From: spWindow.Start, To: spWindow.End, Selector: "req_total"}
	cfg := sim.Config{MaxSeriesPerQuery: 3, Intercept: func(c sim.PromCall) *sim.PromReply {
		if c.Path == "/api/v1/label/instance/values" {
			return &sim.PromReply{Status: http.StatusOK, Body: `{"status":"success","data":["i0","i1","i2","i3"]}`}
		}
		return nil
	}}
	run := fetchWith(t, cfg, u, 0)
	if run.err != nil {
		t.Fatal(run.err)
	}
	if err := extract.Compare(selected(t, u.Selector, u.From, u.To), run.series); err != nil {
		t.Fatal(err)
	}
}
