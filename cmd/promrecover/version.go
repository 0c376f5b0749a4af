package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set at build time, as the Dockerfile does:
//
//	go build -ldflags "-X main.version=v1.2.0 -X main.commit=$(git rev-parse HEAD) -X main.date=$(date -u +%FT%TZ)"
//
// Left empty, they come from what the Go toolchain records in the binary.
var version, commit, date string

// build says which promrecover this is. Without -ldflags it falls back to
// what the toolchain embeds: the module version for `go install ...@v1.2.0`,
// a pseudo-version plus vcs.revision and vcs.time for a build in a git
// checkout, so a bug report names the code even from a plain `go build`.
func build() (ver, rev, at string) {
	ver, rev, at = version, commit, date
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ver, rev, at
	}
	if ver == "" && bi.Main.Version != "(devel)" {
		ver = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision" && rev == "":
			rev = s.Value
		case s.Key == "vcs.time" && at == "":
			at = s.Value
		}
	}
	return ver, rev, at
}

// versionString is the version alone, as sent in the User-Agent.
func versionString() string {
	if ver, _, _ := build(); ver != "" {
		return ver
	}
	return "dev"
}

// versionLine is what --version and the version command print.
func versionLine() string {
	_, rev, at := build()
	orUnknown := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	return fmt.Sprintf("%s (commit %s, built %s, %s %s/%s)", versionString(), orUnknown(rev), orUnknown(at), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// addVersion gives root --version and a version command, which users of
// docker, kubectl and helm type out of habit; both print the same line.
func addVersion(root *cobra.Command) {
	root.Version = versionLine()
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Example: `  promrecover version
  promrecover --version`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "promrecover version "+versionLine())
			return err
		},
	})
}
