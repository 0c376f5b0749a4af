package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// rerunSamples is the part of --summary-json these tests read.
type rerunSamples struct {
	Samples struct {
		Fetched   int64 `json:"fetched"`
		Written   int64 `json:"written"`
		InOut     int64 `json:"already_in_out"`
		Conflicts int64 `json:"conflicting_in_out"`
	} `json:"samples"`
	Windows struct {
		InOut int `json:"already_in_out"`
	} `json:"windows"`
}

// recoverInto runs recover of [from, to) from url into out with extra flags
// and returns its output and --summary-json.
func recoverInto(t *testing.T, url, out string, from, to time.Time, extra ...string) (stdout, stderr string, sum rerunSamples) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "summary.json")
	args := append([]string{"recover", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", out, "--summary-json", file}, extra...)
	stdout, stderr, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("recover %v: %v\n%s\n%s", extra, err, stdout, stderr)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	return stdout, stderr, sum
}

// blockCount counts the installed blocks in dir.
func blockCount(t *testing.T, dir string) int {
	t.Helper()
	metas, _ := filepath.Glob(filepath.Join(dir, "*", "meta.json"))
	return len(metas)
}

// noSampleTwice reads every block in dir on its own and fails when two hold
// a sample of one series at one timestamp: Prometheus would merge them, but a
// rerun must not have written them.
func noSampleTwice(t *testing.T, dir string) {
	t.Helper()
	metas, _ := filepath.Glob(filepath.Join(dir, "*", "meta.json"))
	seen := map[string]string{}
	for _, m := range metas {
		path := filepath.Dir(m)
		b, err := tsdb.OpenBlock(nil, path, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		q, err := tsdb.NewBlockQuerier(b, b.MinTime(), b.MaxTime())
		if err != nil {
			t.Fatal(err)
		}
		set := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
		for set.Next() {
			s := set.At()
			it := s.Iterator(nil)
			for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
				key := fmt.Sprintf("%s@%d", s.Labels(), it.AtT())
				if other, ok := seen[key]; ok {
					t.Fatalf("%s is in block %s and in block %s", key, other, filepath.Base(path))
				}
				seen[key] = filepath.Base(path)
			}
		}
		if err := set.Err(); err != nil {
			t.Fatal(err)
		}
		q.Close()
		b.Close()
	}
}

// sameAsSource fails unless the blocks in dir hold exactly the samples data
// has in [from, to).
func sameAsSource(t *testing.T, dir string, data []extract.Series, from, to time.Time) {
	t.Helper()
	got, err := blocks.ReadSeries(dir, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if err := extract.Compare(extract.Clip(data, from.UnixMilli(), to.UnixMilli()), got); err != nil {
		t.Fatal(err)
	}
	noSampleTwice(t, dir)
}

// TestRerunWritesOnlyWhatOutLacks reruns a recovery into the --out it filled,
// the resume state notwithstanding: restarted, deleted, or keyed by another
// source serving the same data. What --out holds decides: nothing is written
// twice, the summary says the samples were there, and the next run skips the
// windows without fetching them.
func TestRerunWritesOnlyWhatOutLacks(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 2)
	url, srv := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	from, to := dataStart, dataStart.Add(6*time.Hour)
	cases := []struct {
		name  string
		rerun func(t *testing.T, out string) (url string, srv *sim.Server, extra []string)
	}{
		{"--restart", func(t *testing.T, out string) (string, *sim.Server, []string) { return url, srv, []string{"--restart"} }},
		{"the state deleted", func(t *testing.T, out string) (string, *sim.Server, []string) {
			if err := os.Remove(filepath.Join(out, blocks.StateFileName)); err != nil {
				t.Fatal(err)
			}
			return url, srv, nil
		}},
		{"another Grafana serving the same data", func(t *testing.T, out string) (string, *sim.Server, []string) {
			other, otherSrv := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
			return other, otherSrv, nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			_, _, first := recoverInto(t, url, out, from, to)
			if n := blockCount(t, out); n != 3 || first.Samples.InOut != 0 {
				t.Fatalf("first run: %d blocks, %d samples already in --out", n, first.Samples.InOut)
			}
			rerunURL, rerunSrv, extra := tc.rerun(t, out)
			stdout, _, sum := recoverInto(t, rerunURL, out, from, to, extra...)
			if n := blockCount(t, out); n != 3 {
				t.Errorf("%d blocks after the rerun, want the first run's 3", n)
			}
			if sum.Samples.Written != 0 || sum.Samples.InOut != first.Samples.Written || sum.Windows.InOut != 3 {
				t.Errorf("rerun summary %+v, want 0 written and the first run's %d samples already in --out, 3 windows", sum, first.Samples.Written)
			}
			if !strings.Contains(stdout, fmt.Sprintf("%d fetched samples were already in the output directory (--out) and were not written again; 3 windows were there whole and got no block", first.Samples.Written)) {
				t.Errorf("the summary does not say the samples were in --out:\n%s", stdout)
			}
			sameAsSource(t, out, data, from, to)

			// The windows found whole are recorded: the same command again
			// (not restarting) fetches nothing.
			before := rerunSrv.Counters().DSQueries
			stdout, _, _ = recoverInto(t, rerunURL, out, from, to)
			if n := rerunSrv.Counters().DSQueries - before; n != 0 || !strings.Contains(stdout, "all 3 windows") {
				t.Errorf("%d queries after the windows were found in --out, want 0:\n%s", n, stdout)
			}
			if n := blockCount(t, out); n != 3 {
				t.Errorf("%d blocks after a third run, want 3", n)
			}
		})
	}
}

// TestRerunFillsWhatAnEarlierRunLeftOut: --out holds part of the range (a
// shorter range ending inside a window) and part of the series; the rerun
// writes only the missing samples, and the union is the source, each sample
// once.
func TestRerunFillsWhatAnEarlierRunLeftOut(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 2)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	from, to := dataStart, dataStart.Add(8*time.Hour)
	out := t.TempDir()
	recoverInto(t, url, out, from, from.Add(3*time.Hour))
	recoverInto(t, url, out, from.Add(4*time.Hour), to, "--match", "up")
	_, _, sum := recoverInto(t, url, out, from, to)
	if sum.Samples.InOut == 0 || sum.Samples.Written == 0 || sum.Samples.InOut+sum.Samples.Written != sum.Samples.Fetched {
		t.Errorf("summary %+v: want the fetched samples split between already in --out and written", sum)
	}
	if sum.Windows.InOut != 1 {
		t.Errorf("%d windows found whole in --out, want 1 (the first)", sum.Windows.InOut)
	}
	sameAsSource(t, out, data, from, to)
}

