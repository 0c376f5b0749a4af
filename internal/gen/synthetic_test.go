package gen

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/extract"
)

const hourMs = int64(3600000)

// t0 is 2025-01-01T00:00:00Z, a multiple of every step the tests use.
const t0 = int64(1735689600000)

// synth is a Synthetic over [t0, t0+hours) with n series.
func synth(n, hours int) *Synthetic {
	return &Synthetic{Series: n, Start: time.UnixMilli(t0).UTC(), End: time.UnixMilli(t0 + int64(hours)*hourMs).UTC(), Seed: 7}
}

func TestSyntheticLabels(t *testing.T) {
	s := &Synthetic{Start: time.UnixMilli(t0), End: time.UnixMilli(t0 + hourMs)}
	if n := s.NumSeries(); n != 10_000 {
		t.Fatalf("default series: %d, want 10000", n)
	}
	seen := map[string]bool{}
	names := map[string]int{}
	jobs := map[string]bool{}
	for id := range s.NumSeries() {
		lset := s.Labels(id)
		if !labels.Equal(lset, s.Labels(id)) {
			t.Fatalf("labels of %d differ between calls", id)
		}
		if seen[lset.String()] {
			t.Fatalf("label set %s twice", lset)
		}
		seen[lset.String()] = true
		for _, l := range []string{model.MetricNameLabel, "job", "instance", "env", "region"} {
			if lset.Get(l) == "" {
				t.Fatalf("series %s has no %s", lset, l)
			}
		}
		names[lset.Get(model.MetricNameLabel)]++
		jobs[lset.Get("job")] = true
	}
	want := map[string]int{
		"up": 500, "http_requests_total": 3000, "node_cpu_seconds_total": 2000,
		"node_memory_MemAvailable_bytes": 500, "go_goroutines": 500, "process_resident_memory_bytes": 500,
		"temperature_celsius": 1500, "http_request_duration_seconds_sum": 500,
		"http_request_duration_seconds_count": 500, "api_backlog_ratio": 500,
	}
	if len(names) != len(want) {
		t.Fatalf("metric names %v, want %v", names, want)
	}
	for n, c := range want {
		if names[n] != c {
			t.Errorf("%s: %d series, want %d", n, names[n], c)
		}
	}
	if len(jobs) != 4 {
		t.Errorf("jobs %v", jobs)
	}
	if n := (&Synthetic{Series: 33}).NumSeries(); n != 33 {
		t.Errorf("Series 33 gives %d", n)
	}
}

func TestSyntheticIsDeterministic(t *testing.T) {
	a, b := synth(100, 4), synth(100, 4)
	from, to := t0+hourMs, t0+3*hourMs
	if err := extract.Compare(a.SeriesIn(from, to), b.SeriesIn(from, to)); err != nil {
		t.Fatalf("same config, different data: %v", err)
	}
	// Cut in two, the range gives the same samples.
	mid := from + 4321
	joined := map[string]*extract.Series{}
	var order []string
	for _, part := range [][]extract.Series{a.SeriesIn(from, mid), a.SeriesIn(mid, to)} {
		for _, sr := range part {
			k := sr.Labels.String()
			if joined[k] == nil {
				joined[k] = &extract.Series{Labels: sr.Labels}
				order = append(order, k)
			}
			joined[k].Samples = append(joined[k].Samples, sr.Samples...)
		}
	}
	var rejoined []extract.Series
	for _, k := range order {
		rejoined = append(rejoined, *joined[k])
	}
	if err := extract.Compare(a.SeriesIn(from, to), rejoined); err != nil {
		t.Fatalf("split range: %v", err)
	}
	// Samples depend on time, not on where the data set starts.
	longer := synth(100, 4)
	longer.Start = longer.Start.Add(-48 * time.Hour)
	if err := extract.Compare(a.SeriesIn(from, to), longer.SeriesIn(from, to)); err != nil {
		t.Fatalf("earlier start changed the data: %v", err)
	}
	// Another seed is another data set.
	c := synth(100, 4)
	c.Seed++
	if extract.Compare(a.SeriesIn(from, to), c.SeriesIn(from, to)) == nil {
		t.Fatal("another seed gives the same data")
	}
}

