package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
	"github.com/promrecover/promrecover/report"
)

// TestSummaryJSON runs recover, export and import to good and bad ends and
// checks that --summary-json says how each ended, and what came of it.
func TestSummaryJSON(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 1)
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(8*time.Hour)
	bad := strconv.FormatInt(dataStart.Add(6*time.Hour).UnixMilli(), 10) // the end of the second window
	hsURL, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}}, failWindow(bad))
	goodURL, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	dir := t.TempDir()
	exported := filepath.Join(dir, "up.json")
	broken := filepath.Join(dir, "broken.om")
	if err := os.WriteFile(broken, []byte("up 1 1754186400\nup{ 2\n# EOF\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	query := func(url string, rest ...string) []string {
		return append([]string{"--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
			"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339)}, rest...)
	}
	type missing struct{ kind, reason string }
	cases := []struct {
		name              string
		args              []string
		status            string
		exit              int
		windows           report.Windows
		missing           []missing
		blocks            int
		requests, written bool // the document has requests, and some samples were written
	}{
		{name: "recover, every window", args: append([]string{"recover"}, query(goodURL, "--out", t.TempDir())...),
			status: "ok", windows: report.Windows{Total: 3, Recovered: 3}, blocks: 3, requests: true, written: true},
		{name: "recover, a window refused", args: append([]string{"recover"}, query(hsURL, "--out", t.TempDir())...),
			status: "incomplete", exit: 3, windows: report.Windows{Total: 3, Recovered: 2, Failed: 1},
			missing: []missing{{"window", "bad_data: invalid parameter"}}, blocks: 2, requests: true, written: true},
		{name: "recover, unknown datasource", args: append([]string{"recover"}, append(query(goodURL, "--out", t.TempDir()), "--datasource", "nope")...),
			status: "error", exit: 2, windows: report.Windows{Total: 3}, requests: true},
		{name: "recover, nothing matches", args: append([]string{"recover"}, query(goodURL, "--out", t.TempDir(), "--match", "no_such_metric")...),
			status: "empty", exit: 1, windows: report.Windows{Total: 3, Recovered: 3}, requests: true},
		{name: "export", args: append([]string{"export"}, query(goodURL, "--match", "up", "--out", exported)...),
			status: "ok", windows: report.Windows{Total: 3, Recovered: 3}, requests: true, written: true},
		{name: "export, a window refused", args: append([]string{"export"}, query(hsURL, "--match", "up", "--out", filepath.Join(dir, "no.json"))...),
			status: "incomplete", exit: 1, windows: report.Windows{Total: 3, Recovered: 2, Failed: 1},
			missing: []missing{{"window", "bad_data: invalid parameter"}}, requests: true},
		{name: "import", args: []string{"import", exported, "--out", t.TempDir()},
			status: "ok", windows: report.Windows{Total: 3, Recovered: 3}, blocks: 3, written: true},
		{name: "import, malformed", args: []string{"import", broken, "--out", t.TempDir()},
			status: "error", exit: 2},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(dir, "summary"+strconv.Itoa(i)+".json")
			stdout, stderr, err := runCLI(t, append(c.args, "--summary-json", file)...)
			if (err != nil) != (c.exit != 0) {
				t.Fatalf("err = %v\n%s\n%s", err, stdout, stderr)
			}
			fi, ferr := os.Stat(file)
			if ferr != nil {
				t.Fatalf("no summary written: %v\n%s", ferr, stderr)
			}
			if fi.Mode().Perm() != 0o600 { // it may quote a server's text, which may hold a credential
				t.Errorf("mode %v, want 0600", fi.Mode().Perm())
			}
			raw, _ := os.ReadFile(file)
			var d report.Doc
			if err := json.Unmarshal(raw, &d); err != nil {
				t.Fatal(err)
			}
			if d.Command != c.args[0] || d.Status != c.status || d.ExitCode != c.exit || d.Windows != c.windows {
				t.Errorf("command %q status %q exit %d windows %+v, want %q %q %d %+v", d.Command, d.Status, d.ExitCode, d.Windows, c.args[0], c.status, c.exit, c.windows)
			}
			if c.exit != 0 && (err == nil || d.Error != err.Error()) {
				t.Errorf("error %q, want the run's: %v", d.Error, err)
			}
			if len(d.NotRecovered) != len(c.missing) {
				t.Fatalf("not_recovered %+v, want %v", d.NotRecovered, c.missing)
			}
			for j, m := range c.missing {
				if got := d.NotRecovered[j]; got.Kind != m.kind || !strings.Contains(got.Reason, m.reason) || got.ToMs-got.FromMs != 2*3600*1000 {
					t.Errorf("not_recovered[%d] = %+v, want %v over a window", j, got, m)
				}
			}
			checkSummaryBlocks(t, d, c.blocks, stdout)
			if (d.Requests != nil && d.Requests.Requests > 0) != c.requests || (d.Samples.Written > 0) != c.written {
				t.Errorf("requests %+v samples %+v", d.Requests, d.Samples)
			}
			if c.args[0] == "recover" && !strings.HasSuffix(d.StateFile, "promrecover-state.json") {
				t.Errorf("state_file %q", d.StateFile)
			}
		})
	}
}

