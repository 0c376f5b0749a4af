package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// exitEnv is what a case of TestExitCodes runs against: a simulated Grafana
// (url), an empty --out, an export of the range (file) and --summary-json's
// path.
type exitEnv struct {
	url, out, file, summary string
}

// The exit status of every command, as the real binary gives it to a
// shell, with the summary's exit_code where the run writes one
// (docs/reference.md, "Exit status").
func TestExitCodes(t *testing.T) {
	bin := buildBinary(t)
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(8*time.Hour)
	data := gen.DemoSeries(dataStart, dataEnd, 1)
	span := []string{"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339)}
	conn := func(e exitEnv) []string {
		return append([]string{"--grafana-url", e.url, "--token", testToken, "--datasource", "grafanacloud-prom"}, span...)
	}
	recoverArgs := func(e exitEnv) []string {
		return append(append([]string{"recover", "--summary-json", e.summary, "--out", e.out}, conn(e)...), "--concurrency", "1")
	}
	everyQueryFails := faults.On(faults.Fetch).Do(faults.Answer(http.StatusBadRequest,
		`{"results":{"A":{"error":"bad_data: invalid parameter","errorSource":"downstream","status":400}}}`))
	for _, tc := range []struct {
		name  string
		rules []*faults.Rule
		setup func(t *testing.T, e exitEnv)
		args  func(e exitEnv) []string
		want  int
		// summary: whether the run writes --summary-json (only those
		// that got as far as starting do).
		summary bool
	}{
		{name: "recover: everything", args: recoverArgs, want: 0, summary: true},
		{name: "recover: one window of three fails", rules: []*faults.Rule{failWindow(strconv.FormatInt(dataStart.Add(6*time.Hour).UnixMilli(), 10))},
			args: recoverArgs, want: 3, summary: true},
		{name: "recover: every window fails", rules: []*faults.Rule{everyQueryFails}, args: recoverArgs, want: 1, summary: true},
		{name: "recover: credentials refused", args: func(e exitEnv) []string {
			return append(recoverArgs(e), "--token", "glsa_wrong_token_0000000000")
		}, want: 1, summary: true},
		{name: "recover: nothing matches", args: func(e exitEnv) []string { return append(recoverArgs(e), "--match", "nothing_is_called_so") },
			want: 1, summary: true},
		{name: "recover: unknown flag", args: func(e exitEnv) []string { return append(recoverArgs(e), "--bogus") }, want: 2},
		{name: "recover: bad flag value", args: func(e exitEnv) []string { return append(recoverArgs(e), "--concurrency", "many") }, want: 2},
		{name: "recover: --from after --to", args: func(e exitEnv) []string {
			return append(recoverArgs(e), "--from", to.Format(time.RFC3339), "--to", from.Format(time.RFC3339))
		}, want: 2},
		{name: "recover: --out missing", args: func(e exitEnv) []string { return recoverArgs(exitEnv{url: e.url, summary: e.summary}) }, want: 2},
		{name: "recover: unknown datasource", args: func(e exitEnv) []string { return append(recoverArgs(e), "--datasource", "no-such-ds") },
			want: 2, summary: true},
		{name: "recover: a resume state it cannot read", setup: func(t *testing.T, e exitEnv) {
			writeFile(t, filepath.Join(e.out, blocks.StateFileName), "not a state")
		}, args: recoverArgs, want: 2, summary: true},
		{name: "unknown command", args: func(exitEnv) []string { return []string{"recovr"} }, want: 2},
		{name: "export: everything", args: func(e exitEnv) []string { return append([]string{"export", "-o", e.file}, conn(e)...) }, want: 0},
		{name: "export: one window fails, nothing written", rules: []*faults.Rule{failWindow(strconv.FormatInt(dataStart.Add(6*time.Hour).UnixMilli(), 10))},
			args: func(e exitEnv) []string {
				return append([]string{"export", "-o", e.file, "--summary-json", e.summary}, conn(e)...)
			}, want: 1, summary: true},
		{name: "export: bad --format", args: func(e exitEnv) []string { return append([]string{"export", "--format", "csv"}, conn(e)...) }, want: 2},
		{name: "import: a file", setup: exportTo(bin, conn), args: func(e exitEnv) []string {
			return []string{"import", e.file, "--out", e.out, "--summary-json", e.summary}
		}, want: 0, summary: true},
		{name: "import: a malformed file", setup: func(t *testing.T, e exitEnv) { writeFile(t, e.file, "{\"status\":\"success\",\"data\":{") },
			args: func(e exitEnv) []string {
				return []string{"import", e.file, "--out", e.out, "--summary-json", e.summary}
			}, want: 2, summary: true},
		{name: "import: no file", args: func(e exitEnv) []string { return []string{"import", "--out", e.out} }, want: 2},
		{name: "verify: blocks equal the export", setup: func(t *testing.T, e exitEnv) {
			exportTo(bin, conn)(t, e)
			runBin(t, bin, "import", e.file, "--out", e.out)
		}, args: func(e exitEnv) []string { return []string{"verify", e.out, "--against", e.file} }, want: 0},
		{name: "verify: blocks differ from the export", setup: func(t *testing.T, e exitEnv) {
			exportTo(bin, conn)(t, e)
			runBin(t, bin, append([]string{"recover", "--out", e.out, "--match", "up"}, conn(e)...)...)
		}, args: func(e exitEnv) []string { return []string{"verify", e.out, "--against", e.file} }, want: 1},
		{name: "verify: no such directory", args: func(e exitEnv) []string { return []string{"verify", filepath.Join(e.out, "nothing")} }, want: 2},
		{name: "demo: --out not empty", setup: func(t *testing.T, e exitEnv) { writeFile(t, filepath.Join(e.out, "x"), "x") },
			args: func(e exitEnv) []string { return []string{"demo", "--out", e.out} }, want: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}}, tc.rules...)
			dir := t.TempDir()
			e := exitEnv{url: url, out: t.TempDir(), file: filepath.Join(dir, "export.json"), summary: filepath.Join(dir, "summary.json")}
			if tc.setup != nil {
				tc.setup(t, e)
			}
			checkExit(t, bin, tc.args(e), e.summary, tc.want, tc.summary)
		})
	}
}

// checkExit runs bin with args and checks its exit status, and that of
// the summary at path if the run writes one.
func checkExit(t *testing.T, bin string, args []string, path string, want int, summary bool) {
	t.Helper()
	b, err := exec.Command(bin, args...).CombinedOutput()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != want {
		t.Errorf("exit status %d, want %d\n%s", code, want, b)
	}
	doc, err := os.ReadFile(path)
	if !summary {
		if err == nil {
			t.Errorf("--summary-json was written:\n%s", doc)
		}
		return
	}
	var sum struct {
		ExitCode *int `json:"exit_code"`
	}
	if err := json.Unmarshal(doc, &sum); err != nil || sum.ExitCode == nil {
		t.Fatalf("--summary-json: %v\n%s\n%s", err, doc, b)
	}
	if *sum.ExitCode != want {
		t.Errorf("the summary's exit_code is %d, want %d", *sum.ExitCode, want)
	}
}

// exportTo is a setup that exports the range into the case's file.
func exportTo(bin string, conn func(exitEnv) []string) func(*testing.T, exitEnv) {
	return func(t *testing.T, e exitEnv) { runBin(t, bin, append([]string{"export", "-o", e.file}, conn(e)...)...) }
}

func runBin(t *testing.T, bin string, args ...string) {
	t.Helper()
	if b, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, b)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
