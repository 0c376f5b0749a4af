// Package buildinfo says which build a binary is, so that a bug report names
// the code even from a plain `go build`: the values -ldflags stamped in, or
// else what the Go toolchain records (the module version for `go install
// ...@v1.2.0`, a pseudo-version plus vcs.revision and vcs.time for a build
// in a git checkout).
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Stamp is what -ldflags set; each is empty when not given.
type Stamp struct{ Version, Commit, Date string }

// resolve fills what s leaves empty from bi, if ok. when is "built DATE",
// or "committed DATE" when only the commit's time is known.
func resolve(s Stamp, bi *debug.BuildInfo, ok bool) (ver, rev, when string) {
	ver, rev = s.Version, s.Commit
	if s.Date != "" {
		when = "built " + s.Date
	}
	if !ok {
		return ver, rev, when
	}
	if ver == "" && bi.Main.Version != "(devel)" {
		ver = bi.Main.Version
	}
	for _, st := range bi.Settings {
		switch {
		case st.Key == "vcs.revision" && rev == "":
			rev = st.Value
		case st.Key == "vcs.time" && when == "":
			when = "committed " + st.Value
		}
	}
	return ver, rev, when
}

// Version is the version alone, "dev" when unknown, as sent in a User-Agent.
func Version(s Stamp) string {
	bi, ok := debug.ReadBuildInfo()
	return version(s, bi, ok)
}

func version(s Stamp, bi *debug.BuildInfo, ok bool) string {
	if ver, _, _ := resolve(s, bi, ok); ver != "" {
		return ver
	}
	return "dev"
}

// Line is the version with the commit, the date and the Go toolchain and
// platform, as --version prints it.
func Line(s Stamp) string {
	bi, ok := debug.ReadBuildInfo()
	return line(s, bi, ok)
}

func line(s Stamp, bi *debug.BuildInfo, ok bool) string {
	_, rev, when := resolve(s, bi, ok)
	if rev == "" {
		rev = "unknown"
	}
	if when == "" {
		when = "built unknown"
	}
	return fmt.Sprintf("%s (commit %s, %s, %s %s/%s)", version(s, bi, ok), rev, when, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