// checkSummaryBlocks checks the document's blocks against the block table
// printed on stdout: want of them, each with a size, chunks and a duration of
// at most 2h, holding together the samples written.
func checkSummaryBlocks(t *testing.T, d report.Doc, want int, stdout string) {
	t.Helper()
	if len(d.Blocks) != want {
		t.Fatalf("%d blocks, want %d", len(d.Blocks), want)
	}
	var inBlocks uint64
	for _, b := range d.Blocks {
		inBlocks += b.Samples
		if b.Size <= 0 || b.Chunks == 0 || b.Duration <= 0 || b.Duration > 7200 || !strings.Contains(stdout, b.ULID) {
			t.Errorf("block %+v: want a size, chunks, a duration of at most 2h, and a line in the table:\n%s", b, stdout)
		}
	}
	if want > 0 && (inBlocks != d.Samples.Written || !strings.Contains(stdout, "SPAN") || !strings.Contains(stdout, "SIZE")) {
		t.Errorf("written %d, blocks hold %d; the table:\n%s", d.Samples.Written, inBlocks, stdout)
	}
}

func TestSummaryJSONDirectoryMissing(t *testing.T) {
	file := filepath.Join(t.TempDir(), "no", "such", "dir", "summary.json")
	for _, args := range [][]string{
		{"recover", "--grafana-url", "http://127.0.0.1:1", "--datasource", "x", "--from", "now-6h", "--to", "now-3h", "--out", t.TempDir()},
		{"import", "no-such-file", "--out", t.TempDir()},
	} {
		_, _, err := runCLI(t, append(args, "--summary-json", file)...)
		if err == nil || !strings.Contains(err.Error(), "--summary-json "+file+": the directory") {
			t.Errorf("%s: err = %v, want the missing directory named before anything runs", args[0], err)
		}
	}
}

// TestSummaryJSONInterrupted cancels a run after its first query, as Ctrl-C
// does, and checks that the report says so, counts the windows left undone
// apart from failures and keeps what was installed.
func TestSummaryJSONInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := sim.New(sim.Config{Series: gen.DemoSeries(dataStart, dataEnd, 1), Tokens: []string{testToken}})
	hsURL := simtest.Serve(t, srv, faults.On(faults.Query).Then(1, cancel))
	file := filepath.Join(t.TempDir(), "summary.json")
	var stdout strings.Builder
	root := newRoot(&stdout, io.Discard)
	root.SetArgs([]string{"recover", "--grafana-url", hsURL, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", dataStart.Format(time.RFC3339), "--to", dataStart.Add(8 * time.Hour).Format(time.RFC3339),
		"--concurrency", "1", "--out", t.TempDir(), "--summary-json", file})
	err := root.ExecuteContext(ctx)
	if err == nil {
		t.Fatal("the interrupted run succeeded")
	}
	if strings.Contains(stdout.String(), "NOT RECOVERED") {
		t.Errorf("windows the interrupt left undone are listed as not recovered:\n%s", stdout.String())
	}
	if strings.Count(stdout.String(), "\ninterrupted: ") != 1 {
		t.Errorf("the summary does not say once that the run was interrupted:\n%s", stdout.String())
	}
	raw, rerr := os.ReadFile(file)
	if rerr != nil {
		t.Fatal(rerr)
	}
	var d report.Doc
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	// A run interrupted after some windows got part of its plan: 3.
	wantExit := 1
	if d.Windows.Recovered > 0 {
		wantExit = 3
	}
	if d.Status != "interrupted" || d.ExitCode != wantExit || !strings.Contains(d.Error, "run the same command again") ||
		d.Windows.Total != 4 || d.Windows.Failed != 0 || d.Windows.Interrupted == 0 || d.Windows.Recovered+d.Windows.Interrupted != 4 ||
		len(d.NotRecovered) != 0 || len(d.Blocks) != d.Windows.Recovered {
		t.Errorf("status %q exit %d windows %+v blocks %d error %q", d.Status, d.ExitCode, d.Windows, len(d.Blocks), d.Error)
	}
}
