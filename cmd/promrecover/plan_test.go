package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/grafana/sim"
)

func planData(from, to time.Time) []extract.Series {
	return []extract.Series{
		scraped(labels.FromStrings("__name__", "up", "cluster", "eu-1", "job", "node", "instance", "a"), from, to),
		scraped(labels.FromStrings("__name__", "up", "cluster", "eu-2", "job", "node", "instance", "a"), from, to),
		scraped(labels.FromStrings("__name__", "up", "cluster", "eu-1", "job", "api", "instance", "b"), from, to),
		scraped(labels.FromStrings("__name__", "temp", "cluster", "eu-1", "job", "node", "instance", "a"), from, to),
		scraped(labels.FromStrings("__name__", "other", "job", "else"), from, to),
	}
}

// checkNothingWritten fails when dir holds anything, and when a data query
// was sent.
func checkNothingWritten(t *testing.T, srv *sim.Server, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("the plan wrote %s", e.Name())
	}
	if n := srv.Counters().DSQueries; n != 0 {
		t.Errorf("the plan sent %d data queries", n)
	}
}

func TestPlanAndDryRun(t *testing.T) {
	from, to := dataStart, dataStart.Add(6*time.Hour)
	for _, cmd := range [][]string{{"plan"}, {"recover", "--dry-run"}} {
		t.Run(cmd[0], func(t *testing.T) {
			srv := sim.New(sim.Config{Series: planData(from, to), Tokens: []string{testToken}})
			hs := httptest.NewServer(srv)
			defer hs.Close()
			out := t.TempDir()
			args := append(cmd, "--grafana-url", hs.URL, "--token", testToken, "--datasource", "grafanacloud-prom",
				"--from", from.Add(time.Hour).Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", out,
				"--match", `{job="node"}`, "--match", `{job="api"}`, "--drop-label", "cluster")
			stdout, stderr, err := runCLI(t, args...)
			if err != nil {
				t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
			}
			for _, want := range []string{
				"3 windows of 2h, 2 selectors",
				"2025-08-03T00:00:00Z..2025-08-03T02:00:00Z",
				"2025-08-03T04:00:00Z..2025-08-03T06:00:00Z",
				"relabelling before writing: --drop-label cluster",
				"temp         1", "up           3", "total        4",
				`relabelling merges series: {__name__="up", cluster="eu-1", instance="a", job="node"} and {__name__="up", cluster="eu-2", instance="a", job="node"} both become`,
				"requests: 3 (3 windows x 1 of up to 8 selectors each)",
				"samples: 4800 (4 series x 5h0m0s / --scrape-interval 15s",
				"download: 93.8 KiB of JSON, about 31.2 KiB gzipped",
				"nothing was written",
			} {
				if !strings.Contains(stdout, want) {
					t.Errorf("output lacks %q:\n%s", want, stdout)
				}
			}
			if strings.Contains(stdout, "other") || strings.Contains(stdout, "in the head") || strings.Contains(stdout, "past --retention") {
				t.Errorf("output has what it should not:\n%s", stdout)
			}
			checkNothingWritten(t, srv, out)
		})
	}
}

func TestPlanMarksHeadAndRetention(t *testing.T) {
	now := time.Now()
	srv := sim.New(sim.Config{Series: planData(now.Add(-10*time.Hour), now), Tokens: []string{testToken}})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	stdout, stderr, err := runCLI(t, "plan", "--grafana-url", hs.URL, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", "now-9h", "--to", "now-1h", "--retention", "4h", "--scrape-interval", "1m")
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	for _, want := range []string{"in the head (last 3h)", "past --retention", "windows reach into the last 3h", "total        5", "--scrape-interval 1m0s"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestPlanWithoutDiscovery(t *testing.T) {
	from, to := dataStart, dataStart.Add(4*time.Hour)
	for _, tc := range []struct {
		name, path, want string
		metrics          bool
	}{
		{"names refused", "/api/v1/label/__name__/values", "series: unknown: Grafana refused the metric name lookup: HTTP 403", false},
		{"series refused", "/api/v1/series", "series: unknown: Grafana refused the series lookup: HTTP 403", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := sim.New(sim.Config{Series: planData(from, to), Tokens: []string{testToken}, Intercept: func(c sim.PromCall) *sim.PromReply {
				if c.Path == tc.path {
					return &sim.PromReply{Status: http.StatusForbidden, Body: `{"message":"Access denied"}`}
				}
				return nil
			}})
			hs := httptest.NewServer(srv)
			defer hs.Close()
			out := t.TempDir()
			stdout, stderr, err := runCLI(t, "recover", "--dry-run", "--grafana-url", hs.URL, "--token", testToken, "--datasource", "grafanacloud-prom",
				"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", out)
			if err != nil {
				t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
			}
			for _, want := range []string{tc.want, "requests: 2", "samples and bytes: unknown", "nothing was written"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("output lacks %q:\n%s", want, stdout)
				}
			}
			if got := strings.Contains(stdout, "up      unknown"); got != tc.metrics {
				t.Errorf("metrics listed without counts: %v, want %v:\n%s", got, tc.metrics, stdout)
			}
			checkNothingWritten(t, srv, out)
		})
	}
}
