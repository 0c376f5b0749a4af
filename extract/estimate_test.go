package extract

import (
	"slices"
	"testing"
	"time"
)

func mustPlan(t *testing.T, from, to time.Time, step time.Duration, sel ...string) *Plan {
	t.Helper()
	p, err := NewPlan(from, to, step, sel)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClassifyWindows(t *testing.T) {
	base := time.Date(2025, 8, 3, 0, 0, 0, 0, time.UTC)
	ms := func(h float64) int64 { return base.Add(time.Duration(h * float64(time.Hour))).UnixMilli() }
	p := mustPlan(t, base.Add(time.Hour), base.Add(7*time.Hour), 0) // windows 0-2, 2-4, 4-6, 6-8
	cases := []struct {
		name             string
		head, cutoff     int64
		inHead, pastRetn []bool
	}{
		{"nothing", ms(100), 0, []bool{false, false, false, false}, []bool{false, false, false, false}},
		{"head from 5h: the windows holding data after it", ms(5), 0, []bool{false, false, true, true}, []bool{false, false, false, false}},
		{"head from 7h: the last window's data stops at --to", ms(7), 0, []bool{false, false, false, false}, []bool{false, false, false, false}},
		{"retention cutoff at 4h: windows ending by then", ms(100), ms(4), []bool{false, false, false, false}, []bool{true, true, false, false}},
		{"cutoff inside a window keeps it", ms(100), ms(3), []bool{false, false, false, false}, []bool{true, false, false, false}},
	}
	for _, tc := range cases {
		got := ClassifyWindows(p, tc.head, tc.cutoff)
		var inHead, past []bool
		for _, w := range got {
			inHead, past = append(inHead, w.InHead), append(past, w.PastRetention)
		}
		if !slices.Equal(inHead, tc.inHead) || !slices.Equal(past, tc.pastRetn) {
			t.Errorf("%s: in head %v, past retention %v; want %v, %v", tc.name, inHead, past, tc.inHead, tc.pastRetn)
		}
	}
}

func TestEstimates(t *testing.T) {
	base := time.Date(2025, 8, 3, 0, 0, 0, 0, time.UTC)
	sels := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, `{job="j`+string(rune('a'+i))+`"}`)
		}
		return out
	}
	cases := []struct {
		name      string
		from, to  time.Duration
		step      time.Duration
		selectors int
		batch     int
		series    int
		interval  time.Duration
		requests  int
		samples   int64
	}{
		{"one window, all series", 0, 2 * time.Hour, 0, 0, 8, 100, 15 * time.Second, 1, 100 * 480},
		{"partial windows count by the range", time.Hour, 5 * time.Hour, 0, 1, 8, 10, 15 * time.Second, 3, 10 * 960},
		{"9 selectors are two batches a window", 0, 4 * time.Hour, 0, 9, 8, 1, time.Minute, 4, 240},
		{"no batching", 0, 4 * time.Hour, 0, 9, 1, 1, time.Minute, 18, 240},
		{"step mode counts steps", 0, 2 * time.Hour, time.Minute, 1, 8, 3, 15 * time.Second, 1, 3 * 120},
		{"a partial interval rounds up", 0, 90 * time.Second, 0, 1, 8, 1, time.Minute, 1, 2},
		{"no series", 0, 2 * time.Hour, 0, 1, 8, 0, 15 * time.Second, 1, 0},
	}
	for _, tc := range cases {
		p := mustPlan(t, base.Add(tc.from), base.Add(tc.to), tc.step, sels(tc.selectors)...)
		if got := Requests(p, tc.batch); got != tc.requests {
			t.Errorf("%s: requests %d, want %d", tc.name, got, tc.requests)
		}
		if got := Samples(p, tc.series, tc.interval); got != tc.samples {
			t.Errorf("%s: samples %d, want %d", tc.name, got, tc.samples)
		}
	}
	if j, g := Bytes(3000); j != 60000 || g != 20000 {
		t.Errorf("Bytes(3000) = %d, %d", j, g)
	}
}
