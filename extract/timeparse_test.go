package extract

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2025, 8, 3, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in      string
		want    time.Time
		errPart string
	}{
		{"2025-08-03T02:00:00Z", time.Date(2025, 8, 3, 2, 0, 0, 0, time.UTC), ""},
		{"2025-08-03T04:00:00+02:00", time.Date(2025, 8, 3, 2, 0, 0, 0, time.UTC), ""},
		{"1754186400", time.Date(2025, 8, 3, 2, 0, 0, 0, time.UTC), ""},
		{"1754186400.5", time.Date(2025, 8, 3, 2, 0, 0, 500e6, time.UTC), ""},
		{"now", now, ""},
		{"now-6h", now.Add(-6 * time.Hour), ""},
		{"now-1d", now.Add(-24 * time.Hour), ""},
		{"now+90s", now.Add(90 * time.Second), ""},
		{"now-6x", time.Time{}, "now-6x"},
		{"now*2", time.Time{}, "after 'now'"},
		{"yesterday", time.Time{}, "RFC 3339"},
		{"2025-08-03 02:00", time.Time{}, "RFC 3339"},
	}
	for _, tc := range cases {
		got, err := ParseTime(tc.in, now)
		if tc.errPart != "" {
			var ve *ValueError
			if err == nil || !strings.Contains(err.Error(), tc.errPart) || !errors.As(err, &ve) || ve.Value != strings.TrimSpace(tc.in) {
				t.Errorf("ParseTime(%q) error = %v, want a ValueError containing %q", tc.in, err, tc.errPart)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
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
