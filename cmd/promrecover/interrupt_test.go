package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
	"github.com/promrecover/promrecover/report"
)

// TestInterruptedRunSaysSoOnce cancels a recovery of 12 windows after a few,
// as Ctrl-C does, with the first window refused before that: the refused
// window is a failure, listed and warned of; the windows the interrupt left
// undone are neither listed nor warned of one by one nor counted as failed,
// and the summary says once how many are left.
func TestInterruptedRunSaysSoOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	end := dataStart.Add(24 * time.Hour)
	srv := sim.New(sim.Config{Series: gen.DemoSeries(dataStart, end, 1), Tokens: []string{testToken}})
	first := strconv.FormatInt(dataStart.Add(2*time.Hour).UnixMilli(), 10)
	hsURL := simtest.Serve(t, srv, failWindow(first), faults.On(faults.Fetch).Then(3, cancel))
	file := filepath.Join(t.TempDir(), "summary.json")
	var stdout, stderr strings.Builder
	root := newRoot(&stdout, &stderr)
	root.SetArgs([]string{"recover", "--grafana-url", hsURL, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", dataStart.Format(time.RFC3339), "--to", end.Format(time.RFC3339), "--progress-interval", "1h",
		"--concurrency", "1", "--out", t.TempDir(), "--summary-json", file})
	err := root.ExecuteContext(ctx)
	if err == nil {
		t.Fatal("the interrupted run succeeded")
	}
	out, log := stdout.String(), stderr.String()
	m := regexp.MustCompile(`interrupted with (\d+) of 12 windows recovered; run the same command again`).FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("err = %v, want the resume command", err)
	}
	recovered, _ := strconv.Atoi(m[1])
	left := 12 - 1 - recovered
	if recovered < 1 || left < 7 {
		t.Fatalf("%d windows recovered, %d left: the test cancels after the third query", recovered, left)
	}
	if n := strings.Count(out, "NOT RECOVERED"); n != 1 || !strings.Contains(out, "NOT RECOVERED 2025-08-03T00:00:00Z..2025-08-03T02:00:00Z: ") {
		t.Errorf("%d NOT RECOVERED lines, want the refused window's only:\n%s", n, out)
	}
	want := "interrupted: " + strconv.Itoa(left) + " of 12 windows were left to recover (not fetched, or cut short and discarded)\n"
	if strings.Count(out, "interrupted") != 1 || !strings.Contains(out, want) {
		t.Errorf("the summary does not say once that %d windows are left (%q):\n%s", left, want, out)
	}
	if n := strings.Count(out+log+err.Error(), "run the same command again"); n != 1 {
		t.Errorf("the resume command is said %d times:\n%s\n%s\n%v", n, out, log, err)
	}
	if n := strings.Count(log, "window not recovered"); n != 1 {
		t.Errorf("%d warnings of a window not recovered, want the refused one's:\n%s", n, log)
	}
	if !strings.Contains(log, "windows="+strconv.Itoa(recovered)+"/12 failed=1 ") {
		t.Errorf("the progress does not count the refused window alone as failed:\n%s", log)
	}
	raw, rerr := os.ReadFile(file)
	if rerr != nil {
		t.Fatal(rerr)
	}
	var d report.Doc
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.Status != "interrupted" || d.Windows != (report.Windows{Total: 12, Recovered: recovered, Failed: 1, Interrupted: left}) {
		t.Errorf("status %q windows %+v, want interrupted with %d recovered, 1 failed, %d left", d.Status, d.Windows, recovered, left)
	}
	if len(d.NotRecovered) != 1 || !strings.Contains(d.NotRecovered[0].Reason, "bad_data") {
		t.Errorf("not_recovered %+v, want the refused window alone", d.NotRecovered)
	}
}

// TestInterruptedBeforeAnythingKept: a run interrupted before it installed
// a window wrote no resume state, so its message names none.
func TestInterruptedBeforeAnythingKept(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := sim.New(sim.Config{Series: gen.DemoSeries(dataStart, dataEnd, 1), Tokens: []string{testToken}})
	hsURL := simtest.Serve(t, srv, faults.On(faults.Fetch).Do(func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		cancel()
		<-r.Context().Done()
	}))
	out := t.TempDir()
	root := newRoot(io.Discard, io.Discard)
	root.SetArgs([]string{"recover", "--grafana-url", hsURL, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", dataStart.Format(time.RFC3339), "--to", dataEnd.Format(time.RFC3339), "--out", out})
	err := root.ExecuteContext(ctx)
	if err == nil || !strings.Contains(err.Error(), "interrupted with 0 of 5 windows recovered; run the same command again to recover the rest") {
		t.Fatalf("err = %v, want the interrupt", err)
	}
	if _, serr := os.Stat(filepath.Join(out, blocks.StateFileName)); serr == nil || strings.Contains(err.Error(), "state:") {
		t.Errorf("err = %v; the state file exists: %v", err, serr == nil)
	}
}
