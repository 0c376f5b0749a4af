package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// exportFile exports [from, to) from url to a JSON file and returns its path.
func exportFile(t *testing.T, url string, from, to time.Time) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "lost.json")
	_, stderr, err := runCLI(t, "export", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--output", file)
	if err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	return file
}

// importInto imports file into out and returns its output and
// --summary-json.
func importInto(t *testing.T, file, out string) (stdout, stderr string, sum rerunSamples) {
	t.Helper()
	js := filepath.Join(t.TempDir(), "summary.json")
	stdout, stderr, err := runCLI(t, "import", file, "--out", out, "--summary-json", js)
	if err != nil {
		t.Fatalf("import: %v\n%s\n%s", err, stdout, stderr)
	}
	raw, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	return stdout, stderr, sum
}

// TestImportTwiceInstallsNothingTwice: the second import of a file finds
// every sample in --out, installs no block and says so.
func TestImportTwiceInstallsNothingTwice(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 2)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	from, to := dataStart, dataStart.Add(6*time.Hour)
	file := exportFile(t, url, from, to)
	out := t.TempDir()
	_, _, first := importInto(t, file, out)
	if n := blockCount(t, out); n != 3 || first.Samples.InOut != 0 || first.Samples.Written == 0 {
		t.Fatalf("first import: %d blocks, summary %+v", n, first)
	}
	stdout, _, sum := importInto(t, file, out)
	if n := blockCount(t, out); n != 3 {
		t.Errorf("%d blocks after the second import, want the first's 3", n)
	}
	if sum.Samples.Written != 0 || sum.Samples.InOut != first.Samples.Written || sum.Windows.InOut != 3 {
		t.Errorf("second import's summary %+v, want 0 written and the first's %d samples already in --out, 3 windows", sum, first.Samples.Written)
	}
	for _, line := range []string{
		"imported 3 of 3 windows from " + file,
		"written 0 samples in 0 blocks",
		fmt.Sprintf("%d samples read were already in the output directory (--out) and were not written again; 3 windows were there whole and got no block", first.Samples.Written),
	} {
		if !strings.Contains(stdout, line) {
			t.Errorf("the summary lacks %q:\n%s", line, stdout)
		}
	}
	sameAsSource(t, out, data, from, to)
}

// TestImportFillsWhatARecoveryLeftOut: --out holds part of the file's range
// and part of its series, from recoveries; the import writes only the
// missing samples, and the union is the source, each sample once.
func TestImportFillsWhatARecoveryLeftOut(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 2)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	from, to := dataStart, dataStart.Add(8*time.Hour)
	out := t.TempDir()
	recoverInto(t, url, out, from, from.Add(3*time.Hour))
	recoverInto(t, url, out, from.Add(4*time.Hour), to, "--match", "up")
	_, _, sum := importInto(t, exportFile(t, url, from, to), out)
	if sum.Samples.InOut == 0 || sum.Samples.Written == 0 || sum.Samples.InOut+sum.Samples.Written != sum.Samples.Fetched {
		t.Errorf("summary %+v: want the samples read split between already in --out and written", sum)
	}
	if sum.Windows.InOut != 1 {
		t.Errorf("%d windows found whole in --out, want 1 (the first)", sum.Windows.InOut)
	}
	sameAsSource(t, out, data, from, to)
}

// TestImportKeepsWhatOutHolds: where --out holds another value than the file
// at a timestamp, the value in --out stays, and the import warns and counts
// them as recover does.
func TestImportKeepsWhatOutHolds(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 2)
	from, to := dataStart, dataStart.Add(4*time.Hour)
	changed, differ := changeFirstHour(data, from)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	other, _ := simtest.Start(t, sim.Config{Series: changed, Tokens: []string{testToken}})
	out := t.TempDir()
	recoverInto(t, url, out, from, to)
	stdout, stderr, sum := importInto(t, exportFile(t, other, from, to), out)
	if sum.Samples.Conflicts != differ || sum.Samples.Written != 0 {
		t.Errorf("summary %+v, want %d conflicting samples kept and nothing written", sum, differ)
	}
	if !strings.Contains(stderr, "level=WARN") || !strings.Contains(stderr, "differ from what --out holds") {
		t.Errorf("no warning of the conflicting samples:\n%s", stderr)
	}
	if !strings.Contains(stdout, fmt.Sprintf("%d samples read differ from the value the output directory (--out) holds at their timestamp; the value there was kept", differ)) {
		t.Errorf("the summary does not count the conflicting samples:\n%s", stdout)
	}
	sameAsSource(t, out, data, from, to)
}
