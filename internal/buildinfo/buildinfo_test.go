package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestLine(t *testing.T) {
	vcs := &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20260102030405-0123456789ab"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}}}
	devel := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}
	goLine := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	cases := []struct {
		name          string
		stamp         Stamp
		bi            *debug.BuildInfo
		version, line string
	}{
		{"ldflags win", Stamp{"v1.2.3", "fedcba", "2026-02-03T00:00:00Z"}, vcs,
			"v1.2.3", "v1.2.3 (commit fedcba, built 2026-02-03T00:00:00Z, " + goLine + ")"},
		{"the toolchain's record", Stamp{}, vcs,
			"v0.0.0-20260102030405-0123456789ab", "v0.0.0-20260102030405-0123456789ab (commit 0123456789abcdef, committed 2026-01-02T03:04:05Z, " + goLine + ")"},
		{"a version stamped, the rest recorded", Stamp{Version: "v1.2.3"}, vcs,
			"v1.2.3", "v1.2.3 (commit 0123456789abcdef, committed 2026-01-02T03:04:05Z, " + goLine + ")"},
		{"a devel build outside git", Stamp{}, devel,
			"dev", "dev (commit unknown, built unknown, " + goLine + ")"},
		{"no build info", Stamp{}, nil,
			"dev", "dev (commit unknown, built unknown, " + goLine + ")"},
	}
	for _, tc := range cases {
		if got := version(tc.stamp, tc.bi, tc.bi != nil); got != tc.version {
			t.Errorf("%s: version %q, want %q", tc.name, got, tc.version)
		}
		if got := line(tc.stamp, tc.bi, tc.bi != nil); got != tc.line {
			t.Errorf("%s: line %q, want %q", tc.name, got, tc.line)
		}
	}
}
