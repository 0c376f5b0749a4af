package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// The import tests read what they installed back from the blocks and
// compare it with the source sample by sample, values bit for bit.

var (
	importFrom = dataStart.Add(time.Hour)
	importTo   = dataStart.Add(5*time.Hour + 30*time.Minute) // three windows, two partial
)

func TestImportOfExportEqualsTheSource(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 5)
	hsURL, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	file := filepath.Join(t.TempDir(), "lost.json")
	_, stderr, err := runCLI(t, "export", "--grafana-url", hsURL, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", importFrom.Format(time.RFC3339), "--to", importTo.Format(time.RFC3339), "--out", file)
	if err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	out := t.TempDir()
	stdout, stderr, err := runCLI(t, "import", file, "--out", out)
	if err != nil {
		t.Fatalf("import: %v\n%s\n%s", err, stdout, stderr)
	}
	want := extract.Clip(data, importFrom.UnixMilli(), importTo.UnixMilli())
	n := extract.CountSamples(want)
	for _, line := range []string{
		"imported 3 of 3 windows from " + file + " (json) in ",
		fmt.Sprintf("read %d samples of %d series; written %d samples in 3 blocks", n, len(want), n),
		"BLOCK ULID",
	} {
		if !strings.Contains(stdout, line) {
			t.Errorf("summary lacks %q:\n%s", line, stdout)
		}
	}
	checkBlocks(t, out, want, 3)
}

