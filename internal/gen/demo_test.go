package gen

import (
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/promrecover/promrecover/extract"
)

func TestDemoSeries(t *testing.T) {
	start, end := time.UnixMilli(t0), time.UnixMilli(t0+6*3600000)
	a := DemoSeries(start, end, 42)
	if b := DemoSeries(start, end, 42); !reflect.DeepEqual(labelsOf(a), labelsOf(b)) || !sameData(a, b) {
		t.Fatal("the same seed must give the same data")
	}
	if c := DemoSeries(start, end, 43); sameData(a, c) {
		t.Fatal("another seed should give other data")
	}
	if len(a) < 250 || len(a) > 400 {
		t.Errorf("%d series, want about 300", len(a))
	}
	var nan, inf, infBucket, resets, offGrid, missed int
	names := map[string]bool{}
	for _, s := range a {
		names[s.Labels.Get("__name__")] = true
		if s.Labels.Get("job") == "" || s.Labels.Get("instance") == "" {
			t.Errorf("%s lacks job or instance", s.Labels)
		}
		if s.Labels.Get("le") == "+Inf" {
			infBucket++
		}
		for i, smp := range s.Samples {
			if smp.T < start.UnixMilli() || smp.T >= end.UnixMilli() || (i > 0 && smp.T <= s.Samples[i-1].T) {
				t.Fatalf("%s: sample %d at %d out of order or out of range", s.Labels, i, smp.T)
			}
			switch {
			case math.IsNaN(smp.V):
				nan++
			case math.IsInf(smp.V, 1):
				inf++
			}
			if smp.T%15000 != 0 {
				offGrid++
			}
			if i > 0 && s.Labels.Get("__name__") == "http_requests_total" && smp.V < s.Samples[i-1].V {
				resets++
			}
			if s.Labels.Get("__name__") == "up" && smp.V == 0 {
				missed++
			}
		}
	}
	for _, want := range []string{"up", "http_requests_total", "http_request_duration_seconds_bucket",
		"http_request_duration_seconds_sum", "http_request_duration_seconds_count", "go_goroutines",
		"api_backlog_ratio", "node_memory_MemAvailable_bytes", "node_cpu_seconds_total", "temperature_celsius"} {
		if !names[want] {
			t.Errorf("no %s", want)
		}
	}
	if nan == 0 || inf == 0 || infBucket == 0 || resets == 0 || offGrid == 0 || missed == 0 {
		t.Errorf("want NaN, +Inf, le=+Inf buckets, counter resets, jittered and missed scrapes: %d %d %d %d %d %d",
			nan, inf, infBucket, resets, offGrid, missed)
	}
}

func labelsOf(ss []extract.Series) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Labels.String()
	}
	return out
}

func sameData(a, b []extract.Series) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !slices.EqualFunc(a[i].Samples, b[i].Samples, func(x, y extract.Sample) bool {
			return x.T == y.T && math.Float64bits(x.V) == math.Float64bits(y.V)
		}) {
			return false
		}
	}
	return true
}
