package grafana

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/promrecover/promrecover/export"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// queryExprs lists the refIds and exprs of each /api/ds/query body, one
// request a string, one query a line.
func queryExprs(bodies [][]byte) []string {
	var reqs []string
	for _, raw := range bodies {
		var body queryRequest
		_ = json.Unmarshal(raw, &body)
		var exprs []string
		for _, x := range body.Queries {
			exprs = append(exprs, x.RefID+":"+x.Expr)
		}
		reqs = append(reqs, strings.Join(exprs, " \n "))
	}
	return reqs
}

// failFirst answers the first Prometheus query whose expression contains
// part with status and body, as Prometheus or Mimir would.
func failFirst(part string, status int, body string) func(sim.PromCall) *sim.PromReply {
	var once sync.Once
	return func(c sim.PromCall) *sim.PromReply {
		var reply *sim.PromReply
		if strings.Contains(c.Expr, part) {
			once.Do(func() { reply = &sim.PromReply{Status: status, Body: body} })
		}
		return reply
	}
}

// selectedAll is the data any of the selectors picks, clipped to [from, to).
func selectedAll(t *testing.T, sels []string, from, to int64) []extract.Series {
	t.Helper()
	var out []extract.Series
	for _, s := range simData {
		for _, sel := range sels {
			ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(sel)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return !m.Matches(s.Labels.Get(m.Name)) }) {
				out = append(out, s)
				break
			}
		}
	}
	return extract.Clip(out, from, to)
}

func TestBatchOneRequestAWindow(t *testing.T) {
	sels := []string{`up`, `http_requests_total`, `{job="node"}`}
	cases := []struct {
		name      string
		intercept func(sim.PromCall) *sim.PromReply
		// requests: one a window, plus those of the unit that failed
		requests int
	}{
		{name: "all pass: one request a window", requests: 2},
		{name: "one refId too big: only it is split", requests: 2 + 1, intercept: failFirst(`up[`, http.StatusUnprocessableEntity,
			`{"status":"error","errorType":"execution","error":"the query exceeded the maximum number of series (limit: 1 series) (err-mimir-max-series-per-query)"}`)},
		{name: "one refId 503: only it is asked again", requests: 2 + 1, intercept: failFirst(`http_requests_total[`, http.StatusServiceUnavailable,
			`{"status":"error","errorType":"unavailable","error":"try later"}`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ql := faults.On(faults.Query).Keep()
			url, _ := simtest.Start(t, sim.Config{Series: simData, Tokens: []string{token}, Intercept: tc.intercept}, ql)
			c := newTestClient(t, url, Auth{Token: token})
			src := &Source{Client: c, Datasource: promDS}
			p, err := extract.NewPlan(simStart, simStart.Add(4*time.Hour), 0, sels)
			if err != nil {
				t.Fatal(err)
			}
			sink := export.NewMatrix()
			res, err := extract.Run(context.Background(), p, src, sink, 2, slog.New(slog.DiscardHandler))
			if err != nil || len(res.Failed()) > 0 {
				t.Fatalf("run: %v %v", err, res.Failed())
			}
			reqs := queryExprs(ql.Bodies())
			if len(reqs) < tc.requests || (tc.intercept == nil && len(reqs) != tc.requests) {
				t.Fatalf("%d requests, want %d:\n%s", len(reqs), tc.requests, strings.Join(reqs, "\n"))
			}
			for _, r := range reqs[:2] {
				if strings.Count(r, " \n ") != 2 {
					t.Errorf("a window's request does not carry the 3 selectors: %s", r)
				}
			}
			for _, r := range reqs[2:] {
				if strings.Contains(r, " \n ") {
					t.Errorf("a failed refId was asked again together with others: %s", r)
				}
			}
			// Every series of the selectors, exactly once, exact.
			if err := extract.Compare(selectedAll(t, sels, p.From, p.To), sink.Series()); err != nil {
				t.Fatal(err)
			}
		})
	}
}
