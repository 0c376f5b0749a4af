package main

import (
	"strings"
	"testing"

	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/servers"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// TestGrafanaURLOfADashboard recovers with --grafana-url copied from a
// dashboard in the browser: the run reads from Grafana's address, in the
// dashboard's organization, and says so once; the address itself resumes
// that recovery.
func TestGrafanaURLOfADashboard(t *testing.T) {
	url, _ := simtest.Start(t, sim.Config{Series: gen.DemoSeries(dataStart, dataEnd, 1), Tokens: []string{testToken}, Org: 2})
	page := url + "/d/abc123/node?orgId=2&from=now-6h&viewPanel=3"
	out := t.TempDir()
	stdout, stderr, err := runCLI(t, append([]string{"recover", "--out", out, "--datasource", "grafanacloud-prom"}, rangeArgs(page)...)...)
	if err != nil {
		t.Fatalf("recover from a dashboard's URL: %v\n%s\n%s", err, stdout, stderr)
	}
	note := `level=INFO msg="--grafana-url is the address of a page of Grafana's web UI; reading from the address Grafana serves it from" url=` + url + " org=2"
	if strings.Count(stderr, note) != 1 {
		t.Errorf("the log does not say once that the page's path was dropped (%s):\n%s", note, stderr)
	}
	if have := blockWindows(t, out); len(have) != 2 {
		t.Fatalf("want a block for each of the 2 windows, have %v", have)
	}
	// The resume state keys Grafana's address, not the page's: giving it
	// resumes the same recovery.
	stdout, stderr, err = runCLI(t, append([]string{"recover", "--out", out, "--datasource", "grafanacloud-prom"}, rangeArgs(url)...)...)
	if err != nil || !strings.Contains(stdout, "nothing left to recover") {
		t.Fatalf("recover from Grafana's address after the page's: %v\n%s\n%s", err, stdout, stderr)
	}
	stdout, stderr, err = runCLI(t, "datasources", "--grafana-url", page, "--token", testToken)
	if err != nil || !strings.Contains(stdout, "grafanacloud-prom") {
		t.Fatalf("datasources from a dashboard's URL: %v\n%s\n%s", err, stdout, stderr)
	}
}

// TestGrafanaURLOfAPrometheus gives the real Prometheus's address (2.42's,
// then 3.x's) as --grafana-url: it is recognised and refused, saying what
// to give.
func TestGrafanaURLOfAPrometheus(t *testing.T) {
	for _, v := range servers.Versions {
		t.Run("Prometheus "+string(v), func(t *testing.T) { grafanaURLOfAPrometheus(t, v) })
	}
}

func grafanaURLOfAPrometheus(t *testing.T, v servers.Version) {
	prom := startPrometheus(t, v, t.TempDir())
	for _, args := range [][]string{
		{"datasources", "--grafana-url", prom.url, "--token", testToken},
		append([]string{"recover", "--out", t.TempDir(), "--datasource", "prom"}, rangeArgs(prom.url)...),
	} {
		_, _, err := runCLI(t, args...)
		if err == nil {
			t.Fatalf("%s succeeded against a Prometheus", args[0])
		}
		for _, w := range []string{"--grafana-url " + prom.url + " is a Prometheus server (version ", "not Grafana", "give --grafana-url the address you open Grafana at"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: lacks %q: %v", args[0], w, err)
			}
		}
		if strings.Contains(err.Error(), "datasource \"prom\" not found") {
			t.Errorf("%s blames the datasource: %v", args[0], err)
		}
	}
}
