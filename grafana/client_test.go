package grafana

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

func TestFetchRetries(t *testing.T) {
	cases := []struct {
		name    string
		n       int
		fail    faults.Fault
		retries int64
		minGap  time.Duration // the wait the server asked for
		errPart string
	}{
		{name: "429 with Retry-After", n: 2, retries: 2, minGap: time.Second,
			fail: faults.Error(http.StatusTooManyRequests, `{"message":"too many requests"}`, "Retry-After", "1")},
		{name: "429 without Retry-After", n: 1, retries: 1, fail: faults.Error(http.StatusTooManyRequests, `{"message":"too many requests"}`)},
		{name: "HTTP 500", n: 2, retries: 2, fail: faults.Status(http.StatusInternalServerError)},
		{name: "HTTP 502", n: 2, retries: 2, fail: faults.Status(http.StatusBadGateway)},
		{name: "HTTP 503", n: 2, retries: 2, fail: faults.Status(http.StatusServiceUnavailable)},
		{name: "HTTP 504", n: 2, retries: 2, fail: faults.Status(http.StatusGatewayTimeout)},
		{name: "connection dropped", n: 2, retries: 2, fail: faults.Close},
		{name: "body cut short", n: 1, retries: 1, fail: faults.Answer(http.StatusOK, `{"results":{"A":{"status":200,"frames":[{"schema":`, "Content-Length", "1000")},
		{name: "a refId failed downstream with 503", n: 1, retries: 1,
			fail: faults.Answer(http.StatusBadRequest, `{"results":{"A":{"error":"unexpected response with status code 503: unavailable","errorSource":"downstream","status":500}}}`)},
		{name: "retries run out", n: 100, retries: 4, errPart: "HTTP 500", fail: faults.Error(http.StatusInternalServerError, "boom")},
		{name: "a query that cannot pass is not retried", n: 100, retries: 0, errPart: "too big",
			fail: faults.Answer(http.StatusBadRequest, `{"results":{"A":{"error":"execution: (err-mimir-max-series-per-query)","errorSource":"downstream","status":422}}}`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := faults.On(faults.Query).First(tc.n).Do(tc.fail)
			url, _ := simtest.Start(t, sim.Config{Series: simData, Tokens: []string{token}}, q)
			c := newTestClient(t, url, Auth{Token: token})
			series, err := (&Source{Client: c, Datasource: promDS}).Fetch(context.Background(), unit())
			if tc.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("error = %v, want one containing %q", err, tc.errPart)
				}
			} else if err != nil {
				t.Fatalf("Fetch: %v", err)
			} else {
				checkUnit(t, series)
			}
			if got := c.Stats().Retries; got != tc.retries {
				t.Errorf("retries = %d, want %d", got, tc.retries)
			}
			// A query that cannot pass may be split into smaller ones, so
			// only the others have a fixed number of requests.
			if got := q.Count(); (tc.errPart == "" || tc.retries > 0) && int64(got) != tc.retries+1 {
				t.Errorf("%d queries reached the server, want %d", got, tc.retries+1)
			}
			if tc.minGap > 0 {
				arrivals := q.Arrivals()
				for i := 1; i < len(arrivals); i++ {
					if gap := arrivals[i].Sub(arrivals[i-1]); gap < tc.minGap {
						t.Errorf("retry %d came %s after the previous request; the server asked for %s", i, gap, tc.minGap)
					}
				}
			}
		})
	}
}

func TestSessionRotationWithManyWorkers(t *testing.T) {
	url, srv := simtest.Start(t, sim.Config{Series: simData})
	session := srv.Login("admin")
	c := newTestClient(t, url, Auth{Session: session})
	src := &Source{Client: c, Datasource: promDS}
	srv.AgeSessions(11 * time.Minute)

	ok := fetchConcurrently(t, src, 8, 8)
	if st := c.Stats(); st.Rotations != 1 || ok != 8 {
		t.Fatalf("rotations = %d, successful fetches = %d; want one rotation and 8 fetches", st.Rotations, ok)
	}
	if c.Session() == session || c.Session() == "" {
		t.Fatal("the client does not hold the rotated session")
	}
}

// TestRotationDemandedAgain has Grafana answer the request resent after a
// rotation with another rotation demand, as many times in a row as demands
// says: the client rotates again each time, up to its bound, and a demand is
// never taken for a revoked cookie.
func TestRotationDemandedAgain(t *testing.T) {
	cases := []struct {
		name    string
		demands int
		errPart string // "" for a fetch that passes
	}{
		{name: "once", demands: 1},
		{name: "the resent request too", demands: 2},
		{name: "up to the bound", demands: maxRotations},
		{name: "past the bound", demands: maxRotations + 1, errPart: "due again after each of 10 rotations in a row"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := sim.New(sim.Config{Series: simData})
			// Each of the first queries finds the session ten minutes older,
			// so Grafana demands a rotation even of the token just rotated to.
			age := faults.On(faults.Query).First(tc.demands).Do(faults.Run(func() { srv.AgeSessions(11 * time.Minute) }))
			c := newTestClient(t, simtest.Serve(t, srv, age), Auth{Session: srv.Login("admin")})
			series, err := (&Source{Client: c, Datasource: promDS}).Fetch(context.Background(), unit())
			var abort *extract.AbortError
			switch {
			case err != nil && strings.Contains(err.Error(), "revoked"):
				t.Fatalf("a rotation demand was reported as a revoked cookie: %v", err)
			case tc.errPart == "" && err != nil:
				t.Fatalf("Fetch: %v", err)
			case tc.errPart == "":
				checkUnit(t, series)
			case err == nil || !strings.Contains(err.Error(), tc.errPart) || !errors.As(err, &abort):
				t.Fatalf("error = %v, want an abort containing %q", err, tc.errPart)
			}
			want := int64(min(tc.demands, maxRotations))
			if got := c.Stats().Rotations; got != want || srv.Counters().Rotations != want {
				t.Errorf("%d rotations by the client, %d on the server, want %d", got, srv.Counters().Rotations, want)
			}
			if c.Stats().Retries != 0 {
				t.Errorf("%d retries: a rotation demand is not a failure", c.Stats().Retries)
			}
		})
	}
}