func TestSyntheticSamples(t *testing.T) {
	s := synth(200, 3)
	if n, want := synth(10_000, 24).CountSamples(t0, t0+24*hourMs), int64(57_600_000); n != want {
		t.Fatalf("24h of 10,000 series: %d samples, want %d", n, want)
	}
	// Outside the data set there is nothing.
	if got := s.SeriesIn(t0-hourMs, t0); len(got) != 0 {
		t.Fatalf("%d series before Start", len(got))
	}
	if got := s.SeriesIn(t0+3*hourMs, t0+4*hourMs); len(got) != 0 {
		t.Fatalf("%d series after End", len(got))
	}
	from, to := t0-hourMs, t0+3*hourMs+1 // wider than the data set
	series := s.SeriesIn(from, to)
	if len(series) != 200 {
		t.Fatalf("%d series", len(series))
	}
	var nans, infs, resets int
	offsets := map[int64]bool{}
	for _, sr := range series {
		if len(sr.Samples) != 3*240 {
			t.Fatalf("%s: %d samples in 3h, want one per 15s", sr.Labels, len(sr.Samples))
		}
		name := sr.Labels.Get(model.MetricNameLabel)
		counter := strings.HasSuffix(name, "_total") || strings.HasSuffix(name, "_sum") || strings.HasSuffix(name, "_count")
		for i, smp := range sr.Samples {
			if smp.T < t0 || smp.T >= t0+3*hourMs {
				t.Fatalf("%s: sample at %d outside the data set", sr.Labels, smp.T)
			}
			if slot := (smp.T - t0) / 15000; slot != int64(i) {
				t.Fatalf("%s: sample %d at %d is in interval %d", sr.Labels, i, smp.T, slot)
			}
			offsets[(smp.T-t0)%15000] = true
			switch {
			case value.IsStaleNaN(smp.V):
				t.Fatalf("%s: a stale marker", sr.Labels)
			case math.IsNaN(smp.V):
				if math.Float64bits(smp.V) != math.Float64bits(math.NaN()) {
					t.Fatalf("%s: a NaN that is not math.NaN()", sr.Labels)
				}
				nans++
			case math.IsInf(smp.V, 1):
				infs++
			}
			if counter && i > 0 && smp.V < sr.Samples[i-1].V {
				resets++
			}
		}
	}
	if nans == 0 || infs == 0 {
		t.Errorf("%d NaN and %d +Inf samples; want some of each", nans, infs)
	}
	if resets == 0 || resets > 20 {
		t.Errorf("%d counter resets in 3h of 200 series; want a few", resets)
	}
	if len(offsets) < 1000 {
		t.Errorf("only %d distinct offsets in the scrape interval: too regular", len(offsets))
	}
	// AppendSamples and CountSamples agree with SeriesIn.
	var total int64
	for id := range s.NumSeries() {
		got := s.AppendSamples(nil, id, t0+1000, t0+hourMs+999)
		i, ok := slices.BinarySearchFunc(series, s.Labels(id), func(sr extract.Series, l labels.Labels) int { return labels.Compare(sr.Labels, l) })
		if !ok {
			t.Fatalf("series %d not in SeriesIn", id)
		}
		want := extract.Clip(series[i:i+1], t0+1000, t0+hourMs+999)
		if err := extract.Compare(want, []extract.Series{{Labels: s.Labels(id), Samples: got}}); err != nil && len(want) > 0 {
			t.Fatalf("AppendSamples: %v", err)
		}
		total += int64(len(got))
	}
	if n := s.CountSamples(t0+1000, t0+hourMs+999); n != total {
		t.Errorf("CountSamples %d, AppendSamples %d", n, total)
	}
}
