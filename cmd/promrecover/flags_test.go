package main

import (
	"strings"
	"testing"
)

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
		{"step too fine", []string{"export", "--grafana-url", "http://127.0.0.1:1", "--datasource", "x", "--out", "-", "--from", "now-6h", "--step", "500ms"}, "too fine"},
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
