package main

import (
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
		got, err := parseTime(tc.in, now)
		if tc.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Errorf("parseTime(%q) error = %v, want one containing %q", tc.in, err, tc.errPart)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestBadInputFailsClearly(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		errPart string
	}{
		{"from after to", []string{"recover", "--grafana-url", "http://127.0.0.1:1", "--datasource", "x", "--out", t.TempDir(), "--from", "now-1h", "--to", "now-2h"}, "must be before"},
		{"no from", []string{"recover", "--grafana-url", "http://127.0.0.1:1", "--datasource", "x", "--out", t.TempDir()}, "--from is required"},
		{"no out", []string{"recover", "--grafana-url", "http://127.0.0.1:1", "--datasource", "x", "--from", "now-6h"}, "--out is required"},
		{"not a selector", []string{"recover", "--grafana-url", "http://127.0.0.1:1", "--datasource", "x", "--out", t.TempDir(), "--from", "now-6h", "--match", "rate(up[5m])"}, "is not a series selector"},
		{"glc token", []string{"datasources", "--grafana-url", "http://127.0.0.1:1", "--token", "glc_abc"}, "access-policy token"},
		{"credentials in url", []string{"datasources", "--grafana-url", "http://u:p@127.0.0.1:1"}, "holds credentials"},
		{"step too fine", []string{"export", "--grafana-url", "http://127.0.0.1:1", "--datasource", "x", "--output", "-", "--from", "now-6h", "--step", "500ms"}, "too fine"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCLI(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Fatalf("error = %v, want one containing %q", err, tc.errPart)
			}
			if strings.Contains(err.Error(), "p@") {
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
}
