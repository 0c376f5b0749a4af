package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/seriestest"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// scraped is a series with a sample every 15s over [from, to).
func scraped(ls labels.Labels, from, to time.Time) extract.Series {
	return seriestest.Scraped(ls, from, to, func(t int64) float64 { return float64(t%997) + 1 })
}

func relabelServer(t *testing.T, series ...extract.Series) (*sim.Server, string) {
	t.Helper()
	url, srv := simtest.Start(t, sim.Config{Series: series, Tokens: []string{testToken}})
	return srv, url
}

func TestRelabelCollisionFailsTheWindow(t *testing.T) {
	w1, w2 := dataStart, dataStart.Add(2*time.Hour)
	_, url := relabelServer(t,
		// Two series that differ only by cluster, in the first window only.
		scraped(labels.FromStrings("__name__", "up", "cluster", "eu-1", "job", "node"), w1, w2),
		scraped(labels.FromStrings("__name__", "up", "cluster", "eu-2", "job", "node"), w1, w2),
		// One that stays distinct, in both windows.
		scraped(labels.FromStrings("__name__", "temp", "cluster", "eu-1", "job", "node"), w1, w2.Add(2*time.Hour)),
	)
	out := t.TempDir()
	stdout, stderr, err := runCLI(t, "recover", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", w1.Format(time.RFC3339), "--to", w2.Add(2*time.Hour).Format(time.RFC3339), "--out", out, "--drop-label", "cluster")
	if err == nil || !strings.Contains(err.Error(), "1 of 2 windows were not recovered") {
		t.Fatalf("error = %v\n%s\n%s", err, stdout, stderr)
	}
	for _, want := range []string{`cluster="eu-1"`, `cluster="eu-2"`, `both become {__name__="up", job="node"}`, "drop fewer labels"} {
		if !strings.Contains(stdout+stderr, want) {
			t.Errorf("output lacks %q:\n%s\n%s", want, stdout, stderr)
		}
	}
	have := blockWindows(t, out)
	if len(have) != 1 || !have[w2.UnixMilli()] {
		t.Fatalf("want only the second window's block, have %v", have)
	}
	noStaging(t, out)
}

// withLabels is s with the label pairs set.
func withLabels(s extract.Series, set ...string) extract.Series {
	b := labels.NewBuilder(s.Labels)
	for i := 0; i+1 < len(set); i += 2 {
		b.Set(set[i], set[i+1])
	}
	return extract.Series{Labels: b.Labels(), Samples: s.Samples}
}

// TestRelabelServedByPrometheus recovers series that carry the external
// label remote_write added (cluster), relabelled, and checks through the real
// Prometheus that every series has exactly the labels the test expects,
// rewritten here from the source's labels as a map, and every sample of the
// source. Selectors still see the source's labels. Relabelling that merges
// series is refused, and leaves the directory empty.
func TestRelabelServedByPrometheus(t *testing.T) {
	from, to := dataStart.Add(time.Hour), dataStart.Add(4*time.Hour) // two windows, the first partial
	var source []extract.Series
	for _, s := range gen.DemoSeries(dataStart, to, 11) {
		set := []string{"cluster", "eu-1"}
		if s.Labels.Get("job") == "node" {
			set = append(set, "env", "cloud") // a label the rules overwrite or drop
		}
		source = append(source, withLabels(s, set...))
	}
	// Another cluster's series, which would merge with eu-1's without their
	// cluster label: the selector keeps them out.
	for _, s := range gen.DemoSeries(dataStart, to, 12) {
		source = append(source, withLabels(s, "cluster", "eu-2"))
	}

	cases := []struct {
		name  string
		flags []string
		// relabel is what the rules must do to a series' labels.
		relabel func(map[string]string)
		// merged, if not empty, is in the error: the rules merge series.
		merged []string
	}{
		{
			name:    "drop the external label, set env",
			flags:   []string{"--drop-label", "cluster", "--set-label", "env=prod"},
			relabel: func(m map[string]string) { delete(m, "cluster"); m["env"] = "prod" },
		},
		{
			name:    "overwrite the external label, drop a label some series have",
			flags:   []string{"--set-label", "cluster=eu-west", "--drop-label", "env"},
			relabel: func(m map[string]string) { m["cluster"] = "eu-west"; delete(m, "env") },
		},
		{
			name:   "dropping instance merges series",
			flags:  []string{"--drop-label", "instance", "--drop-label", "cluster"},
			merged: []string{`instance="10.0.1.10:8080"`, "both become", "drop fewer labels", "fetched 0 samples of 0 series; written 0 samples in 0 blocks"},
		},
	}
	_, url := relabelServer(t, source...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			args := append([]string{"recover", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
				"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", out,
				"--match", `{cluster="eu-1"}`}, tc.flags...)
			stdout, stderr, err := runCLI(t, args...)
			if len(tc.merged) > 0 {
				if err == nil || !strings.Contains(err.Error(), "2 of 2 windows were not recovered") ||
					!strings.Contains(err.Error(), "change --drop-label/--set-label") || strings.Contains(err.Error(), "the same command") {
					t.Fatalf("error = %v\n%s\n%s", err, stdout, stderr)
				}
				for _, w := range tc.merged {
					if !strings.Contains(stdout+stderr, w) {
						t.Errorf("output lacks %q:\n%s\n%s", w, stdout, stderr)
					}
				}
				if entries, err := os.ReadDir(out); err != nil || len(entries) != 0 {
					t.Errorf("a refused relabelling left %v in the directory (%v)", entries, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
			}
			var want []extract.Series
			for _, s := range extract.Clip(source, from.UnixMilli(), to.UnixMilli()) {
				if s.Labels.Get("cluster") != "eu-1" {
					continue
				}
				m := s.Labels.Map()
				tc.relabel(m)
				want = append(want, extract.Series{Labels: labels.FromMap(m), Samples: s.Samples})
			}
			servesExactly(t, out, from, to, want)
		})
	}
}

func TestRelabelBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--drop-label", "__name__"}, "metric name cannot be dropped"},
		{[]string{"--set-label", "env"}, "NAME=VALUE"},
	} {
		for _, cmd := range [][]string{
			{"recover", "--out", t.TempDir()},
			{"export", "--out", "-"},
			{"import", "-", "--out", t.TempDir()},
			{"plan"},
		} {
			args := append(append(cmd, "--grafana-url", "http://127.0.0.1:1", "--datasource", "x", "--from", "now-6h"), tc.args...)
			if cmd[0] == "import" {
				args = append(append([]string{}, cmd...), tc.args...)
			}
			_, _, err := runCLI(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: error = %v, want one with %q", args, err, tc.want)
			}
		}
	}
}