// TestRotationEveryFewRequests runs four workers against a Grafana that
// demands a rotation every three calls: after each rotation the workers'
// resent requests race for the new token's three calls, so some resend
// meets another demand and must rotate again.
func TestRotationEveryFewRequests(t *testing.T) {
	url, srv := simtest.Start(t, sim.Config{Series: simData, RotateEvery: 3})
	session := srv.Login("admin")
	c := newTestClient(t, url, Auth{Session: session})
	src := &Source{Client: c, Datasource: promDS}
	ok := fetchConcurrently(t, src, 24, 4)
	st := c.Stats()
	if ok != 24 || st.Rotations < 7 || st.Rotations != srv.Counters().Rotations {
		t.Fatalf("%d of 24 fetches passed; %d rotations by the client, %d on the server (want the same, at least one every three calls)", ok, st.Rotations, srv.Counters().Rotations)
	}
	if c.Session() == session {
		t.Fatal("the client does not hold the rotated session")
	}
}

func TestRefusedCredentials(t *testing.T) {
	url, srv := simtest.Start(t, sim.Config{Series: simData, Tokens: []string{token}, Users: map[string]string{"admin": password}})
	revoked := srv.Login("admin")
	srv.RevokeSessions()
	cases := []struct {
		name    string
		auth    Auth
		errPart string
	}{
		{"revoked session", Auth{Session: revoked}, "log in again"},
		{"wrong token", Auth{Token: token + "x"}, "refused the token"},
		{"wrong password", Auth{User: "admin", Password: password + "x"}, "refused the user and password"},
		{"no credentials", Auth{}, "wants credentials"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestClient(t, url, tc.auth)
			_, err := (&Source{Client: c, Datasource: promDS}).Fetch(context.Background(), unit())
			var abort *extract.AbortError
			if err == nil || !strings.Contains(err.Error(), tc.errPart) || !errors.As(err, &abort) {
				t.Fatalf("error = %v, want an abort containing %q", err, tc.errPart)
			}
			if c.Stats().Retries != 0 {
				t.Errorf("refused credentials were retried %d times", c.Stats().Retries)
			}
			for _, secret := range []string{token, password, revoked} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("the error shows a secret: %v", err)
				}
			}
		})
	}
}

func TestResolveDatasource(t *testing.T) {
	url, _ := simtest.Start(t, sim.Config{Tokens: []string{token}, Datasources: []sim.Datasource{
		{ID: 1, UID: "grafanacloud-prom", Name: "grafanacloud-example-prom", Type: "prometheus"},
		{ID: 2, UID: "logs", Name: "grafanacloud-example-logs", Type: "loki"},
	}})
	c := newTestClient(t, url, Auth{Token: token})
	cases := []struct {
		ref, uid, errPart string
	}{
		{"grafanacloud-prom", "grafanacloud-prom", ""},
		{"grafanacloud-example-prom", "grafanacloud-prom", ""},
		{"logs", "", "not Prometheus"},
		{"nope", "", "give as the datasource one of"},
		{"", "grafanacloud-prom", ""}, // the only Prometheus one
	}
	for _, tc := range cases {
		ds, err := c.ResolveDatasource(context.Background(), tc.ref)
		if tc.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Errorf("%s: error = %v, want one containing %q", tc.ref, err, tc.errPart)
			}
			continue
		}
		if err != nil || ds.UID != tc.uid {
			t.Errorf("%s: got %+v, %v", tc.ref, ds, err)
		}
	}
	list, err := c.Datasources(context.Background())
	types := map[string]string{}
	for _, ds := range list {
		types[ds.UID] = ds.Type
	}
	if err != nil || len(list) != 2 || types["logs"] != "loki" || types["grafanacloud-prom"] != "prometheus" {
		t.Fatalf("Datasources = %+v, %v", list, err)
	}
}

// fetchConcurrently fetches the test unit n times through src, workers at a
// time, failing t on the first error, and returns how many fetches gave
// series.
func fetchConcurrently(t *testing.T, src *Source, n, workers int) int64 {
	t.Helper()
	var g errgroup.Group
	g.SetLimit(workers)
	var ok atomic.Int64
	for range n {
		g.Go(func() error {
			s, err := src.Fetch(context.Background(), unit())
			if err == nil && len(s) > 0 {
				ok.Add(1)
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	return ok.Load()
}
