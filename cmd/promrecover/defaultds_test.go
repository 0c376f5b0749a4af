package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

var (
	promA = sim.Datasource{ID: 1, UID: "prom-a", Name: "Prometheus A", Type: "prometheus", URL: "http://prometheus-a:9090"}
	promB = sim.Datasource{ID: 2, UID: "prom-b", Name: "Prometheus B", Type: "prometheus", URL: "http://prometheus-b:9090"}
	logs  = sim.Datasource{ID: 3, UID: "logs", Name: "Logs", Type: "loki", URL: "http://loki:3100"}
)

// rangeArgs are the flags of a short recovery from url, without the
// datasource.
func rangeArgs(url string) []string {
	return []string{"--grafana-url", url, "--token", testToken,
		"--from", dataStart.Add(2 * time.Hour).Format(time.RFC3339), "--to", dataStart.Add(6 * time.Hour).Format(time.RFC3339)}
}

// TestDatasourceLeftOutIsTheOnlyPrometheus recovers without --datasource
// from a Grafana with one Prometheus datasource (and a Loki one), says
// which it picked, and keys the resume state by its uid: naming it later
// resumes the same recovery.
func TestDatasourceLeftOutIsTheOnlyPrometheus(t *testing.T) {
	url, srv := simtest.Start(t, sim.Config{Series: gen.DemoSeries(dataStart, dataEnd, 1), Tokens: []string{testToken},
		Datasources: []sim.Datasource{logs, promA}})
	out := t.TempDir()
	for _, cmd := range [][]string{{"plan", "--out", out}, {"recover", "--dry-run", "--out", out}} {
		stdout, stderr, err := runCLI(t, append(cmd, rangeArgs(url)...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", cmd, err, stderr)
		}
		if !strings.Contains(stdout, "Prometheus A") || !strings.Contains(stdout, "prom-a") {
			t.Errorf("%v does not name the datasource picked:\n%s", cmd, stdout)
		}
	}
	stdout, stderr, err := runCLI(t, append([]string{"recover", "--out", out}, rangeArgs(url)...)...)
	if err != nil {
		t.Fatalf("recover without --datasource: %v\n%s\n%s", err, stdout, stderr)
	}
	picked := `--datasource not given; using the only Prometheus datasource these credentials see" datasource="Prometheus A" uid=prom-a`
	if strings.Count(stderr, "level=INFO") == 0 || strings.Count(stderr, picked) != 1 {
		t.Errorf("the log does not say once which datasource was picked (%s):\n%s", picked, stderr)
	}
	if have := blockWindows(t, out); len(have) != 2 {
		t.Fatalf("want a block for each of the 2 windows, have %v", have)
	}
	before := srv.Counters().DSQueries
	stdout, stderr, err = runCLI(t, append([]string{"recover", "--out", out, "--datasource", "prom-a"}, rangeArgs(url)...)...)
	if err != nil {
		t.Fatalf("naming the datasource picked: %v\n%s\n%s", err, stdout, stderr)
	}
	if !strings.Contains(stdout, "nothing left to recover from Prometheus A (prom-a)") || srv.Counters().DSQueries != before {
		t.Errorf("naming the datasource picked does not resume the same recovery:\n%s", stdout)
	}
}

// TestDatasourceLeftOutRefusesToGuess leaves --datasource out where the
// credentials see several Prometheus datasources, or none.
func TestDatasourceLeftOutRefusesToGuess(t *testing.T) {
	cases := []struct {
		name string
		dss  []sim.Datasource
		want string
	}{
		{"two", []sim.Datasource{promA, logs, promB}, "--datasource not given, and these credentials see several Prometheus datasources; give --datasource one of the uids (or names) 'promrecover datasources' lists: prom-a (Prometheus A), prom-b (Prometheus B)"},
		{"none", []sim.Datasource{logs}, "--datasource not given; these credentials see no Prometheus datasource (check --org-id, or the service account's permissions)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url, srv := simtest.Start(t, sim.Config{Series: gen.DemoSeries(dataStart, dataEnd, 1), Tokens: []string{testToken}, Datasources: tc.dss})
			out := t.TempDir()
			for _, cmd := range [][]string{{"recover", "--out", out}, {"recover", "--dry-run", "--out", out}, {"plan"}, {"export", "-o", "-"}} {
				stdout, stderr, err := runCLI(t, append(cmd, rangeArgs(url)...)...)
				if err == nil || err.Error() != tc.want {
					t.Errorf("%v: error = %v, want %s\n%s\n%s", cmd, err, tc.want, stdout, stderr)
				}
			}
			if n := srv.Counters().DSQueries; n != 0 {
				t.Errorf("%d data queries were sent", n)
			}
			checkNothingWritten(t, srv, out)
		})
	}
}

// TestExportWritesToStdoutByDefault exports without --out.
func TestExportWritesToStdoutByDefault(t *testing.T) {
	url, _ := simtest.Start(t, sim.Config{Series: gen.DemoSeries(dataStart, dataEnd, 1), Tokens: []string{testToken}})
	stdout, stderr, err := runCLI(t, append([]string{"export", "--datasource", "grafanacloud-prom", "--match", "up"}, rangeArgs(url)...)...)
	if err != nil {
		t.Fatalf("export without --out: %v\n%s", err, stderr)
	}
	var doc struct {
		Status string `json:"status"`
		Data   struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || doc.Status != "success" || len(doc.Data.Result) == 0 {
		t.Fatalf("stdout is not the exported matrix (%v):\n%.500s", err, stdout)
	}
}