// writeOpenMetrics writes series as OpenMetrics text, families together with
// their TYPE lines. Timestamps carry a tenth of a millisecond more than
// their value, so that the parser's truncation of seconds x 1000 gives back
// exactly the millisecond.
func writeOpenMetrics(series []extract.Series, types map[string]string) string {
	series = slices.Clone(series)
	slices.SortFunc(series, func(a, b extract.Series) int { return labels.Compare(a.Labels, b.Labels) })
	var b strings.Builder
	lastFamily := ""
	for _, s := range series {
		name := s.Labels.Get("__name__")
		family := name
		for _, suffix := range []string{"_bucket", "_count", "_sum", "_total"} {
			family = strings.TrimSuffix(family, suffix)
		}
		if family != lastFamily {
			if typ, ok := types[family]; ok {
				fmt.Fprintf(&b, "# HELP %s Help text.\n# TYPE %s %s\n", family, family, typ)
			}
			lastFamily = family
		}
		prefix := omSeriesText(s.Labels) + " "
		for _, smp := range s.Samples {
			fmt.Fprintf(&b, "%s%s %d.%03d1\n", prefix, strconv.FormatFloat(smp.V, 'g', -1, 64), smp.T/1000, smp.T%1000)
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

// omSeriesText writes a series' name and labels as OpenMetrics does.
func omSeriesText(lset labels.Labels) string {
	var text strings.Builder
	text.WriteString(lset.Get("__name__") + "{")
	lset.Range(func(l labels.Label) {
		if l.Name != "__name__" {
			text.WriteString(l.Name + "=" + strconv.Quote(l.Value) + ",")
		}
	})
	return strings.TrimSuffix(text.String(), ",") + "}"
}

func TestImportOfOpenMetricsEqualsTheSource(t *testing.T) {
	data := extract.Clip(gen.DemoSeries(dataStart, dataEnd, 6), importFrom.UnixMilli(), importTo.UnixMilli())
	// The demo has NaN and +Inf; add -Inf, -0 and a stale marker.
	special := []extract.Sample{{T: importFrom.UnixMilli() + 500, V: math.Inf(-1)}, {T: importFrom.UnixMilli() + 15_500, V: math.Copysign(0, -1)},
		{T: importFrom.UnixMilli() + 30_500, V: math.Float64frombits(value.StaleNaN)}}
	data = append(data, extract.Series{Labels: labels.FromStrings("__name__", "special_values", "job", "x"), Samples: special})
	types := map[string]string{"http_request_duration_seconds": "histogram", "http_requests": "counter", "special_values": "gauge"}
	text := writeOpenMetrics(data, types)

	// What promtool would store: a stale marker cannot be written in
	// OpenMetrics (it reads as Prometheus's normal NaN), and in a histogram
	// Prometheus's parser writes le in OpenMetrics's canonical form ("1" is
	// "1.0").
	want := make([]extract.Series, len(data))
	for i, s := range data {
		want[i] = extract.Series{Labels: s.Labels, Samples: slices.Clone(s.Samples)}
		if le := s.Labels.Get("le"); le != "" {
			f, err := strconv.ParseFloat(le, 64)
			if err != nil {
				t.Fatal(err)
			}
			want[i].Labels = labels.NewBuilder(s.Labels).Set("le", labels.FormatOpenMetricsFloat(f)).Labels()
		}
		for j, smp := range want[i].Samples {
			if value.IsStaleNaN(smp.V) {
				want[i].Samples[j].V = math.Float64frombits(value.NormalNaN)
			}
		}
	}
	if !slices.ContainsFunc(want, func(s extract.Series) bool { return s.Labels.Get("le") == "1.0" }) {
		t.Fatal("the test data lost its le=\"1\" bucket")
	}

	t.Run("from a file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "lost.om")
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		out := t.TempDir()
		stdout, stderr, err := runCLI(t, "import", file, "--out", out)
		if err != nil {
			t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
		}
		lines := strings.Count(text, "\n")
		if want := fmt.Sprintf("imported 3 of 3 windows from %s (openmetrics, %d lines)", file, lines); !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
		checkBlocks(t, out, want, 3)
	})
	t.Run("from stdin, format given", func(t *testing.T) {
		out := t.TempDir()
		var stdout, stderr bytes.Buffer
		root := newRoot(&stdout, &stderr)
		root.SetIn(strings.NewReader(text))
		root.SetArgs([]string{"import", "-", "--out", out, "--format", "openmetrics"})
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("%v\n%s\n%s", err, stdout.String(), stderr.String())
		}
		if !strings.Contains(stdout.String(), "from stdin (openmetrics") {
			t.Errorf("summary:\n%s", stdout.String())
		}
		checkBlocks(t, out, want, 3)
	})
}

// checkBlocks compares the blocks in dir with want and counts them.
func checkBlocks(t *testing.T, dir string, want []extract.Series, nBlocks int) {
	t.Helper()
	if have := blockWindows(t, dir); len(have) != nBlocks {
		t.Fatalf("%d blocks in %s, want %d", len(have), dir, nBlocks)
	}
	got, err := blocks.ReadSeries(dir, math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	if err := extract.Compare(want, got); err != nil {
		t.Fatal(err)
	}
}

func TestImportBadInputInstallsNothing(t *testing.T) {
	// Four windows' worth of good series, so that bad input late in the
	// file finds windows with data in them.
	data := extract.Clip(gen.DemoSeries(dataStart, dataEnd, 2), dataStart.UnixMilli(), dataStart.Add(8*time.Hour).UnixMilli())
	good := strings.TrimSuffix(writeOpenMetrics(data, map[string]string{"http_requests": "counter"}), "# EOF\n")
	goodLines := strings.Count(good, "\n")
	ts := func(t time.Time) string { return fmt.Sprintf("%d.%03d", t.Unix(), t.Nanosecond()/1e6) }
	later := ts(dataStart.Add(3 * time.Hour))
	cases := []struct {
		name, content string
		args          []string
		want          []string
	}{
		{name: "a malformed line at the end", content: good + "up{job=\"x\" 1 " + later + "\n# EOF\n",
			want: []string{fmt.Sprintf("line %d:", goodLines+1), "nothing was installed"}},
		{name: "cut short", content: good[:len(good)-30],
			want: []string{fmt.Sprintf("line %d:", goodLines), "without the closing '# EOF' line"}},
		{name: "milliseconds for seconds", content: good + "late_metric 1 " + strconv.FormatInt(dataStart.UnixMilli(), 10) + "\n# EOF\n",
			want: []string{fmt.Sprintf("line %d:", goodLines+1), "looks like milliseconds"}},
		{name: "not grouped by series", content: good + omSeriesText(data[0].Labels) + " 1 " + later + "\n# EOF\n",
			want: []string{fmt.Sprintf("line %d:", goodLines+1), "comes again", "group the lines of each series together"}},
		{name: "broken JSON", content: "{\"status\":\"success\",\n\"data\":{\"resultType\":\"matrix\",\"result\":[{]}}\n",
			want: []string{"line 2, column", "not valid Prometheus matrix JSON"}},
		{name: "empty", content: "", want: []string{"the input is empty"}},
		{name: "unknown format", content: "# EOF\n", args: []string{"--format", "csv"}, want: []string{`--format: unknown format "csv"`}},
		{name: "no samples", content: "# TYPE a gauge\n# EOF\n", want: []string{"holds no samples; nothing was written"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "in")
			if err := os.WriteFile(file, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			before := listTree(t, out)
			stdout, stderr, err := runCLI(t, append([]string{"import", file, "--out", out}, tc.args...)...)
			if err == nil {
				t.Fatalf("no error\n%s\n%s", stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if after := listTree(t, out); !slices.Equal(before, after) {
				t.Errorf("--out changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
	t.Run("missing file and missing --out", func(t *testing.T) {
		if _, _, err := runCLI(t, "import", filepath.Join(t.TempDir(), "nope"), "--out", t.TempDir()); err == nil || !strings.Contains(err.Error(), "no such file") {
			t.Errorf("missing file: %v", err)
		}
		if _, _, err := runCLI(t, "import", "x"); err == nil || !strings.Contains(err.Error(), "--out is required") {
			t.Errorf("no --out: %v", err)
		}
		if _, _, err := runCLI(t, "import", "x", "--out", filepath.Join(t.TempDir(), "nope")); err == nil || !strings.Contains(err.Error(), "no such directory") {
			t.Errorf("missing --out: %v", err)
		}
	})
}
