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
// when is "built DATE", or "committed DATE" when only the commit's time is
// known.
func build() (ver, rev, when string) {
	ver, rev = version, commit
	if date != "" {
		when = "built " + date
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ver, rev, when
	}
	if ver == "" && bi.Main.Version != "(devel)" {
		ver = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision" && rev == "":
			rev = s.Value
		case s.Key == "vcs.time" && when == "":
			when = "committed " + s.Value
		}
	}
	return ver, rev, when
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
	_, rev, when := build()
	if rev == "" {
		rev = "unknown"
	}
	if when == "" {
		when = "built unknown"
	}
	return fmt.Sprintf("%s (commit %s, %s, %s %s/%s)", versionString(), rev, when, runtime.Version(), runtime.GOOS, runtime.GOARCH)
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
