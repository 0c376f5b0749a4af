package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// gate lets the first n queries through and holds every later one until
// opened, so a test can interrupt a run at a known point instead of racing
// a timer.
func gate(n int) (*faults.Rule, func()) {
	opened := make(chan struct{})
	return faults.On(faults.Fetch).After(n).Do(faults.Hold(opened)), func() { close(opened) }
}

// buildBinary builds promrecover, with go build's flags if given, since
// these tests kill a real process.
func buildBinary(t *testing.T, flags ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "promrecover")
	out, err := exec.Command("go", append(append([]string{"build"}, flags...), "-o", bin, ".")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// waitBlocks waits until dir holds n installed blocks.
func waitBlocks(t *testing.T, dir string, n int, exited <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		got := 0
		for _, e := range entries {
			if _, err := os.Stat(filepath.Join(dir, e.Name(), "meta.json")); err == nil {
				got++
			}
		}
		if got >= n {
			return
		}
		select {
		case <-exited:
			t.Fatalf("the run ended before %d blocks were installed", n)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("no %d blocks after 60s", n)
}

// TestInterruptedRunResumesExactly interrupts a real promrecover process
// mid-run, by kill -9 and by SIGINT, runs the same command again, and
// compares the result sample by sample with an uninterrupted run: nothing
// missing, no window written twice, nothing half-written left behind.
func TestInterruptedRunResumesExactly(t *testing.T) {
	bin := buildBinary(t)
	data := gen.DemoSeries(dataStart, dataEnd.Add(14*time.Hour), 5)
	from, to := dataStart, dataStart.Add(24*time.Hour) // 12 windows
	args := func(url, out string) []string {
		return []string{"recover", "--grafana-url", url, "--datasource", "grafanacloud-prom", "--concurrency", "2",
			"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", out}
	}

	// The uninterrupted run the others must equal.
	plain, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	whole := t.TempDir()
	if stdout, stderr, err := runCLI(t, append(args(plain, whole), "--token", testToken)...); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s\n%s", err, stdout, stderr)
	}
	want, err := blocks.ReadSeries(whole, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if err := extract.Compare(extract.Clip(data, from.UnixMilli(), to.UnixMilli()), want); err != nil {
		t.Fatalf("the uninterrupted run is not exact: %v", err)
	}

	cases := []struct {
		name   string
		signal syscall.Signal
	}{
		{"kill -9", syscall.SIGKILL},
		{"Ctrl-C", syscall.SIGINT},
		{"SIGTERM", syscall.SIGTERM},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, open := gate(4)
			url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}}, g)
			out := t.TempDir()
			cmd := exec.Command(bin, args(url, out)...)
			cmd.Env = append(os.Environ(), "GRAFANA_TOKEN="+testToken)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			var waitErr error
			go func() { waitErr = cmd.Wait(); close(exited) }()
			waitBlocks(t, out, 3, exited)
			if err := cmd.Process.Signal(tc.signal); err != nil {
				t.Fatal(err)
			}
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("the process did not stop after %s", tc.name)
			}
			if waitErr == nil {
				t.Fatal("an interrupted run exited 0")
			}
			if tc.signal != syscall.SIGKILL {
				// A clean stop says how to go on and leaves no staging area.
				if !strings.Contains(stderr.String(), "run the same command again") {
					t.Errorf("no resume hint after %s:\n%s", tc.name, stderr.String())
				}
				if leftovers, _ := filepath.Glob(filepath.Join(out, "*.tmp-for-creation")); len(leftovers) > 0 {
					t.Errorf("staging left after %s: %v", tc.name, leftovers)
				}
			}
			st, err := os.Stat(filepath.Join(out, blocks.StateFileName))
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("resume state: %v, mode %v", err, st.Mode())
			}

			open()
			stdout, stderr2, err := runCLI(t, append(args(url, out), "--token", testToken)...)
			if err != nil {
				t.Fatalf("resume after %s: %v\n%s\n%s", tc.name, err, stdout, stderr2)
			}
			if !strings.Contains(stdout, "recovered by an earlier run") {
				t.Errorf("the resumed run did not skip the finished windows:\n%s", stdout)
			}
			if leftovers, _ := filepath.Glob(filepath.Join(out, "*.tmp-for-creation")); len(leftovers) > 0 {
				t.Errorf("staging left after the resume: %v", leftovers)
			}
			if have := blockWindows(t, out); len(have) != 12 {
				t.Fatalf("%d windows have a block, want 12", len(have))
			}
			got, err := blocks.ReadSeries(out, from.UnixMilli(), to.UnixMilli())
			if err != nil {
				t.Fatal(err)
			}
			if err := extract.Compare(want, got); err != nil {
				t.Fatalf("the resumed result differs from an uninterrupted run: %v", err)
			}
		})
	}
}

