package grafana

// Faults on the way between promrecover and Grafana, injected by HTTP
// middleware in front of the built-in server and met by the real client:
// connections reset in the middle of a body, answers slower than the client's
// timeout, and a 400 in which one refId failed while another succeeded.
// TestFetchRetries (client_test.go) covers 429, 5xx, dropped connections and
// bodies cut short.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/grafana/frames"
	"github.com/promrecover/promrecover/internal/sim"
)

// resetMidBody lets the server answer, sends the status line, the headers
// and half of the body, then resets the TCP connection (SO_LINGER 0 makes
// Close send RST instead of FIN), as a crashing proxy or a load balancer
// dropping a backend does.
func resetMidBody(next http.Handler) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err) // the test server always allows it
		}
		fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n",
			rec.Code, http.StatusText(rec.Code), len(body))
		if enc := rec.Header().Get("Content-Encoding"); enc != "" {
			fmt.Fprintf(buf, "Content-Encoding: %s\r\n", enc)
		}
		buf.WriteString("\r\n")
		buf.Write(body[:len(body)/2])
		buf.Flush()
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	}
}

func TestFetchConnectionResetMidBody(t *testing.T) {
	t.Run("then answered", func(t *testing.T) {
		srv := sim.New(sim.Config{Series: simData, Tokens: []string{token}})
		f := &faults{next: srv, n: 2, fail: resetMidBody(srv)}
		hs := httptest.NewServer(f)
		defer hs.Close()
		c := newTestClient(t, hs.URL, Auth{Token: token})
		series, err := (&Source{Client: c, Datasource: promDS}).Fetch(context.Background(), unit())
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		checkUnit(t, series)
		if st := c.Stats(); st.Retries != 2 || f.requests() != 3 {
			t.Fatalf("retries = %d, queries = %d; want 2 retries and 3 queries", st.Retries, f.requests())
		}
	})
	t.Run("every time", func(t *testing.T) {
		srv := sim.New(sim.Config{Series: simData, Tokens: []string{token}})
		f := &faults{next: srv, n: 1 << 30, fail: resetMidBody(srv)}
		hs := httptest.NewServer(f)
		defer hs.Close()
		c := newTestClient(t, hs.URL, Auth{Token: token})
		series, err := (&Source{Client: c, Datasource: promDS}).Fetch(context.Background(), unit())
		// The half body read before the reset is not mistaken for an
		// answer: the error says the connection broke while reading.
		if err == nil || !strings.Contains(err.Error(), "reading the answer") || !strings.Contains(err.Error(), "connection reset by peer") {
			t.Fatalf("Fetch = %d series, %v; want an error saying the connection was reset while reading the answer", len(series), err)
		}
		if st := c.Stats(); st.Retries != 4 || f.requests() != 5 || st.Bytes == 0 {
			t.Fatalf("retries = %d, queries = %d, bytes = %d; want the 4 retries allowed, 5 queries and part of a body received", st.Retries, f.requests(), st.Bytes)
		}
	})
}

// stall is an answer slower than the client's timeout: nothing at all, or
// the headers and the start of the body. It waits until the client gives up
// and closes the connection, or a minute at most, so it always ends.
func stall(startBody bool) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		// With the request read, the server watches the connection and
		// cancels r.Context() when the client closes it.
		io.Copy(io.Discard, r.Body)
		if startBody {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(`{"results":{"A":{"status":200,"frames":[`))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
	}
}

