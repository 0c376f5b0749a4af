package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/exitcode"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/servers"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
	"github.com/promrecover/promrecover/report"
)

// TestRecoverIntoRunningPrometheus drops a recovery of floats and native
// histograms into the data directory of a running Prometheus (2.42, then
// 3.x; neither has a flag to look for new blocks more often than once a
// minute) that kept 02:00-02:30 of the range: recover --only-gaps reads the
// holes from it, waits until it serves both windows (the first beside what
// it kept, counted before the install), and it then serves exactly the
// source's samples, without a restart. One wait a version, each about a
// minute. (No API source gives stale markers: served's own test writes
// them.)
func TestRecoverIntoRunningPrometheus(t *testing.T) {
	data := viaData(11)
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(6*time.Hour)
	addr, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	floats := expected(floatsOf(data), from, to, 0, nil)
	hists := expectedHistograms(data, from, to, 0)
	for _, v := range servers.Versions {
		t.Run("Prometheus "+string(v), func(t *testing.T) {
			out := t.TempDir()
			keep(t, out, extract.Clip(data, from.UnixMilli(), from.Add(30*time.Minute).UnixMilli()), []extract.Window{{Start: from.UnixMilli(), End: from.Add(2 * time.Hour).UnixMilli()}})
			prom := startPrometheus(t, v, out)
			file := filepath.Join(t.TempDir(), "summary.json")
			stdout, stderr, err := runCLI(t, "recover", "--via", "proxy", "--grafana-url", addr, "--token", testToken, "--datasource", "grafanacloud-prom", "--only-gaps",
				"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", out, "--prometheus-url", prom.url, "--summary-json", file)
			if err != nil {
				t.Fatalf("recover --only-gaps --prometheus-url: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
			}
			_, after, ok := strings.Cut(stdout, "all 2 windows served by Prometheus after ")
			if !ok || !strings.Contains(stdout, "fall where the surviving data has samples and were left out") {
				t.Fatalf("the summary does not say the windows are served, or nothing was left out for the data kept:\n%s", stdout)
			}
			after, _, _ = strings.Cut(after, "\n")
			t.Logf("Prometheus %s served both windows after %s", v, after)
			doc := readSummary(t, file)
			if doc.Status != "ok" || doc.Served == nil || doc.Served.Windows != 2 || doc.Served.Served != 2 || len(doc.Served.Missing) != 0 {
				t.Fatalf("--summary-json: status %q, served %+v", doc.Status, doc.Served)
			}
			servesFloatsAndHistograms(t, prom, from, to, floats, hists)
		})
	}
}

// TestRecoverWaitTimesOut: a Prometheus on another data directory never
// serves what was installed: after --wait the run names the windows and
// what to check, and exits 1, the blocks staying installed; --wait 0 does
// not wait.
func TestRecoverWaitTimesOut(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 2)
	addr, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	for _, v := range servers.Versions {
		t.Run("Prometheus "+string(v), func(t *testing.T) {
			prom := startPrometheus(t, v, t.TempDir())
			run := func(out string, extra ...string) (string, error) {
				args := append([]string{"recover", "--grafana-url", addr, "--token", testToken, "--datasource", "grafanacloud-prom",
					"--from", dataStart.Add(2 * time.Hour).Format(time.RFC3339), "--to", dataStart.Add(6 * time.Hour).Format(time.RFC3339),
					"--out", out, "--prometheus-url", prom.url}, extra...)
				stdout, _, err := runCLI(t, args...)
				return stdout, err
			}
			out := t.TempDir()
			file := filepath.Join(t.TempDir(), "summary.json")
			stdout, err := run(out, "--wait", "3s", "--summary-json", file)
			if code := exitcode.Of(err); code != exitcode.Failed {
				t.Fatalf("exit %d, want %d: %v\n%s", code, exitcode.Failed, err, stdout)
			}
			for _, w := range []string{"Prometheus at " + prom.url + " does not serve 2 of the 2 windows installed", "--storage.tsdb.path", "retention", "once a minute"} {
				if !strings.Contains(userText(err), w) {
					t.Errorf("the error lacks %q: %v", w, err)
				}
			}
			for _, w := range []string{"NOT SERVED 2025-08-03T02:00:00Z..2025-08-03T04:00:00Z: Prometheus serves 0 samples there after ", "NOT SERVED 2025-08-03T04:00:00Z.."} {
				if !strings.Contains(stdout, w) {
					t.Errorf("the summary lacks %q:\n%s", w, stdout)
				}
			}
			if n := installed(t, out); n != 2 {
				t.Errorf("%d blocks installed, want 2: a window not served stays installed", n)
			}
			doc := readSummary(t, file)
			if doc.Status != "not_served" || doc.ExitCode != exitcode.Failed || doc.Served == nil || doc.Served.Served != 0 || len(doc.Served.Missing) != 2 || doc.Served.Missing[0].Expected == 0 {
				t.Fatalf("--summary-json: status %q exit %d served %+v", doc.Status, doc.ExitCode, doc.Served)
			}
			stdout, err = run(t.TempDir(), "--wait", "0")
			if err != nil || strings.Contains(stdout, "served by Prometheus") || strings.Contains(stdout, "NOT SERVED") {
				t.Fatalf("--wait 0 waited, or failed: %v\n%s", err, stdout)
			}
		})
	}
	// Nothing answers at --prometheus-url: refused before anything is
	// fetched or written.
	out, gone := t.TempDir(), "http://"+servers.FreeAddr(t)
	_, _, err := runCLI(t, "recover", "--grafana-url", addr, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", dataStart.Add(2*time.Hour).Format(time.RFC3339), "--to", dataStart.Add(4*time.Hour).Format(time.RFC3339), "--out", out, "--prometheus-url", gone)
	want := "--prometheus-url " + gone + ": the Prometheus does not answer: "
	if err == nil || !strings.Contains(userText(err), want) || !strings.Contains(userText(err), "or --wait 0 not to wait for it") {
		t.Fatalf("got %v, want %q", err, want)
	}
	if n := installed(t, out); n != 0 {
		t.Fatalf("%d blocks installed before the Prometheus was found", n)
	}
}

func readSummary(t *testing.T, file string) report.Doc {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc report.Doc
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return doc
}

// floatsOf is data's float samples, without its histograms.
func floatsOf(data []extract.Series) []extract.Series {
	var out []extract.Series
	for _, s := range data {
		if len(s.Samples) > 0 {
			out = append(out, extract.Series{Labels: s.Labels, Samples: s.Samples})
		}
	}
	return out
}
