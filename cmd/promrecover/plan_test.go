package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
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
			hsURL := simtest.Serve(t, srv)
			// --out not created yet, as before a backfill: planned all the
			// same, and still not created.
			root := t.TempDir()
			args := append(cmd, "--grafana-url", hsURL, "--token", testToken, "--datasource", "grafanacloud-prom",
				"--from", from.Add(time.Hour).Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", filepath.Join(root, "prometheus"),
				"--match", `{job="node"}`, "--match", `{job="api"}`, "--drop-label", "cluster")
			stdout, stderr, err := runCLI(t, args...)
			if err != nil {
				t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
			}
			for _, want := range []string{
				"3 windows of 2h, 2 selectors",
				"2025-08-03T00:00:00Z .. 2025-08-03T06:00:00Z  3 windows",
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
			checkNothingWritten(t, srv, root)
		})
	}
}

func TestPlanMarksHeadAndRetention(t *testing.T) {
	now := time.Now()
	srv := sim.New(sim.Config{Series: planData(now.Add(-10*time.Hour), now), Tokens: []string{testToken}})
	hsURL := simtest.Serve(t, srv)
	stdout, stderr, err := runCLI(t, "plan", "--grafana-url", hsURL, "--token", testToken, "--datasource", "grafanacloud-prom",
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

// TestPlanDiscoverySources: plan counts the series through whichever
// source Grafana allows and names it; where none answers, the counts are
// unknown and the plan still runs.
func TestPlanDiscoverySources(t *testing.T) {
	from, to := dataStart, dataStart.Add(4*time.Hour)
	countsRefused := func(c sim.PromCall) *sim.PromReply {
		if strings.Contains(c.Expr, "last_over_time(") {
			return &sim.PromReply{Status: http.StatusUnprocessableEntity, Body: `{"status":"error","errorType":"execution","error":"the query exceeded the maximum number of chunks (limit: 1 chunks) (err-mimir-max-chunks-per-query)"}`}
		}
		return nil
	}
	for _, tc := range []struct {
		name                         string
		refuseResources, refuseProxy int
		intercept                    func(sim.PromCall) *sim.PromReply
		extra                        []string
		want                         []string
	}{
		{"the series API", 0, 0, nil, nil,
			[]string{"series per metric, counted via the series API:", "up           3", "total        5", "samples: 4800"}},
		{"resources refused: the datasource proxy", http.StatusNotFound, 0, nil, nil,
			[]string{"series per metric, counted via the datasource proxy:", "up           3", "total        5"}},
		{"--via proxy: the datasource proxy", 0, 0, nil, []string{"--via", "proxy"},
			[]string{"series per metric, counted via the datasource proxy:", "total        5"}},
		{"both refused: count queries", http.StatusForbidden, http.StatusForbidden, nil, []string{"--drop-label", "cluster"},
			[]string{"series per metric, counted via count queries:", "up           3", "total        5", "samples: 4800",
				"relabelling: series it would merge are not looked for (count queries give no label sets)"}},
		{"both refused, --via proxy: count queries through the proxy", http.StatusForbidden, http.StatusForbidden, nil, []string{"--via", "proxy"},
			[]string{"series per metric, counted via count queries:", "total        5"}},
		{"everything refused: unknown", http.StatusForbidden, http.StatusForbidden, countsRefused, nil,
			[]string{"series: unknown: series discovery failed: Grafana refused Prometheus's label API on every path (the series API: HTTP 403", "err-mimir-max-chunks-per-query", "samples and bytes: unknown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := sim.New(sim.Config{Series: planData(from, to), Tokens: []string{testToken},
				RefuseResources: tc.refuseResources, RefuseProxyLookups: tc.refuseProxy, Intercept: tc.intercept})
			hsURL := simtest.Serve(t, srv)
			out := t.TempDir()
			args := append([]string{"recover", "--dry-run", "--grafana-url", hsURL, "--token", testToken, "--datasource", "grafanacloud-prom",
				"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", out}, tc.extra...)
			stdout, stderr, err := runCLI(t, args...)
			if err != nil {
				t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
			}
			for _, want := range append(tc.want, "requests: 2", "nothing was written") {
				if !strings.Contains(stdout, want) {
					t.Errorf("output lacks %q:\n%s", want, stdout)
				}
			}
			if entries, err := os.ReadDir(out); err != nil || len(entries) > 0 {
				t.Errorf("the plan wrote %v (%v)", entries, err)
			}
			// Data queries are sent only to count.
			if c := srv.Counters(); c.Queries+c.ProxyQueries > 0 && !strings.Contains(stdout, "count queries") && !strings.Contains(stdout, "series: unknown") {
				t.Errorf("the plan sent %d data queries", c.Queries+c.ProxyQueries)
			}
		})
	}
}

