package sim

import (
	"testing"
	"time"
)

func TestCalculateStep(t *testing.T) {
	from := time.UnixMilli(t0).UTC()
	cases := []struct {
		name string
		in   stepInput
		span time.Duration
		want time.Duration
	}{
		{"interval overrides intervalMs and timeInterval",
			stepInput{interval: "30s", intervalMs: 15000, dsInterval: "60s", maxDataPoints: 11000}, 2 * time.Hour, 30 * time.Second},
		{"intervalMs when no interval",
			stepInput{intervalMs: 15000, dsInterval: "60s", maxDataPoints: 11000}, 2 * time.Hour, 15 * time.Second},
		{"datasource timeInterval",
			stepInput{dsInterval: "1m", maxDataPoints: 11000}, 2 * time.Hour, time.Minute},
		{"15s default", stepInput{maxDataPoints: 11000}, 2 * time.Hour, 15 * time.Second},
		{"maxDataPoints default 100, rounded to a nice interval (216s -> 5m)",
			stepInput{maxDataPoints: 100}, 6 * time.Hour, 5 * time.Minute},
		{"explicit maxDataPoints 0 means 1500 (28.8s -> 30s)",
			stepInput{maxDataPoints: 0}, 12 * time.Hour, 30 * time.Second},
		{"86.4s rounds to 1m", stepInput{maxDataPoints: 1000}, 24 * time.Hour, time.Minute},
		{"rounding may go below the minimum (24s -> 20s < 21s)",
			stepInput{interval: "21s", maxDataPoints: 150}, time.Hour, 20 * time.Second},
		{"below the minimum the minimum is used exactly",
			stepInput{interval: "17s", maxDataPoints: 11000}, time.Hour, 17 * time.Second},
		{"safe interval wins (30d/11000 = 235.6s -> 5m)",
			stepInput{interval: "1s", maxDataPoints: 1000000}, 30 * 24 * time.Hour, 5 * time.Minute},
		{"safe interval rounds down (2h/11000 = 654ms -> 500ms)",
			stepInput{interval: "1ms", maxDataPoints: 100000000}, 2 * time.Hour, 500 * time.Millisecond},
		{"intervalFactor multiplies", stepInput{interval: "15s", intervalFactor: 2, maxDataPoints: 11000}, time.Hour, 30 * time.Second},
		{"brackets are dropped", stepInput{interval: "<10s>", maxDataPoints: 11000}, time.Hour, 10 * time.Second},
		{"a bare number is seconds", stepInput{interval: "10", maxDataPoints: 11000}, time.Hour, 10 * time.Second},
		{"day units", stepInput{interval: "1d", maxDataPoints: 11000}, 30 * 24 * time.Hour, 24 * time.Hour},
		{"$__interval is ignored as a minimum", stepInput{interval: "$__interval", intervalMs: 5000, maxDataPoints: 11000}, time.Hour, 5 * time.Second},
		{"0s means unset", stepInput{interval: "0s", intervalMs: 2000, maxDataPoints: 11000}, time.Hour, 2 * time.Second},
		{"$__rate_interval is max(step+scrape, 4*scrape)",
			stepInput{interval: "$__rate_interval", intervalMs: 15000, maxDataPoints: 11000}, 2 * time.Hour, time.Minute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.in.from, c.in.to = from, from.Add(c.span)
			got, err := calculateStep(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("step %v, want %v", got, c.want)
			}
		})
	}
	if _, err := calculateStep(stepInput{interval: "abc", from: from, to: from.Add(time.Hour)}); err == nil {
		t.Error("an unparsable interval must fail")
	}
}

func TestAlignTime(t *testing.T) {
	cases := []struct {
		t      int64
		step   time.Duration
		offset int64
		want   int64
	}{
		{t0 + 7123, 15 * time.Second, 0, t0},
		{t0 + 15000, 15 * time.Second, 0, t0 + 15000},
		{t0 + 14999, 15 * time.Second, 0, t0},
		{t0 + 7123, 15 * time.Second, 7, t0 - 7000},
		{t0 + 3599999, time.Hour, 0, t0},
		{t0 - 1, time.Minute, 0, t0 - 60000},
		{t0 + 1234, 500 * time.Millisecond, 0, t0 + 1000},
	}
	for _, c := range cases {
		got := alignTime(time.UnixMilli(c.t), c.step, c.offset).UnixMilli()
		if got != c.want {
			t.Errorf("align(%d, %v, %d) = %d, want %d", c.t, c.step, c.offset, got, c.want)
		}
	}
	for _, ms := range []int64{t0, t0 + 1, t0 + 7123, t0 + 999, 1} {
		if got := promTime(time.UnixMilli(ms)); got != ms {
			t.Errorf("promTime(%d) = %d", ms, got)
		}
	}
}

func TestInterpolate(t *testing.T) {
	got := interpolate("rate(x[$__rate_interval]) + $__interval_ms + ${__range_s} + $__range + ${__interval}",
		15*time.Second, 15*time.Second, "15s", "", 2*time.Hour)
	want := "rate(x[1m0s]) + 15000 + 7200 + 7200s + 15s"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseTimeRange(t *testing.T) {
	now := time.Date(2025, 1, 2, 13, 45, 30, 0, time.UTC)
	cases := []struct {
		in      string
		roundUp bool
		want    time.Time
	}{
		{"1735689600000", false, time.UnixMilli(t0)},
		{"now", true, now},
		{"now-6h", false, now.Add(-6 * time.Hour)},
		{"6h", false, now.Add(-6 * time.Hour)},
		{"now-1d/d", false, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"now/d", true, time.Date(2025, 1, 2, 23, 59, 59, 999e6, time.UTC)},
		{"2025-01-01T00:00:00Z", false, time.UnixMilli(t0)},
		{"garbage", false, time.Unix(0, 0)}, // Grafana's silent 1970
	}
	for _, c := range cases {
		if got := parseTimeRange(c.in, now, c.roundUp); !got.Equal(c.want) {
			t.Errorf("%q: got %v, want %v", c.in, got, c.want)
		}
	}
}
