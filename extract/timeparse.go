package extract

import (
	"fmt"
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

// ParseTime reads RFC 3339, unix seconds (with a fraction) or
// now[-+]duration with Prometheus's duration units (ms, s, m, h, d, w, y).
func ParseTime(v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).Round(time.Millisecond), nil
	}
	if rest, ok := strings.CutPrefix(v, "now"); ok {
		if rest == "" {
			return now, nil
		}
		sign := time.Duration(1)
		switch rest[0] {
		case '-':
			sign = -1
		case '+':
		default:
			return time.Time{}, &ValueError{v, fmt.Errorf("%q: after 'now' comes -DURATION or +DURATION, e.g. now-6h", v)}
		}
		d, err := model.ParseDuration(rest[1:])
		if err != nil {
			return time.Time{}, &ValueError{v, fmt.Errorf("%q: %v; write now-DURATION with Prometheus units (ms, s, m, h, d, w, y), e.g. now-6h or now-90m", v, err)}
		}
		return now.Add(sign * time.Duration(d)), nil
	}
	return time.Time{}, &ValueError{v, fmt.Errorf("cannot read %q as a time: use RFC 3339 (2025-08-03T02:00:00Z), unix seconds (1754186400) or now-6h", v)}
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
