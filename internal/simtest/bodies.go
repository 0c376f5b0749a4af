package simtest

// The bodies the decoder benchmarks read, so that the /api/ds/query frame
// decoder (grafana/frames) and the datasource proxy's decoder are measured
// on the same data and their samples/s compare directly. The bodies are
// real answers of the simulator: gen.Replicas(BodyReplicas), the demo data
// set (counters, gauges with full-precision floats, a classic histogram,
// NaN and +Inf samples, jittered timestamps) copied under a "replica"
// label, two hours of 15s scrapes, so about 480 samples per series.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
)

// Token is the one the benchmark servers accept.
const Token = "glsa_secret_token_value"

// BodyReplicas is how many copies of the demo data set the bodies hold:
// about 2,000 series.
const BodyReplicas = 6

// Body is a named answer.
type Body struct {
	Name string
	Body []byte
}

var (
	dsOnce   sync.Once
	dsBodies []Body
)

// DSQuery builds, once, the two /api/ds/query answers the benchmarks read:
// "raw" (what promrecover asks by default: an instant query of a range
// selector one millisecond longer than the window) and "step" (a range
// query at 15s), over gen.Replicas(BodyReplicas).
func DSQuery(tb testing.TB) []Body {
	dsOnce.Do(func() {
		series := gen.Replicas(BodyReplicas)
		from, to := gen.ReplicasT0, gen.ReplicasT0.Add(2*time.Hour)
		raw := dsBody(tb, series, from, to, `"expr":"{__name__=~\".+\"}[7200001ms]","instant":true,"range":false,"maxDataPoints":11000,"intervalMs":1000,"format":"time_series"`)
		step := dsBody(tb, series, from, to.Add(-15*time.Second), `"expr":"{__name__=~\".+\"}","instant":false,"range":true,"interval":"15s","maxDataPoints":11000,"intervalMs":15000,"format":"time_series"`)
		dsBodies = []Body{{Name: "raw", Body: raw}, {Name: "step", Body: step}}
	})
	if dsBodies == nil {
		tb.Fatal("no benchmark bodies")
	}
	return dsBodies
}

// dsBody asks the built-in server the query q (a JSON object without refId
// and datasource) over [from, to] and returns the answer's body.
func dsBody(tb testing.TB, series []extract.Series, from, to time.Time, q string) []byte {
	tb.Helper()
	srv := sim.New(sim.Config{Series: series, Tokens: []string{Token}, Now: func() time.Time { return to.Add(time.Hour) }})
	req := fmt.Sprintf(`{"from":"%d","to":"%d","queries":[{"refId":"A","datasource":{"uid":"grafanacloud-prom","type":"prometheus"},%s}]}`,
		from.UnixMilli(), to.UnixMilli(), q)
	return Post(tb, srv, "/api/ds/query", "application/json", req)
}

// Post POSTs body to the built-in server with Token and returns the
// answer's body, which must be a 200.
func Post(tb testing.TB, srv *sim.Server, path, contentType, body string) []byte {
	tb.Helper()
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+Token)
	r.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		tb.Fatalf("the server answered %d: %.300s", rec.Code, rec.Body.Bytes())
	}
	return rec.Body.Bytes()
}
