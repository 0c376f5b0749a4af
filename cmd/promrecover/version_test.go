package main

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// TestVersion checks what --version and the version command print, with the
// values the Dockerfile passes through -ldflags and, without them, with what
// the toolchain recorded in the binary (go version -m shows it).
func TestVersion(t *testing.T) {
	goLine := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	t.Run("ldflags", func(t *testing.T) {
		bin := buildBinary(t, "-ldflags", "-X main.version=v1.2.3 -X main.commit=0123456789abcdef -X main.date=2026-01-02T03:04:05Z")
		checkVersion(t, bin, "promrecover version v1.2.3 (commit 0123456789abcdef, built 2026-01-02T03:04:05Z, "+goLine+")")
	})
	t.Run("build info", func(t *testing.T) {
		// auto: stamped in a git checkout, not in a source tree without one.
		bin := buildBinary(t, "-buildvcs=auto")
		b, err := exec.Command("go", "version", "-m", bin).Output()
		if err != nil {
			t.Fatal(err)
		}
		ver, rev, when := "dev", "unknown", "built unknown"
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) >= 3 && f[0] == "mod" && f[2] != "(devel)":
				ver = f[2]
			case len(f) == 2 && f[0] == "build":
				if v, ok := strings.CutPrefix(f[1], "vcs.revision="); ok {
					rev = v
				}
				if v, ok := strings.CutPrefix(f[1], "vcs.time="); ok {
					when = "committed " + v
				}
			}
		}
		t.Logf("go version -m: version %s, revision %s, %s", ver, rev, when)
		checkVersion(t, bin, "promrecover version "+ver+" (commit "+rev+", "+when+", "+goLine+")")
	})
}

func checkVersion(t *testing.T, bin, want string) {
	t.Helper()
	for _, arg := range []string{"--version", "version"} {
		b, err := exec.Command(bin, arg).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", arg, err, b)
		}
		if got := strings.TrimSpace(string(b)); got != want {
			t.Errorf("%s printed\n%s\nwant\n%s", arg, got, want)
		}
	}
}
