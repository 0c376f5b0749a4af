package sim

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// t0 is 2025-01-01T00:00:00Z, a multiple of every step the tests use.
const t0 = int64(1735689600000)

const testToken = "glsa_test_token"

// clock is a settable Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// everyStep makes a series sampled every step from..to (exclusive) with
// values 0, 1, 2, ...
func everyStep(lset labels.Labels, from, to, step int64) extract.Series {
	s := extract.Series{Labels: lset}
	for t, i := from, 0; t < to; t, i = t+step, i+1 {
		s.Samples = append(s.Samples, extract.Sample{T: t, V: float64(i)})
	}
	return s
}

func testSeries() []extract.Series {
	return []extract.Series{
		everyStep(labels.FromStrings("__name__", "x", "job", "x", "instance", "i1"), t0, t0+4*3600000, 15000),
		everyStep(labels.FromStrings("__name__", "x", "job", "x", "instance", "i2"), t0, t0+4*3600000, 15000),
	}
}

func newTestServer(t *testing.T, cfg Config) (*Server, *clock) {
	t.Helper()
	c := &clock{now: time.UnixMilli(t0 + 24*3600000).UTC()}
	if cfg.Series == nil {
		cfg.Series = testSeries()
	}
	if cfg.Tokens == nil {
		cfg.Tokens = []string{testToken}
	}
	if cfg.Users == nil {
		cfg.Users = map[string]string{"admin": "secret"}
	}
	if cfg.Now == nil {
		cfg.Now = c.Now
	}
	return New(cfg), c
}

type req struct {
	method, path string
	body         any
	header       map[string]string
	cookie       string // session cookie value
}

func (r req) do(t *testing.T, s *Server) *httptest.ResponseRecorder {
	t.Helper()
	var body bytes.Buffer
	if r.body != nil {
		if err := json.NewEncoder(&body).Encode(r.body); err != nil {
			t.Fatal(err)
		}
	}
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	hr := httptest.NewRequest(method, r.path, &body)
	if r.cookie != "" {
		hr.AddCookie(&http.Cookie{Name: "grafana_session", Value: r.cookie})
	} else if _, ok := r.header["Authorization"]; !ok {
		hr.Header.Set("Authorization", "Bearer "+testToken)
	}
	for k, v := range r.header {
		if v == "" {
			hr.Header.Del(k)
		} else {
			hr.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, hr)
	return w
}

// dsq is a /api/ds/query body with epoch-ms from/to.
func dsq(from, to int64, queries ...map[string]any) map[string]any {
	for i, q := range queries {
		if _, ok := q["refId"]; !ok {
			q["refId"] = string(rune('A' + i))
		}
		if _, ok := q["datasource"]; !ok {
			q["datasource"] = map[string]any{"uid": "grafanacloud-prom", "type": "prometheus"}
		}
	}
	return map[string]any{"from": strconv.FormatInt(from, 10), "to": strconv.FormatInt(to, 10), "queries": queries}
}

// query posts a ds/query body with the test token and decodes the answer
// with the plugin SDK, as a Grafana client written against it would.
func query(t *testing.T, s *Server, body map[string]any) (int, *backend.QueryDataResponse, []byte) {
	t.Helper()
	w := req{path: "/api/ds/query", body: body}.do(t, s)
	var qdr backend.QueryDataResponse
	if err := json.Unmarshal(w.Body.Bytes(), &qdr); err != nil {
		t.Fatalf("status %d, undecodable body %q: %v", w.Code, w.Body.String(), err)
	}
	return w.Code, &qdr, w.Body.Bytes()
}

// sample is one decoded (t, v) pair; NaN compares equal to NaN.
type sample struct {
	T int64
	V float64
}

func sameSamples(a, b []sample) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].T != b[i].T || !(a[i].V == b[i].V || math.IsNaN(a[i].V) && math.IsNaN(b[i].V)) {
			return false
		}
	}
	return true
}

// frameSamples reads a decoded frame's time and value fields.
func frameSamples(t *testing.T, qdr *backend.QueryDataResponse, refID string, i int) []sample {
	t.Helper()
	f := qdr.Responses[refID].Frames[i]
	if len(f.Fields) != 2 {
		t.Fatalf("frame %d of %s has %d fields", i, refID, len(f.Fields))
	}
	out := make([]sample, f.Fields[0].Len())
	for j := range out {
		out[j] = sample{T: f.Fields[0].At(j).(time.Time).UnixMilli(), V: f.Fields[1].At(j).(float64)}
	}
	return out
}

func decodeMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return m
}
