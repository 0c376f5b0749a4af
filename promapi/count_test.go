package promapi

import "testing"

func TestClosedRanges(t *testing.T) {
	for _, tc := range []struct {
		application, version string
		closed, known        bool
	}{
		{"", "2.42.0+ds", true, true},            // Debian's
		{"", "2.53.4", true, true},               // the last 2.x
		{"", "1.8.2", true, true},                // closed from the start
		{"", "3.5.0", false, true},               // left-open since 3.0
		{"", "0.315.0", false, true},             // 3.15 built from its Go module
		{"Grafana Mimir", "2.14.0", false, true}, // Mimir's own version
		{"", "", false, false},                   // does not say
		{"", "v2.1.0-vm", false, false},          // not a Prometheus's
		{"Some TSDB", "2.1.0", false, false},     // another application's version
		{"", "0.42.0", false, false},             // a module version before 3.x
	} {
		closed, known := closedRanges(tc.application, tc.version)
		if closed != tc.closed || known != tc.known {
			t.Errorf("closedRanges(%q, %q) = %v, %v; want %v, %v", tc.application, tc.version, closed, known, tc.closed, tc.known)
		}
	}
}