func TestFetchSlowerThanTimeout(t *testing.T) {
	for _, tc := range []struct {
		name      string
		startBody bool
	}{
		{"no headers", false},
		{"body stalls", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &faults{next: sim.New(sim.Config{Series: simData, Tokens: []string{token}}), n: 1, fail: stall(tc.startBody)}
			hs := httptest.NewServer(f)
			defer hs.Close()
			var logs bytes.Buffer
			// A fast answer takes some 50ms here; the timeout is far above
			// that, so only the stalled one runs into it.
			c, err := NewClient(Options{URL: hs.URL, Auth: Auth{Token: token}, Timeout: 2 * time.Second,
				RetryInitial: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond, MaxRetries: 4,
				Log: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			series, err := (&Source{Client: c, Datasource: promDS}).Fetch(context.Background(), unit())
			if err != nil {
				t.Fatalf("Fetch: %v\n%s", err, logs.String())
			}
			checkUnit(t, series)
			if st := c.Stats(); st.Retries != 1 || f.requests() != 2 {
				t.Fatalf("retries = %d, queries = %d; want 1 retry and 2 queries\n%s", st.Retries, f.requests(), logs.String())
			}
			if !strings.Contains(logs.String(), "Client.Timeout") {
				t.Fatalf("the retry was not for the timeout:\n%s", logs.String())
			}
		})
	}
}

// decodedResult is a refId's result with the series that came before it.
type decodedResult struct {
	frames.Result
	Series []extract.Series
}

// decodeResults reads an /api/ds/query answer whole, by refId.
func decodeResults(r io.Reader) (map[string]*decodedResult, error) {
	h := &resultsHandler{results: map[string]*decodedResult{}}
	return h.results, frames.Decode(r, h)
}

type resultsHandler struct {
	results map[string]*decodedResult
	series  []extract.Series
}

func (h *resultsHandler) Series(_ string, s extract.Series) error {
	h.series = append(h.series, extract.Series{Labels: s.Labels, Samples: slices.Clone(s.Samples)})
	return nil
}

func (h *resultsHandler) Result(r *frames.Result) error {
	h.results[r.RefID] = &decodedResult{Result: *r, Series: h.series}
	h.series = nil
	return nil
}

// withRefIDB adds to every /api/ds/query request a second query, refId B,
// that fails (a PromQL syntax error), and passes the request on: Grafana then
// answers HTTP 400 with A's frames beside B's error.
type withRefIDB struct {
	next http.Handler
	expr string // B's expression
}

func (m *withRefIDB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/ds/query" {
		var req queryRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Queries) == 0 {
			http.Error(w, "the test middleware cannot read the request", http.StatusTeapot)
			return
		}
		b := req.Queries[0]
		b.RefID, b.Expr = "B", m.expr
		req.Queries = append(req.Queries, b)
		body, _ := json.Marshal(req)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	m.next.ServeHTTP(w, r)
}

func TestFailedRefIDBesideGoodOne(t *testing.T) {
	cases := []struct {
		name, expr string
		b503       bool // B's upstream call gets a 503
		bErr       string
	}{
		{"B cannot pass", `rate(`, false, "bad_data: invalid parameter"},
		{"B may pass on a retry", `up[1h]`, true, "unavailable: ingester unavailable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			intercept := func(call sim.PromCall) *sim.PromReply {
				if tc.b503 && call.RefID == "B" {
					return &sim.PromReply{Status: http.StatusServiceUnavailable, Body: `{"status":"error","errorType":"unavailable","error":"ingester unavailable"}`}
				}
				return nil
			}
			srv := sim.New(sim.Config{Series: simData, Tokens: []string{token}, Intercept: intercept})
			hs := httptest.NewServer(&withRefIDB{next: srv, expr: tc.expr})
			defer hs.Close()

			t.Run("decode", func(t *testing.T) {
				req, _ := buildQuery(promDS, unit())
				body, _ := json.Marshal(req)
				hreq, _ := http.NewRequest(http.MethodPost, hs.URL+"/api/ds/query", bytes.NewReader(body))
				hreq.Header.Set("Authorization", "Bearer "+token)
				hreq.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(hreq)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("HTTP %d; Grafana answers 400 when any refId failed", resp.StatusCode)
				}
				dec, err := decodeResults(resp.Body)
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				a, b := dec["A"], dec["B"]
				if a == nil || b == nil {
					t.Fatalf("results %+v; want A and B", dec)
				}
				if a.Error != "" || a.Status != http.StatusOK {
					t.Fatalf("A: status %d, error %q; want a success", a.Status, a.Error)
				}
				checkUnit(t, a.Series)
				if !strings.Contains(b.Error, tc.bErr) || b.Status == http.StatusOK || len(b.Series) != 0 {
					t.Fatalf("B: status %d, error %q, %d series; want the error %q and no series", b.Status, b.Error, len(b.Series), tc.bErr)
				}
			})

			t.Run("Source", func(t *testing.T) {
				c := newTestClient(t, hs.URL, Auth{Token: token})
				series, err := (&Source{Client: c, Datasource: promDS}).Fetch(context.Background(), unit())
				if err != nil {
					t.Fatalf("Fetch: %v; A succeeded, B's failure is not A's", err)
				}
				checkUnit(t, series)
				if st := c.Stats(); st.Retries != 0 || st.Requests != 1 {
					t.Fatalf("retries = %d, requests = %d; A's answer was there the first time", st.Retries, st.Requests)
				}
			})
		})
	}
}