// TestResumeRefetchesABlockThatNeverLanded covers a crash between recording
// a window and renaming its block into place, and a changed plan.
func TestResumeRefetchesABlockThatNeverLanded(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 2)
	fetches := faults.On(faults.Fetch)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}}, fetches)
	from, to := dataStart, dataStart.Add(6*time.Hour)
	out := t.TempDir()
	args := []string{"recover", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", out}
	if _, stderr, err := runCLI(t, args...); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	// As if the run had died after recording the last window but before its
	// rename: the state names a block that is not there.
	installed, _ := filepath.Glob(filepath.Join(out, "01*"))
	if len(installed) != 3 {
		t.Fatalf("blocks %v", installed)
	}
	last := installed[len(installed)-1]
	if err := os.RemoveAll(last); err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(out, blocks.StateFileName)
	raw, err := os.ReadFile(statePath)
	if err != nil || !bytes.Contains(raw, []byte(`"complete": true`)) {
		t.Fatalf("a run that recovered everything did not mark its state complete: %v\n%s", err, raw)
	}
	if err := os.WriteFile(statePath, bytes.Replace(raw, []byte(`"complete": true`), []byte(`"complete": false`), 1), 0o600); err != nil {
		t.Fatal(err)
	}

	// Another plan on the state of an unfinished run is refused, and
	// --restart overrides: other selectors, other labels written, or only
	// the holes.
	for _, change := range [][]string{{"--match", "up"}, {"--drop-label", "instance"}, {"--only-gaps"}} {
		changed := append(append([]string{}, args...), change...)
		if _, _, err := runCLI(t, changed...); err == nil || !strings.Contains(err.Error(), "for another recovery") || !strings.Contains(err.Error(), "--restart") {
			t.Fatalf("changed plan %v: %v", change, err)
		}
	}
	other := append(append([]string{}, args...), "--match", "up")
	if _, stderr, err := runCLI(t, append(other, "--restart", "--out", t.TempDir(), "--state", filepath.Join(t.TempDir(), blocks.StateFileName))...); err != nil {
		t.Fatalf("--restart: %v\n%s", err, stderr)
	}

	before := fetches.Count()
	if stdout, stderr, err := runCLI(t, args...); err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	if n := fetches.Count() - before; n != 1 {
		t.Errorf("%d queries, want 1: only the window whose block never landed", n)
	}
	got, err := blocks.ReadSeries(out, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if err := extract.Compare(extract.Clip(data, from.UnixMilli(), to.UnixMilli()), got); err != nil {
		t.Fatal(err)
	}

	// Once the run has recovered everything, the next recovery into the
	// same directory needs no --restart: --only-gaps writes nothing here, as
	// nothing is missing; nor do other selectors over the same hours whose
	// series are there already.
	if stdout, stderr, err := runCLI(t, append(append([]string{}, args...), "--only-gaps")...); err != nil ||
		!strings.Contains(stderr, "was complete") || strings.Contains(stderr, "overlaps") || !strings.Contains(stdout, "written 0 samples") {
		t.Fatalf("--only-gaps after a complete recovery: %v\n%s\n%s", err, stdout, stderr)
	}
	if stdout, stderr, err := runCLI(t, append(append([]string{}, args...), "--match", "up")...); err != nil || !strings.Contains(stderr, "was complete") || !strings.Contains(stdout, "written 0 samples") {
		t.Fatalf("other selectors after a complete recovery: %v\n%s\n%s", err, stdout, stderr)
	}
}

// TestRerunUnderAnotherSpellingOfTheURL runs one recovery three times, the
// Grafana URL written three ways: the reruns are the same recovery, so each
// window is installed once and nothing is fetched again.
func TestRerunUnderAnotherSpellingOfTheURL(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 2)
	url, srv := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	port := url[strings.LastIndex(url, ":")+1:]
	from, to := dataStart, dataStart.Add(6*time.Hour)
	out := t.TempDir()
	var queries []int64
	for _, spelling := range []string{"http://127.0.0.1:" + port + "/", "http://127.0.0.1:" + port, "http://localhost:" + port, "HTTP://LocalHost:" + port + "/"} {
		before := srv.Counters().DSQueries
		stdout, stderr, err := runCLI(t, "recover", "--grafana-url", spelling, "--token", testToken, "--datasource", "grafanacloud-prom",
			"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", out)
		if err != nil {
			t.Fatalf("%s: %v\n%s\n%s", spelling, err, stdout, stderr)
		}
		if strings.Contains(stderr, "was complete") {
			t.Errorf("%s was taken for another recovery:\n%s", spelling, stderr)
		}
		queries = append(queries, srv.Counters().DSQueries-before)
	}
	if have := blockWindows(t, out); len(have) != 3 {
		t.Errorf("%d windows have a block, want 3", len(have))
	}
	if !slices.Equal(queries[1:], []int64{0, 0, 0}) {
		t.Errorf("queries per run %v, want none after the first", queries)
	}
}

// TestRefusalPrintsTheFlagsThatResume: the refusal of another plan names the
// earlier one as the flags of recover that resume it, quoted for a shell.
func TestRefusalPrintsTheFlagsThatResume(t *testing.T) {
	url, _ := simtest.Start(t, sim.Config{Series: gen.DemoSeries(dataStart, dataEnd, 2), Tokens: []string{testToken}})
	out := t.TempDir()
	args := []string{"recover", "--grafana-url", url + "/", "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", "2025-08-03T00:00:00Z", "--to", "2025-08-03T04:00:00Z", "--out", out}
	earlier := append(append([]string{}, args...), "--match", `{job="node"}`, "--step", "30s", "--drop-label", "region", "--set-label", "team=db ops")
	if _, stderr, err := runCLI(t, earlier...); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	// As if that run had been cut short: its state is not complete.
	statePath := filepath.Join(out, blocks.StateFileName)
	raw, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(statePath, bytes.Replace(raw, []byte(`"complete": true`), []byte(`"complete": false`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = runCLI(t, args...)
	want := "the resume state " + statePath + " is for another recovery (--grafana-url " + url +
		` --datasource grafanacloud-prom --from 2025-08-03T00:00:00Z --to 2025-08-03T04:00:00Z --step 30s --match '{job="node"}' --drop-label region --set-label 'team=db ops');` +
		" run recover again with those flags to resume it, or pass --restart to start this one over (blocks already written stay)"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}
