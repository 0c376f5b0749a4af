package promapi

import "testing"

func TestClosedRanges(t *testing.T) {
	for _, tc := range []struct {
		version string
		closed  bool
	}{
		{"2.42.0+ds", true},  // Debian's
		{"2.53.4", true},     // the last 2.x
		{"1.8.2", true},      // closed from the start
		{"3.5.0", false},     // left-open since 3.0
		{"0.315.0", false},   // 3.15 built from its Go module
		{"", false},          // unknown: taken for a current one
		{"v2.1.0-vm", false}, // not a Prometheus's
	} {
		if got := closedRanges(tc.version); got != tc.closed {
			t.Errorf("closedRanges(%q) = %v, want %v", tc.version, got, tc.closed)
		}
	}
}
