package sim

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Step math as promlib does it (models/query.go, intervalv2, and the SDK's
// gtime). Every rounding and fallback is kept, because the tool plans its
// chunks on the step Grafana will really use.

// safeResolution is promlib's cap on points per series.
const safeResolution = 11000

// stepInput is what a query contributes to the step.
type stepInput struct {
	interval       string        // the query's "interval" (min step) string
	intervalMs     int64         // the query's "intervalMs", truncated
	dsInterval     string        // the datasource's timeInterval
	maxDataPoints  int64         // 100 when the request leaves it out
	intervalFactor int64         // deprecated multiplier, 0 means 1
	from, to       time.Time     // the request's range, not yet aligned
	queryInterval  time.Duration // backend.DataQuery.Interval (intervalMs, default 1s)
}

// calculateStep is promlib's calculatePrometheusInterval.
func calculateStep(in stepInput) (time.Duration, error) {
	queryInterval := in.interval
	if isVariableInterval(queryInterval) {
		queryInterval = ""
	}
	minInterval, err := intervalFrom(in.dsInterval, queryInterval, in.intervalMs, 15*time.Second)
	if err != nil {
		return 0, err
	}
	span := in.to.UnixNano() - in.from.UnixNano()
	calculated := calculateInterval(span, minInterval, in.maxDataPoints)
	safe := roundInterval(time.Duration(span / safeResolution))
	adjusted := safe
	if calculated > safe {
		adjusted = calculated
	}
	if in.interval == "$__rate_interval" || in.interval == "${__rate_interval}" {
		return rateInterval(adjusted, in.dsInterval), nil
	}
	factor := in.intervalFactor
	if factor == 0 {
		factor = 1
	}
	return time.Duration(int64(adjusted) * factor), nil
}

// calculateInterval is intervalv2's Calculate: below the minimum the minimum
// is used exactly, otherwise the raw interval is rounded to a "nice" one,
// which may land below the minimum.
func calculateInterval(span int64, minInterval time.Duration, maxDataPoints int64) time.Duration {
	resolution := maxDataPoints
	if resolution == 0 {
		resolution = 1500 // intervalv2.DefaultRes, reached only by an explicit 0
	}
	calculated := time.Duration(span / resolution)
	if calculated < minInterval {
		return minInterval
	}
	return roundInterval(calculated)
}

// intervalFrom is gtime.GetIntervalFrom.
func intervalFrom(dsInterval, queryInterval string, queryIntervalMs int64, def time.Duration) (time.Duration, error) {
	interval := queryInterval
	if interval == "0s" {
		interval = ""
	}
	if interval == "" && queryIntervalMs != 0 {
		return time.Duration(queryIntervalMs) * time.Millisecond, nil
	}
	if interval == "" && dsInterval != "" {
		interval = dsInterval
	}
	if interval == "" {
		return def, nil
	}
	return parseIntervalString(interval)
}

// parseIntervalString is gtime.ParseIntervalStringToTimeDuration: "<10m>"
// brackets are dropped and a bare number means seconds.
func parseIntervalString(interval string) (time.Duration, error) {
	if interval == "" {
		return 0, errors.New("invalid interval")
	}
	interval = strings.TrimPrefix(interval, "<")
	interval = strings.TrimSuffix(interval, ">")
	pure := true
	for _, c := range interval {
		if c < '0' || c > '9' {
			pure = false
			break
		}
	}
	if pure {
		n, err := strconv.ParseInt(interval, 10, 64)
		if err != nil {
			return 0, err
		}
		return time.Duration(n) * time.Second, nil
	}
	return parseGrafanaDuration(interval)
}

var dateUnitPattern = regexp.MustCompile(`^(\d+)([dwMy])$`)

// parseGrafanaDuration is gtime.ParseDuration: Go durations plus d, w, M, y
// as fixed lengths (a month is a twelfth of a Julian year).
func parseGrafanaDuration(inp string) (time.Duration, error) {
	if inp == "" {
		return 0, errors.New("empty input")
	}
	last := inp[len(inp)-1]
	if last != 'd' && last != 'w' && last != 'M' && last != 'y' {
		return time.ParseDuration(inp)
	}
	m := dateUnitPattern.FindStringSubmatch(inp)
	if m == nil {
		return time.ParseDuration(inp)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, err
	}
	const day = 24 * time.Hour
	const year = time.Duration(float64(day) * 365.25)
	dur := time.Duration(n)
	switch m[2] {
	case "d":
		return dur * day, nil
	case "w":
		return dur * 7 * day, nil
	case "M":
		return dur * time.Duration(float64(year)/12), nil
	}
	return dur * year, nil
}

// roundInterval is gtime.RoundInterval: it picks a lower, rounder interval.
func roundInterval(d time.Duration) time.Duration {
	ms := time.Millisecond
	steps := []struct{ upTo, to time.Duration }{
		{10 * ms, 1 * ms},
		{15 * ms, 10 * ms},
		{35 * ms, 20 * ms},
		{75 * ms, 50 * ms},
		{150 * ms, 100 * ms},
		{350 * ms, 200 * ms},
		{750 * ms, 500 * ms},
		{1500 * ms, 1000 * ms},
		{3500 * ms, 2000 * ms},
		{7500 * ms, 5000 * ms},
		{12500 * ms, 10000 * ms},
		{17500 * ms, 15000 * ms},
		{25000 * ms, 20000 * ms},
		{45000 * ms, 30000 * ms},
		{90000 * ms, 60000 * ms},
		{210000 * ms, 120000 * ms},
		{450000 * ms, 300000 * ms},
		{750000 * ms, 600000 * ms},
		{1050000 * ms, 900000 * ms},
		{1500000 * ms, 1200000 * ms},
		{2700000 * ms, 1800000 * ms},
		{5400000 * ms, 3600000 * ms},
		{9000000 * ms, 7200000 * ms},
		{16200000 * ms, 10800000 * ms},
		{32400000 * ms, 21600000 * ms},
		{86400000 * ms, 43200000 * ms},
		{172800000 * ms, 86400000 * ms},
		{604800000 * ms, 86400000 * ms},
		{1814400000 * ms, 604800000 * ms},
	}
	for _, s := range steps {
		if d <= s.upTo {
			return s.to
		}
	}
	if d < 63072000000*ms {
		return 2592000000 * ms
	}
	return 31536000000 * ms
}

// formatInterval is gtime.FormatInterval, used for $__interval.
func formatInterval(d time.Duration) string {
	const day = 24 * time.Hour
	const year = 365 * day
	switch {
	case d >= year:
		return fmt.Sprintf("%dy", d/year)
	case d >= day:
		return fmt.Sprintf("%dd", d/day)
	case d >= time.Hour:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d >= time.Second:
		return fmt.Sprintf("%ds", d/time.Second)
	case d >= time.Millisecond:
		return fmt.Sprintf("%dms", d/time.Millisecond)
	}
	return "1ms"
}

// alignTime is promlib's AlignTimeRange, float arithmetic included: it floors
// t to a multiple of step (shifted by the UTC offset).
func alignTime(t time.Time, step time.Duration, offsetSec int64) time.Time {
	offsetNano := float64(offsetSec * 1e9)
	stepNano := float64(step.Nanoseconds())
	return time.Unix(0, int64(math.Floor((float64(t.UnixNano())+offsetNano)/stepNano)*stepNano-offsetNano)).UTC()
}

// promTime is the millisecond timestamp Prometheus reads from promlib's
// formatTime: seconds as a float, rounded to the millisecond by parseTime.
func promTime(t time.Time) int64 {
	f := float64(t.Unix()) + float64(t.Nanosecond())/1e9
	s, err := strconv.ParseFloat(strconv.FormatFloat(f, 'f', -1, 64), 64)
	if err != nil {
		return t.UnixMilli()
	}
	sec, frac := math.Modf(s)
	frac = math.Round(frac*1000) / 1000
	return time.Unix(int64(sec), int64(frac*float64(time.Second))).UnixMilli()
}

// promStep is the step Prometheus reads back from promlib's seconds float.
func promStep(step time.Duration) time.Duration {
	s, _ := strconv.ParseFloat(strconv.FormatFloat(step.Seconds(), 'f', -1, 64), 64)
	return time.Duration(s * float64(time.Second))
}

func isVariableInterval(s string) bool {
	switch s {
	case "$__interval", "$__interval_ms", "$__rate_interval", "$__rate_interval_ms",
		"${__interval}", "${__interval_ms}", "${__rate_interval}", "${__rate_interval_ms}":
		return true
	}
	return false
}

// rateInterval is promlib's calculateRateInterval.
func rateInterval(queryInterval time.Duration, minStep string) time.Duration {
	if minStep == "" {
		minStep = "15s"
	}
	scrape, err := parseIntervalString(minStep)
	if err != nil {
		return 0
	}
	return time.Duration(int64(math.Max(float64(queryInterval+scrape), 4*float64(scrape))))
}

// interpolate is promlib's interpolateVariables.
func interpolate(expr string, queryInterval, step time.Duration, minStep, dsInterval string, span time.Duration) string {
	rangeMs := span.Milliseconds()
	rangeS := int64(math.Round(float64(rangeMs) / 1000.0))
	var rate time.Duration
	if minStep == "$__rate_interval" || minStep == "${__rate_interval}" {
		rate = step
	} else {
		if minStep == "$__interval" || minStep == "${__interval}" {
			minStep = step.String()
		}
		if minStep == "" {
			minStep = dsInterval
		}
		rate = rateInterval(queryInterval, minStep)
	}
	stepMs := strconv.FormatInt(int64(step/time.Millisecond), 10)
	rateMs := strconv.FormatInt(int64(rate/time.Millisecond), 10)
	for _, form := range []string{"$%s", "${%s}"} {
		v := func(name string) string { return fmt.Sprintf(form, name) }
		expr = strings.ReplaceAll(expr, v("__interval_ms"), stepMs)
		expr = strings.ReplaceAll(expr, v("__interval"), formatInterval(step))
		expr = strings.ReplaceAll(expr, v("__range_ms"), strconv.FormatInt(rangeMs, 10))
		expr = strings.ReplaceAll(expr, v("__range_s"), strconv.FormatInt(rangeS, 10))
		expr = strings.ReplaceAll(expr, v("__range"), strconv.FormatInt(rangeS, 10)+"s")
		expr = strings.ReplaceAll(expr, v("__rate_interval_ms"), rateMs)
		expr = strings.ReplaceAll(expr, v("__rate_interval"), rate.String())
	}
	return expr
}
