package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// TestGapsThenOnlyGaps builds the data a Prometheus kept after losing
// 02:00-04:00 (blocks for the windows before and after), lists the holes from
// the data directory and from a real Prometheus serving it, then recovers
// with --only-gaps into that same directory: the result is the source,
// sample for sample, and nothing was written over surviving data.
func TestGapsThenOnlyGaps(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 6)
	// The data kept covers 00:00-02:00 and 04:00-06:00; the range looked at
	// has surviving data on both sides of the loss, as after an incident.
	kept := []extract.Window{{Start: dataStart.UnixMilli(), End: dataStart.Add(2 * time.Hour).UnixMilli()}, {Start: dataStart.Add(4 * time.Hour).UnixMilli(), End: dataStart.Add(6 * time.Hour).UnixMilli()}}
	from, to := dataStart.Add(time.Hour), dataStart.Add(5*time.Hour)
	lostFrom, lostTo := dataStart.Add(2*time.Hour), dataStart.Add(4*time.Hour)
	local := t.TempDir()
	sink, err := blocks.NewSink(local, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range kept {
		if err := sink.Add(context.Background(), w, extract.Clip(data, w.Start, w.End)); err != nil {
			t.Fatal(err)
		}
		if err := sink.Done(context.Background(), w, nil); err != nil {
			t.Fatal(err)
		}
	}
	sink.Close()

	rng := []string{"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339)}
	fromData, stderr, err := runCLI(t, append([]string{"gaps", "--data", local}, rng...)...)
	if err != nil {
		t.Fatalf("gaps --data: %v\n%s", err, stderr)
	}
	if !strings.Contains(fromData, "have holes in [2025-08-03T01:00:00.000Z, 2025-08-03T05:00:00.000Z)") {
		t.Fatalf("gaps --data:\n%s", fromData)
	}
	// Every series has one hole, and it covers the lost two hours.
	for _, line := range strings.Split(fromData, "\n")[1:] {
		if strings.HasPrefix(line, "{") && !(strings.Contains(line, "T01:59:") && strings.Contains(line, "T04:00:")) {
			t.Fatalf("a hole that is not the lost range: %s", line)
		}
	}
	prom := startPrometheus(t, local)
	fromProm, stderr, err := runCLI(t, append([]string{"gaps", "--prometheus-url", prom.url}, rng...)...)
	if err != nil {
		t.Fatalf("gaps --prometheus-url: %v\n%s", err, stderr)
	}
	if fromProm != fromData {
		t.Fatalf("the data directory and Prometheus disagree:\n--data:\n%s\n--prometheus-url:\n%s", fromData, fromProm)
	}

	hsURL, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	stdout, stderr, err := runCLI(t, append([]string{"recover", "--grafana-url", hsURL, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--out", local, "--only-gaps"}, rng...)...)
	if err != nil {
		t.Fatalf("recover --only-gaps: %v\n%s\n%s", err, stdout, stderr)
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
}