// changeFirstHour copies data with the values of its first series changed
// in the hour from from, and counts them.
func changeFirstHour(data []extract.Series, from time.Time) (changed []extract.Series, differ int64) {
	changed = make([]extract.Series, len(data))
	for i, s := range data {
		changed[i] = extract.Series{Labels: s.Labels, Samples: append([]extract.Sample(nil), s.Samples...)}
		if i == 0 {
			for j := range changed[i].Samples {
				if smp := &changed[i].Samples[j]; smp.T >= from.UnixMilli() && smp.T < from.Add(time.Hour).UnixMilli() {
					smp.V++
					differ++
				}
			}
		}
	}
	return changed, differ
}

// TestRerunKeepsWhatOutHolds: where --out holds another value than the
// source at a timestamp, the value in --out stays, no second one is written,
// and the run warns and counts them.
func TestRerunKeepsWhatOutHolds(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 2)
	from, to := dataStart, dataStart.Add(4*time.Hour)
	changed, differ := changeFirstHour(data, from)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	other, _ := simtest.Start(t, sim.Config{Series: changed, Tokens: []string{testToken}})
	out := t.TempDir()
	recoverInto(t, url, out, from, to)
	stdout, stderr, sum := recoverInto(t, other, out, from, to)
	if sum.Samples.Conflicts != differ || sum.Samples.Written != 0 {
		t.Errorf("summary %+v, want %d conflicting samples kept and nothing written", sum, differ)
	}
	if !strings.Contains(stderr, "level=WARN") || !strings.Contains(stderr, "differ from what --out holds") {
		t.Errorf("no warning of the conflicting samples:\n%s", stderr)
	}
	if !strings.Contains(stdout, fmt.Sprintf("%d fetched samples differ from the value the output directory (--out) holds at their timestamp; the value there was kept", differ)) {
		t.Errorf("the summary does not count the conflicting samples:\n%s", stdout)
	}
	sameAsSource(t, out, data, from, to)
}
