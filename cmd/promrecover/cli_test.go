package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

func TestDatasourcesListsPrometheusOnes(t *testing.T) {
	url, _ := simtest.Start(t, sim.Config{Tokens: []string{testToken}, Datasources: []sim.Datasource{
		{ID: 1, UID: "grafanacloud-prom", Name: "grafanacloud-example-prom", Type: "prometheus", URL: "https://prometheus-prod-01.grafana.net/api/prom"},
		{ID: 2, UID: "logs", Name: "grafanacloud-example-logs", Type: "loki", URL: "https://logs-prod.grafana.net"},
	}})
	t.Setenv("GRAFANA_TOKEN", testToken) // from the environment, as the README advises
	cases := []struct {
		args      []string
		want, not []string
	}{
		{[]string{"datasources", "--grafana-url", url},
			[]string{"UID", "grafanacloud-prom", "grafanacloud-example-prom", "prometheus", "https://prometheus-prod-01.grafana.net/api/prom"}, []string{"loki"}},
		{[]string{"datasources", "--grafana-url", url, "--all"},
			[]string{"grafanacloud-prom", "logs", "loki"}, nil},
	}
	for _, tc := range cases {
		runWant(t, tc.args, tc.want, tc.not)
	}
}

// TestSecretsStayOutOfOutput runs failing and succeeding commands with every
// kind of credential and verbose logging, and looks for the secrets in all
// they print.
func TestSecretsStayOutOfOutput(t *testing.T) {
	const password = "pa55-w0rd-secret"
	url, srv := simtest.Start(t, sim.Config{Series: gen.DemoSeries(dataStart, dataEnd, 1), Tokens: []string{testToken}, Users: map[string]string{"admin": password}})
	session := srv.Login("admin")
	srv.AgeSessions(11 * time.Minute) // forces a rotation: the new cookie must not show either
	common := []string{"-v", "--grafana-url", url, "--from", dataStart.Add(time.Hour).Format(time.RFC3339), "--to", dataStart.Add(3 * time.Hour).Format(time.RFC3339)}
	cases := [][]string{
		{"recover", "--datasource", "grafanacloud-prom", "--out", t.TempDir(), "--session", session},
		{"recover", "--datasource", "grafanacloud-prom", "--out", t.TempDir(), "--token", testToken},
		{"export", "--datasource", "grafanacloud-prom", "--out", "-", "--user", "admin", "--password", password, "--match", "up"},
		{"recover", "--datasource", "grafanacloud-prom", "--out", t.TempDir(), "--token", testToken + "-wrong"},
		{"recover", "--datasource", "grafanacloud-prom", "--out", t.TempDir(), "--user", "admin", "--password", password + "-wrong"},
		{"recover", "--datasource", "no-such-datasource", "--out", t.TempDir(), "--token", testToken},
	}
	summary := filepath.Join(t.TempDir(), "summary.json")
	for _, args := range cases {
		stdout, stderr, err := runCLI(t, append(append(args, common...), "--summary-json", summary)...)
		written, rerr := os.ReadFile(summary)
		if rerr != nil {
			t.Fatalf("%v: no --summary-json: %v", args[:2], rerr)
		}
		all := stdout + stderr + string(written)
		if err != nil {
			all += err.Error()
		}
		for _, secret := range []string{testToken, password, session} {
			if strings.Contains(all, secret) {
				t.Fatalf("%v printed a secret:\n%s", args[:2], all)
			}
		}
	}
}

// failWindow answers a query for the window ending at end with an error no
// retry can pass, and passes the rest to the server.
func failWindow(end string) *faults.Rule {
	return faults.On(faults.Fetch, faults.BodyContains(`"to":"`+end+`"`)).Do(faults.Answer(http.StatusBadRequest,
		`{"results":{"A":{"error":"bad_data: invalid parameter","errorSource":"downstream","status":400}}}`))
}

