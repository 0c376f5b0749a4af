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

// Samples the source gives twice at one timestamp with different values
// are counted and reported, the series named, in a WARN of the window, a
// line of the summary and --summary-json; the first is kept. They used to
// be dropped with only a count in the summary.
func TestRecoverReportsConflictingSamples(t *testing.T) {
	times := fmt.Sprintf("[%d,%d,%d,%d,%d]", badT0, badT0, badT0+15000, badT0+15000, badT0+30000)
	body := badFrame(badTimeField+","+badValueField, `{"values":[`+times+`,[1,2,3,3,5]]}`)
	url, _ := simtest.Start(t, sim.Config{Series: gen.DemoSeries(dataStart, dataEnd, 1), Tokens: []string{testToken}}, replaceAnswer(body))
	out := t.TempDir()
	summary := filepath.Join(t.TempDir(), "summary.json")
	// The answer is made up, not the simulator's data, so the source's
	// counts cannot match it: the check is left out.
	stdout, stderr, err := runCLI(t, "recover", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", badFrom.Format(time.RFC3339), "--to", badTo.Format(time.RFC3339), "--out", out, "--summary-json", summary, "--no-crosscheck")
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	series := `{__name__="up", instance="a:9100", job="node"}`
	if want := "window 2025-08-03T02:00:00Z..2025-08-03T04:00:00Z: 1 samples had a second, different value at the same timestamp; the first was kept (series " + series + ": 1)"; !strings.Contains(stdout, want) {
		t.Errorf("the summary lacks %q:\n%s", want, stdout)
	}
	if !strings.Contains(stdout, "fetched 3 samples of 1 series; written 3 samples") {
		t.Errorf("summary:\n%s", stdout)
	}
	if want := `level=WARN msg="samples with a second, different value at the same timestamp; the first was kept" window=2025-08-03T02:00:00Z..2025-08-03T04:00:00Z samples=1 series="` + strings.ReplaceAll(series, `"`, `\"`) + `: 1"`; !strings.Contains(stderr, want) {
		t.Errorf("the log lacks %q:\n%s", want, stderr)
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Samples struct {
			Conflicting int64 `json:"conflicting"`
		} `json:"samples"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.Samples.Conflicting != 1 {
		t.Errorf("--summary-json: %v, samples.conflicting %d, want 1:\n%s", err, doc.Samples.Conflicting, b)
	}
}
