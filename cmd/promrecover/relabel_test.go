package main

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/grafana/sim"
)

// scraped is a series with a sample every 15s over [from, to).
func scraped(ls labels.Labels, from, to time.Time) extract.Series {
	s := extract.Series{Labels: ls}
	for t := from.UnixMilli(); t < to.UnixMilli(); t += 15000 {
		s.Samples = append(s.Samples, extract.Sample{T: t, V: float64(t%997) + 1})
	}
	return s
}

func relabelServer(t *testing.T, series ...extract.Series) (*sim.Server, string) {
	t.Helper()
	srv := sim.New(sim.Config{Series: series, Tokens: []string{testToken}})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return srv, hs.URL
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

func TestRelabelDropAndSet(t *testing.T) {
	from, to := dataStart, dataStart.Add(4*time.Hour)
	_, url := relabelServer(t,
		scraped(labels.FromStrings("__name__", "up", "cluster", "eu-1", "job", "node", "env", "cloud"), from, to),
		scraped(labels.FromStrings("__name__", "up", "cluster", "eu-1", "job", "api"), from, to),
	)
	out := t.TempDir()
	// The selector names the cloud's label, which is not written.
	stdout, stderr, err := runCLI(t, "recover", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", out,
		"--match", `{cluster="eu-1"}`, "--drop-label", "cluster", "--set-label", "env=prod")
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	got, err := blocks.ReadSeries(out, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	want := []labels.Labels{
		labels.FromStrings("__name__", "up", "env", "prod", "job", "api"),
		labels.FromStrings("__name__", "up", "env", "prod", "job", "node"),
	}
	if len(got) != len(want) {
		t.Fatalf("got %d series, want %d: %v", len(got), len(want), got)
	}
	for i, s := range got {
		if !labels.Equal(s.Labels, want[i]) {
			t.Errorf("series %d = %s, want %s", i, s.Labels, want[i])
		}
		if len(s.Samples) != 4*240 {
			t.Errorf("series %s has %d samples, want %d", s.Labels, len(s.Samples), 4*240)
		}
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
			{"export", "--output", "-"},
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
