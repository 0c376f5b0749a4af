package extract

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// ValueError is a time or a duration that could not be read; its text says
// how to write one. The caller names where the value came from.
type ValueError struct {
	Value string
	err   error
}

func (e *ValueError) Error() string { return e.err.Error() }
func (e *ValueError) Unwrap() error { return e.err }

// TimeRead says how ParseTime read a value that it did not take as written,
// so that the caller can say so: a user who pasted milliseconds or a
// Grafana URL should see which time that made.
type TimeRead struct {
	Param  string // "from" or "to" when the time came from a pasted Grafana URL or its query
	Value  string // the value read: the URL parameter's, or the one given
	Millis bool   // a 13-digit unix time, read as milliseconds as Grafana's URLs carry them
}

// The times ParseTime accepts: a time outside them is a unit mistaken
// (milliseconds read as seconds make a year past 50,000) or a typo, and
// recovering it would query thousands of empty windows.
var (
	earliestTime = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	latestTime   = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// ParseTime reads RFC 3339, unix seconds (with a fraction), unix
// milliseconds (13 digits before any fraction), or now[-+]duration with
// Prometheus's duration units (ms, s, m, h, d, w, y); and those as the
// param ("from" or "to") of a pasted Grafana URL, or of its query string
// or a part of it (from=now-6h&to=now). Times before 1990 or after 2200
// are refused.
func ParseTime(v, param string, now time.Time) (time.Time, TimeRead, error) {
	v = strings.TrimSpace(v)
	read := TimeRead{Value: v}
	if strings.Contains(v, "=") {
		var err error
		if read.Value, err = grafanaParam(v, param); err != nil {
			return time.Time{}, TimeRead{}, &ValueError{v, err}
		}
		read.Param = param
	}
	t, form, err := parseTime(read.Value, now)
	if err != nil {
		return time.Time{}, TimeRead{}, &ValueError{v, err}
	}
	read.Millis = form == "unix milliseconds"
	if bound := outside(t); bound != "" {
		return time.Time{}, TimeRead{}, &ValueError{v, ParamErrorf("%q read as %s is %s; give a unix time in seconds or milliseconds, RFC 3339, or now-6h", read.Value, form, bound)}
	}
	return t, read, nil
}

// grafanaParam is the param of a Grafana URL, of its query string, or of a
// part of it, as the user copied it from the address bar.
func grafanaParam(v, param string) (string, error) {
	query := v
	if _, after, ok := strings.Cut(v, "?"); ok {
		query = after
	}
	q, err := url.ParseQuery(strings.TrimLeft(query, "&"))
	if err != nil {
		return "", fmt.Errorf("%q: %v; paste a Grafana URL, its query (from=now-6h&to=now), or give the time alone", v, err)
	}
	if !q.Has(param) {
		return "", fmt.Errorf("%q holds no %s=; paste the Grafana URL whose query holds it, or give the time alone", v, param)
	}
	return q.Get(param), nil
}

// parseTime reads v and names the form it read it as.
func parseTime(v string, now time.Time) (time.Time, string, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, "RFC 3339", nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		return unixTime(v, f)
	}
	if rest, ok := strings.CutPrefix(v, "now"); ok {
		if rest == "" {
			return now, "now", nil
		}
		sign, form := time.Duration(1), "now plus a duration"
		switch rest[0] {
		case '-':
			sign, form = -1, "now minus a duration"
		case '+':
		default:
			return time.Time{}, "", fmt.Errorf("%q: after 'now' comes -DURATION or +DURATION, e.g. now-6h", v)
		}
		d, err := model.ParseDuration(rest[1:])
		if err != nil {
			return time.Time{}, "", fmt.Errorf("%q: %v; write now-DURATION with Prometheus units (ms, s, m, h, d, w, y), e.g. now-6h or now-90m", v, err)
		}
		return now.Add(sign * time.Duration(d)), form, nil
	}
	return time.Time{}, "", fmt.Errorf("cannot read %q as a time: use RFC 3339 (2025-08-03T02:00:00Z), unix seconds (1754186400) or now-6h", v)
}

// unixTime is f, which v spells, as unix seconds, or milliseconds when v
// has 13 digits before any fraction: seconds of 13 digits are past the
// year 30,000, and every millisecond time since 2001 has 13 digits.
func unixTime(v string, f float64) (time.Time, string, error) {
	whole, _, _ := strings.Cut(strings.TrimLeft(v, "+-"), ".")
	form := "unix seconds"
	if len(whole) == 13 && strings.Trim(whole, "0123456789") == "" {
		f, form = f/1e3, "unix milliseconds"
	}
	// Checked before time.Unix, which a float this far off would overflow.
	switch {
	case f < float64(earliestTime.Unix()):
		return earliestTime.Add(-time.Second), form, nil
	case f >= float64(latestTime.Unix()):
		return latestTime, form, nil
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).Round(time.Millisecond), form, nil
}

// outside names the bound t passes, or is "" when t is within them.
func outside(t time.Time) string {
	switch {
	case t.Before(earliestTime):
		return "before 1990-01-01"
	case !t.Before(latestTime):
		return "after 2200-01-01"
	}
	return ""
}

// ParseRetention reads a retention as Prometheus reads
// --storage.tsdb.retention.time; empty means no retention to warn about.
func ParseRetention(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := model.ParseDuration(v)
	if err != nil {
		return 0, &ValueError{v, err}
	}
	return time.Duration(d), nil
}