func TestFailedWindowIsReportedThenResumed(t *testing.T) {
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(8*time.Hour)
	bad := dataStart.Add(6 * time.Hour) // the end of the second window
	data := gen.DemoSeries(dataStart, dataEnd, 1)
	fw := failWindow(strconv.FormatInt(bad.UnixMilli(), 10))
	fetches := faults.On(faults.Fetch)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}}, fw, fetches)
	out := t.TempDir()
	args := []string{"recover", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", out}
	stdout, stderr, err := runCLI(t, args...)
	if err == nil || !strings.Contains(err.Error(), "1 of 3 windows were not recovered") || !strings.Contains(err.Error(), "the same command fetches only what is missing") {
		t.Fatalf("error = %v\n%s\n%s", err, stdout, stderr)
	}
	if !strings.Contains(stdout, "NOT RECOVERED 2025-08-03T04:00:00Z..2025-08-03T06:00:00Z") || !strings.Contains(stdout, "bad_data: invalid parameter") {
		t.Fatalf("the summary does not say which window failed and why:\n%s", stdout)
	}
	if have := blockWindows(t, out); len(have) != 2 || have[bad.Add(-2*time.Hour).UnixMilli()] {
		t.Fatalf("want the 2 good windows' blocks and nothing else, have %v", have)
	}

	// The cause is gone; the same command fetches only the missing window.
	fw.Stop()
	before := int64(fetches.Count())
	stdout, stderr, err = runCLI(t, args...)
	if err != nil {
		t.Fatalf("resume: %v\n%s\n%s", err, stdout, stderr)
	}
	if n := int64(fetches.Count()) - before; n != 1 {
		t.Errorf("the resumed run sent %d queries, want 1 (only the missing window)", n)
	}
	if !strings.Contains(stdout, "2 more windows") {
		t.Errorf("the summary does not mention the windows done earlier:\n%s", stdout)
	}
	if have := blockWindows(t, out); len(have) != 3 {
		t.Fatalf("want one block a window, have %v", have)
	}

	// Once more: nothing is left, and the summary says so.
	before = int64(fetches.Count())
	stdout, stderr, err = runCLI(t, args...)
	if err != nil {
		t.Fatalf("the run with nothing left: %v\n%s\n%s", err, stdout, stderr)
	}
	if !strings.Contains(stdout, "nothing left to recover from grafanacloud-prom (grafanacloud-prom): all 3 windows") || strings.Contains(stdout, "recovered 0 of 0") {
		t.Errorf("the summary does not say that nothing was left:\n%s", stdout)
	}
	if n := int64(fetches.Count()) - before; n != 0 {
		t.Errorf("the run with nothing left sent %d queries", n)
	}
	got, err := blocks.ReadSeries(out, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if err := extract.Compare(extract.Clip(data, from.UnixMilli(), to.UnixMilli()), got); err != nil {
		t.Fatal(err)
	}
}

// blockWindows maps the window start of every block in dir to true, and
// fails on anything in dir that is neither a block nor the resume state, or
// on two blocks for one window.
func blockWindows(t *testing.T, dir string) map[int64]bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]bool{}
	for _, e := range entries {
		if e.Name() == "promrecover-state.json" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "meta.json"))
		if err != nil {
			t.Fatalf("%s is not a block: %v", e.Name(), err)
		}
		var meta struct{ MinTime int64 }
		if err := json.Unmarshal(b, &meta); err != nil {
			t.Fatal(err)
		}
		w := meta.MinTime / extract.WindowMs * extract.WindowMs
		if out[w] {
			t.Fatalf("two blocks for the window at %d", w)
		}
		out[w] = true
	}
	return out
}

func TestWarnsAboutHeadAndRetention(t *testing.T) {
	now := time.Now()
	url, _ := simtest.Start(t, sim.Config{Series: gen.DemoSeries(now.Add(-10*time.Hour), now, 1), Tokens: []string{testToken}})
	stdout, stderr, err := runCLI(t, "recover", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", "now-9h", "--to", "now-1h", "--match", "up", "--out", t.TempDir(), "--retention", "4h")
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	for _, w := range []string{"reaches into the last 3h", "windows are older than the retention, counted as Prometheus counts it from the newest block (in the output directory or of this run): Prometheus will delete their blocks at the next reload",
		"the block is older than the retention, counted from the newest block: Prometheus will delete it at the next reload"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	if n := strings.Count(stderr, "windows are older than the retention"); n != 1 {
		t.Errorf("the summary before the run is there %d times:\n%s", n, stderr)
	}
}

// TestRetentionCountsFromTheNewestBlock: blocks older than now minus
// --retention are not warned about when they are the newest, as Prometheus
// counts the retention from its newest block (issue 11).
func TestRetentionCountsFromTheNewestBlock(t *testing.T) {
	now := time.Now()
	url, _ := simtest.Start(t, sim.Config{Series: gen.DemoSeries(now.Add(-260*time.Hour), now.Add(-250*time.Hour), 1), Tokens: []string{testToken}})
	out := t.TempDir()
	stdout, stderr, err := runCLI(t, "recover", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", "now-259h", "--to", "now-251h", "--match", "up", "--out", out, "--retention", "200h")
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	if len(blockWindows(t, out)) == 0 {
		t.Fatalf("nothing recovered:\n%s", stderr)
	}
	if strings.Contains(stderr, "older than the retention") {
		t.Errorf("warned about blocks Prometheus keeps:\n%s", stderr)
	}
}
