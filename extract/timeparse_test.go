package extract

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2025, 8, 3, 12, 0, 0, 0, time.UTC)
	at := time.Date(2025, 8, 3, 2, 0, 0, 0, time.UTC)
	const fix = "give a unix time in seconds or milliseconds, RFC 3339, or now-6h"
	cases := []struct {
		in, param string
		want      time.Time
		read      TimeRead // Value is in when left empty
		errPart   string
	}{
		{in: "2025-08-03T02:00:00Z", want: at},
		{in: "2025-08-03T04:00:00+02:00", want: at},
		{in: " 1754186400 ", want: at, read: TimeRead{Value: "1754186400"}},
		{in: "1754186400.5", want: at.Add(500 * time.Millisecond)},
		{in: "now", want: now},
		{in: "now-6h", want: now.Add(-6 * time.Hour)},
		{in: "now-1d", want: now.Add(-24 * time.Hour)},
		{in: "now+90s", want: now.Add(90 * time.Second)},
		// Milliseconds, as Grafana's URLs carry them: 13 digits.
		{in: "1754186400000", want: at, read: TimeRead{Millis: true}},
		{in: "1754186400123.6", want: at.Add(124 * time.Millisecond), read: TimeRead{Millis: true}},
		{in: "1000000000000", want: time.Date(2001, 9, 9, 1, 46, 40, 0, time.UTC), read: TimeRead{Millis: true}},
		// A pasted Grafana URL, its query, or a part of it.
		{in: "https://example.grafana.net/d/abc/node?orgId=1&from=1754186400000&to=1754193600000", param: "from",
			want: at, read: TimeRead{Param: "from", Value: "1754186400000", Millis: true}},
		{in: "https://example.grafana.net/d/abc/node?orgId=1&from=1754186400000&to=1754193600000", param: "to",
			want: at.Add(2 * time.Hour), read: TimeRead{Param: "to", Value: "1754193600000", Millis: true}},
		{in: "from=now-6h&to=now", param: "from", want: now.Add(-6 * time.Hour), read: TimeRead{Param: "from", Value: "now-6h"}},
		{in: "&from=now-6h&to=now", param: "to", want: now, read: TimeRead{Param: "to", Value: "now"}},
		{in: "to=2025-08-03T02:00:00.000Z", param: "to", want: at, read: TimeRead{Param: "to", Value: "2025-08-03T02:00:00.000Z"}},
		{in: "from=1754186400", param: "from", want: at, read: TimeRead{Param: "from", Value: "1754186400"}},
		{in: "from=now-6h", param: "to", errPart: `"from=now-6h" holds no to=`},
		{in: "from=%zz", param: "from", errPart: "paste a Grafana URL"},
		{in: "from=yesterday", param: "from", errPart: `cannot read "yesterday"`},
		// Far off: a unit mistaken or a typo.
		{in: "9999999999", errPart: `"9999999999" read as unix seconds is after 2200-01-01; ` + fix},
		{in: "1754186400000000", errPart: `"1754186400000000" read as unix seconds is after 2200-01-01`},
		{in: "17541864000000000000000", errPart: "after 2200-01-01"},
		{in: "9999999999999", errPart: `"9999999999999" read as unix milliseconds is after 2200-01-01`},
		{in: "0", errPart: `"0" read as unix seconds is before 1990-01-01`},
		{in: "-1754186400", errPart: "before 1990-01-01"},
		{in: "NaN", errPart: `cannot read "NaN" as a time`},
		{in: "-Inf", errPart: `cannot read "-Inf" as a time`},
		{in: "1989-12-31T23:59:59Z", errPart: `"1989-12-31T23:59:59Z" read as RFC 3339 is before 1990-01-01`},
		{in: "2200-01-01T00:00:00Z", errPart: "after 2200-01-01"},
		{in: "now-40y", errPart: `"now-40y" read as now minus a duration is before 1990-01-01`},
		{in: "now+200y", errPart: `"now+200y" read as now plus a duration is after 2200-01-01`},
		{in: "to=99999999999", param: "to", errPart: `"99999999999" read as unix seconds is after 2200-01-01`},
		// Unreadable.
		{in: "now-6x", errPart: "now-6x"},
		{in: "now*2", errPart: "after 'now'"},
		{in: "yesterday", errPart: "RFC 3339"},
		{in: "2025-08-03 02:00", errPart: "RFC 3339"},
	}
	for _, tc := range cases {
		param := tc.param
		if param == "" {
			param = "from"
		}
		got, read, err := ParseTime(tc.in, param, now)
		if tc.errPart != "" {
			var ve *ValueError
			if err == nil || !strings.Contains(err.Error(), tc.errPart) || !errors.As(err, &ve) || ve.Value != strings.TrimSpace(tc.in) {
				t.Errorf("ParseTime(%q) error = %v, want a ValueError containing %q", tc.in, err, tc.errPart)
			}
			// The refusals of far-off times, and only they, are the
			// caller's parameter to fix.
			var pe *ParamError
			if err != nil && strings.Contains(err.Error(), fix) != errors.As(err, &pe) {
				t.Errorf("ParseTime(%q) error = %v: a ParamError only for a time out of range", tc.in, err)
			}
			continue
		}
		if tc.read.Value == "" {
			tc.read.Value = tc.in
		}
		if err != nil || !got.Equal(tc.want) || read != tc.read {
			t.Errorf("ParseTime(%q, %q) = %v, %+v, %v; want %v, %+v", tc.in, param, got, read, err, tc.want, tc.read)
		}
	}
}

func TestParseRetention(t *testing.T) {
	cases := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"", 0, false},
		{"15d", 15 * 24 * time.Hour, false},
		{"200h", 200 * time.Hour, false},
		{"1y", 365 * 24 * time.Hour, false},
		{"15 days", 0, true},
		{"-1h", 0, true},
	}
	for _, tc := range cases {
		got, err := ParseRetention(tc.in)
		var ve *ValueError
		if (err != nil) != tc.wantErr || got != tc.want || (err != nil && !errors.As(err, &ve)) {
			t.Errorf("ParseRetention(%q) = %v, %v; want %v (error: %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}
