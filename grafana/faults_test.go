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
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/grafana/frames"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

func TestFetchConnectionResetMidBody(t *testing.T) {
	t.Run("then answered", func(t *testing.T) {
		f := faults.On(faults.Query).First(2).Do(faults.ResetMidBody)
		url, _ := simtest.Start(t, sim.Config{Series: simData, Tokens: []string{token}}, f)
		c := newTestClient(t, url, Auth{Token: token})
		series, err := (&Source{Client: c, Datasource: promDS}).Fetch(context.Background(), unit())
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		checkUnit(t, series)
		if st := c.Stats(); st.Retries != 2 || f.Count() != 3 {
			t.Fatalf("retries = %d, queries = %d; want 2 retries and 3 queries", st.Retries, f.Count())
		}
	})
	t.Run("every time", func(t *testing.T) {
		f := faults.On(faults.Query).Do(faults.ResetMidBody)
		url, _ := simtest.Start(t, sim.Config{Series: simData, Tokens: []string{token}}, f)
		c := newTestClient(t, url, Auth{Token: token})
		series, err := (&Source{Client: c, Datasource: promDS}).Fetch(context.Background(), unit())
		// The half body read before the reset is not mistaken for an
		// answer: the error says the connection broke while reading.
		if err == nil || !strings.Contains(err.Error(), "reading the answer") || !strings.Contains(err.Error(), "connection reset by peer") {
			t.Fatalf("Fetch = %d series, %v; want an error saying the connection was reset while reading the answer", len(series), err)
		}
		if st := c.Stats(); st.Retries != 4 || f.Count() != 5 || st.Bytes == 0 {
			t.Fatalf("retries = %d, queries = %d, bytes = %d; want the 4 retries allowed, 5 queries and part of a body received", st.Retries, f.Count(), st.Bytes)
		}
	})
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
			f := faults.On(faults.Query).First(1).Do(faults.Stall(tc.startBody))
			url, _ := simtest.Start(t, sim.Config{Series: simData, Tokens: []string{token}}, f)
			var logs bytes.Buffer
			// A fast answer takes some 50ms here; the timeout is far above
			// that, so only the stalled one runs into it.
			c, err := NewClient(Options{URL: url, Auth: Auth{Token: token}, Timeout: 2 * time.Second,
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
			if st := c.Stats(); st.Retries != 1 || f.Count() != 2 {
				t.Fatalf("retries = %d, queries = %d; want 1 retry and 2 queries\n%s", st.Retries, f.Count(), logs.String())
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
			// A second query, refId B, beside every request's A.
			url, _ := simtest.Start(t, sim.Config{Series: simData, Tokens: []string{token}, Intercept: intercept},
				faults.On(faults.Query).Do(faults.AddQuery("B", tc.expr)))

			t.Run("decode", func(t *testing.T) {
				req, _ := buildQuery(promDS, unit())
				body, _ := json.Marshal(req)
				hreq, _ := http.NewRequest(http.MethodPost, url+"/api/ds/query", bytes.NewReader(body))
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
				c := newTestClient(t, url, Auth{Token: token})
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
