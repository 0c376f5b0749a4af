package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/promjson"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// fastClock is what a sender whose clock runs 1h45m fast leaves: a series
// scraped every 15s from 4h ago to 1h45m ahead of now, ending with a stale
// marker, and a gauge beside it.
func fastClock(now time.Time) []extract.Series {
	var out []extract.Series
	for _, name := range []string{"fast_clock_total", "fast_clock_gauge"} {
		s := extract.Series{Labels: labels.FromStrings("__name__", name, "job", "fast")}
		start, end := now.Add(-4*time.Hour).Truncate(15*time.Second), now.Add(105*time.Minute)
		for t, i := start, 0; t.Before(end); t, i = t.Add(15*time.Second), i+1 {
			s.Samples = append(s.Samples, extract.Sample{T: t.UnixMilli(), V: float64(i)})
		}
		s.Samples = append(s.Samples, extract.Sample{T: end.UnixMilli(), V: math.Float64frombits(value.StaleNaN)})
		out = append(out, s)
	}
	return out
}

// newestMaxTime is the end of the newest block in dir.
func newestMaxTime(t *testing.T, dir string) time.Time {
	t.Helper()
	maxt, ok, err := blocks.NewestMaxTime(dir)
	if err != nil || !ok {
		t.Fatalf("no block in %s: %v", dir, err)
	}
	return time.UnixMilli(maxt)
}

// A recover into a data directory refuses a range that ends in the future,
// and one that ends now installs nothing after now: the block of a source
// whose clock runs fast must not make Prometheus drop every scrape as out of
// bounds until that time (issue 12, item 1).
func TestRecoverWritesNothingAfterTheRun(t *testing.T) {
	now := time.Now()
	data := fastClock(now)
	addr, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	out := t.TempDir()
	from, to := now.Add(-4*time.Hour).Truncate(time.Second), now.Truncate(time.Second)
	args := func(to string) []string {
		return []string{"recover", "--grafana-url", addr, "--token", testToken, "--datasource", "grafanacloud-prom",
			"--from", from.Format(time.RFC3339), "--to", to, "--out", out}
	}

	_, _, err := runCLI(t, args(to.Add(2*time.Hour).Format(time.RFC3339))...)
	if err == nil || !strings.Contains(err.Error(), "--to "+extract.FormatTime(to.Add(2*time.Hour).UnixMilli())+" is ") || !strings.Contains(fmt.Sprint(err), " after now (") ||
		!strings.Contains(err.Error(), "pass --to now or an earlier time") {
		t.Fatalf("recover with --to 2h ahead: err = %v, want a refusal naming --to now", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) > 0 {
		t.Fatalf("the refused run left %d entries in --out", len(entries))
	}

	if stdout, stderr, err := runCLI(t, args(to.Format(time.RFC3339))...); err != nil {
		t.Fatalf("recover: %v\n%s\n%s", err, stdout, stderr)
	}
	if maxt := newestMaxTime(t, out); maxt.After(time.Now().Add(time.Minute)) {
		t.Fatalf("the newest block ends at %s, after the run (%s)", maxt, time.Now())
	}
	servesExactly(t, out, from, to, extract.Clip(data, from.UnixMilli(), to.UnixMilli()))
}

// An import holds back the samples stamped after the time of the run (and
// a minute of skew), and says how many, per window and in the summary.
func TestImportHoldsBackFutureSamples(t *testing.T) {
	now := time.Now()
	data := fastClock(now)
	file := filepath.Join(t.TempDir(), "fast.json")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := promjson.Write(f, data); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, sumFile := t.TempDir(), filepath.Join(t.TempDir(), "summary.json")
	before := time.Now()
	stdout, stderr, err := runCLI(t, "import", file, "--out", out, "--summary-json", sumFile)
	after := time.Now()
	if err != nil {
		t.Fatalf("import: %v\n%s\n%s", err, stdout, stderr)
	}
	if maxt := newestMaxTime(t, out); maxt.After(after.Add(time.Minute)) {
		t.Fatalf("the newest block ends at %s, after the run (%s) and its minute of skew", maxt, after)
	}
	// The run's clock is read between before and after: as many samples
	// are held back as are stamped after it.
	ahead := func(t time.Time) (n int64) {
		for _, s := range data {
			for _, smp := range s.Samples {
				if smp.T > t.Add(time.Minute).UnixMilli() {
					n++
				}
			}
		}
		return n
	}
	var doc struct {
		Samples struct {
			Fetched, Written int64
			Future           int64 `json:"held_back_future"`
		}
	}
	raw, err := os.ReadFile(sumFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if n := doc.Samples.Future; n < ahead(after) || n > ahead(before) || n == 0 {
		t.Errorf("summary: held_back_future %d, want %d..%d", n, ahead(after), ahead(before))
	}
	if doc.Samples.Written+doc.Samples.Future != doc.Samples.Fetched {
		t.Errorf("summary: %d written + %d held back != %d read", doc.Samples.Written, doc.Samples.Future, doc.Samples.Fetched)
	}
	if !strings.Contains(stdout, "samples stamped after ") || !strings.Contains(stderr, "were held back") {
		t.Errorf("the held-back samples are not reported:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
}
