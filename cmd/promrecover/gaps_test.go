package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/servers"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// TestGapsThenOnlyGaps builds the data a Prometheus kept after losing
// 02:00-04:00 (blocks for the windows before and after), lists the holes from
// the data directory and from a real Prometheus serving it, then recovers
// with --only-gaps into that same directory: the result is the source,
// sample for sample, and nothing was written over surviving data; 2.42
// and 3.x both list the same holes and serve the result.
func TestGapsThenOnlyGaps(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 6)
	// The data kept covers 00:00-02:00 and 04:00-06:00; the range looked at
	// has surviving data on both sides of the loss, as after an incident.
	kept := []extract.Window{{Start: dataStart.UnixMilli(), End: dataStart.Add(2 * time.Hour).UnixMilli()}, {Start: dataStart.Add(4 * time.Hour).UnixMilli(), End: dataStart.Add(6 * time.Hour).UnixMilli()}}
	from, to := dataStart.Add(time.Hour), dataStart.Add(5*time.Hour)
	lostFrom, lostTo := dataStart.Add(2*time.Hour), dataStart.Add(4*time.Hour)
	local := t.TempDir()
	keep(t, local, data, kept)

	rng := []string{"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339)}
	fromData, stderr, err := runCLI(t, append([]string{"gaps", "--data", local}, rng...)...)
	if err != nil {
		t.Fatalf("gaps --data: %v\n%s", err, stderr)
	}
	if !strings.Contains(fromData, "have holes in [2025-08-03T01:00:00.000Z, 2025-08-03T05:00:00.000Z)") {
		t.Fatalf("gaps --data:\n%s", fromData)
	}
	// Every series has one hole, the lost two hours, each as its scrapes
	// saw it: one line says so.
	lines := strings.Split(fromData, "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[1], "2025-08-03T01:59:") || !strings.Contains(lines[1], " 2025-08-03T04:00:") ||
		!strings.Contains(lines[1], fmt.Sprintf(" %d series", len(data))) {
		t.Fatalf("want one line for the lost range and the %d series:\n%s", len(data), fromData)
	}
	for _, v := range servers.Versions {
		t.Run("Prometheus "+string(v), func(t *testing.T) {
			prom := startPrometheus(t, v, local)
			defer prom.stop()
			fromProm, stderr, err := runCLI(t, append([]string{"gaps", "--prometheus-url", prom.url}, rng...)...)
			if err != nil {
				t.Fatalf("gaps --prometheus-url: %v\n%s", err, stderr)
			}
			if withoutFill(fromProm) != withoutFill(fromData) {
				t.Fatalf("the data directory and Prometheus disagree:\n--data:\n%s\n--prometheus-url:\n%s", fromData, fromProm)
			}
			if !strings.HasSuffix(fromProm, " --prometheus-url "+prom.url+"\n") {
				t.Fatalf("the command to fill the holes does not read them from the Prometheus asked:\n%s", fromProm)
			}
		})
	}

	// The command gaps printed, its placeholders filled, recovers exactly
	// what was lost.
	hsURL, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	args := fillArgs(t, fromData, map[string]string{"URL": hsURL, "NAME": "grafanacloud-prom", "DIR": local})
	stdout, stderr, err := runCLI(t, append(args, "--token", testToken)...)
	if err != nil {
		t.Fatalf("%s: %v\n%s\n%s", args, err, stdout, stderr)
	}
	got, err := blocks.ReadSeries(local, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if err := extract.Compare(extract.Clip(data, from.UnixMilli(), to.UnixMilli()), got); err != nil {
		t.Fatalf("after --only-gaps: %v", err)
	}
	lost := extract.CountSamples(extract.Clip(data, lostFrom.UnixMilli(), lostTo.UnixMilli()))
	if !strings.Contains(stdout, "written "+strconv.FormatInt(lost, 10)+" samples") {
		t.Fatalf("--only-gaps should write exactly the %d lost samples:\n%s", lost, stdout)
	}
	servesExactly(t, local, from, to, extract.Clip(data, from.UnixMilli(), to.UnixMilli()))
}

// keep writes the samples of data in each of the windows into dir, a block
// a window: the data a Prometheus kept.
func keep(t *testing.T, dir string, data []extract.Series, windows []extract.Window) {
	t.Helper()
	sink, err := blocks.NewSink(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	for _, w := range windows {
		if err := sink.Add(context.Background(), w, extract.Clip(data, w.Start, w.End)); err != nil {
			t.Fatal(err)
		}
		if err := sink.Done(context.Background(), w, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// withoutFill is the output of gaps without the command it ends with, which
// names where the surviving data was read.
func withoutFill(out string) string {
	before, _, _ := strings.Cut(out, fillPrefix)
	return before
}

const fillPrefix = "to write into the holes: "

// fillArgs returns the arguments of the command the output of gaps ends
// with, its placeholders replaced.
func fillArgs(t *testing.T, out string, placeholders map[string]string) []string {
	t.Helper()
	_, cmd, ok := strings.Cut(out, fillPrefix)
	if !ok || strings.ContainsAny(cmd, `'"`) {
		t.Fatalf("no command to fill the holes, or one quoted:\n%s", out)
	}
	args := strings.Fields(cmd)
	if args[0] != "promrecover" {
		t.Fatalf("the command to fill the holes: %s", cmd)
	}
	for i, a := range args {
		if v, ok := placeholders[a]; ok {
			args[i] = v
		}
	}
	return args[1:]
}

func TestFillCommand(t *testing.T) {
	p, err := extract.NewPlan(dataStart, dataStart.Add(time.Hour), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	const head = "promrecover recover --grafana-url URL --datasource NAME --out DIR --only-gaps --from 2025-08-03T00:00:00.000Z --to 2025-08-03T01:00:00.000Z"
	cases := []struct {
		name      string
		local     localFlags
		match     []string
		minGapSet bool
		want      string
	}{
		{"a data directory", localFlags{data: "/var/lib/prometheus", minGap: time.Minute}, nil, false, head + " --data /var/lib/prometheus"},
		{"a Prometheus, selectors quoted", localFlags{promURL: "http://localhost:9090", minGap: time.Minute}, []string{`{job="api"}`, "up", `{a='b'}`}, false,
			head + ` --match '{job="api"}' --match up --match '{a='\''b'\''}' --prometheus-url http://localhost:9090`},
		{"a minimum gap set", localFlags{data: "my data", minGap: 5 * time.Minute}, nil, true, head + " --data 'my data' --min-gap 5m0s"},
	}
	for _, tc := range cases {
		if got := tc.local.fillCommand(p, tc.match, tc.minGapSet); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// TestGapsNoEdgeHoles: a data directory holding exactly the range looked at
// (each series' first sample a few seconds after its start, its last a few
// before its end) has no hole, not two a series.
func TestGapsNoEdgeHoles(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 6)
	w := extract.Window{Start: dataStart.Add(2 * time.Hour).UnixMilli(), End: dataStart.Add(4 * time.Hour).UnixMilli()}
	local := t.TempDir()
	sink, err := blocks.NewSink(local, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Add(context.Background(), w, extract.Clip(data, w.Start, w.End)); err != nil {
		t.Fatal(err)
	}
	if err := sink.Done(context.Background(), w, nil); err != nil {
		t.Fatal(err)
	}
	sink.Close()
	out, stderr, err := runCLI(t, "gaps", "--data", local, "--from", time.UnixMilli(w.Start).UTC().Format(time.RFC3339),
		"--to", time.UnixMilli(w.End).UTC().Format(time.RFC3339), "--min-gap", "5m")
	if err != nil {
		t.Fatalf("gaps: %v\n%s", err, stderr)
	}
	if want := fmt.Sprintf("none of the %d local series has a hole in [2025-08-03T02:00:00.000Z, 2025-08-03T04:00:00.000Z)", len(data)); !strings.HasPrefix(out, want) {
		t.Fatalf("want %q, got:\n%s", want, out)
	}
}