// TestPlanAfterEarlierRun checks that plan and recover --dry-run read the
// resume state an earlier recover left: windows whose blocks are still there
// are marked and left out of the estimates, a window whose block is gone
// counts again, --restart counts everything, a state of other flags is
// refused as recover refuses it, and the state stays as it was.
func TestPlanAfterEarlierRun(t *testing.T) {
	from, to := dataStart, dataStart.Add(6*time.Hour)
	srv := sim.New(sim.Config{Series: planData(from, to), Tokens: []string{testToken}})
	hsURL := simtest.Serve(t, srv)
	flags := []string{"--grafana-url", hsURL, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--match", "up"}
	for _, tc := range []struct {
		name      string
		lose      bool     // remove the first window's block after the recover
		extra     []string // flags after recover's
		want, not []string
		err       string // in the error, when the plan must fail
	}{
		{"all done", false, nil,
			[]string{"recovered by an earlier run (block ", "all 3 windows were recovered by an earlier run (state: ", "requests: 0 (0 windows", "samples: 0 (3 series x 0s"},
			[]string{"would be skipped"}, ""},
		{"a block gone", true, nil,
			[]string{"2 of 3 windows were recovered by an earlier run", "the estimates cover the other 1", "requests: 1 (1 windows", "samples: 1440 (3 series x 2h0m0s"},
			[]string{"all 3 windows"}, ""},
		{"restart", false, []string{"--restart"},
			[]string{"requests: 3 (3 windows", "samples: 4320 (3 series x 6h0m0s"},
			[]string{"earlier run"}, ""},
		// The earlier recovery was complete, so another one may start.
		{"other flags", false, []string{"--match", "temp"},
			[]string{"requests: 3 (3 windows"}, []string{"earlier run"}, ""},
	} {
		for _, cmd := range [][]string{{"plan"}, {"recover", "--dry-run"}} {
			t.Run(tc.name+"/"+cmd[0], func(t *testing.T) {
				out := t.TempDir()
				stdout, stderr, err := runCLI(t, append(append([]string{"recover"}, flags...), "--out", out)...)
				if err != nil {
					t.Fatalf("recover: %v\n%s\n%s", err, stdout, stderr)
				}
				statePath := filepath.Join(out, "promrecover-state.json")
				if tc.lose {
					var st struct{ Windows []struct{ ULID string } }
					if b, err := os.ReadFile(statePath); err != nil || json.Unmarshal(b, &st) != nil || len(st.Windows) != 3 {
						t.Fatalf("state: %v %+v", err, st)
					}
					if err := os.RemoveAll(filepath.Join(out, st.Windows[0].ULID)); err != nil {
						t.Fatal(err)
					}
				}
				before, err := os.ReadFile(statePath)
				if err != nil {
					t.Fatal(err)
				}
				queries := srv.Counters().DSQueries
				args := append(append(append(slices.Clone(cmd), flags...), "--out", out), tc.extra...)
				stdout, stderr, err = runCLI(t, args...)
				switch {
				case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "--restart")):
					t.Errorf("err = %v, want one with %q naming --restart", err, tc.err)
				case tc.err == "" && err != nil:
					t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
				}
				for _, want := range tc.want {
					if !strings.Contains(stdout, want) {
						t.Errorf("output lacks %q:\n%s", want, stdout)
					}
				}
				for _, not := range tc.not {
					if strings.Contains(stdout, not) {
						t.Errorf("output has %q:\n%s", not, stdout)
					}
				}
				if after, err := os.ReadFile(statePath); err != nil || !bytes.Equal(before, after) {
					t.Errorf("the plan changed the state file (%v):\n%s\nwas\n%s", err, after, before)
				}
				if n := srv.Counters().DSQueries - queries; n != 0 {
					t.Errorf("the plan sent %d data queries", n)
				}
			})
		}
	}
}
