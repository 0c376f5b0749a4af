package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/promrecover/promrecover/internal/buildinfo"
)

// Set at build time, as the Dockerfile does:
//
//	go build -ldflags "-X main.version=v1.2.0 -X main.commit=$(git rev-parse HEAD) -X main.date=$(date -u +%FT%TZ)"
//
// Left empty, they come from what the Go toolchain records in the binary
// (buildinfo).
var version, commit, date string

// stamp is what -ldflags set, for buildinfo to complete.
func stamp() buildinfo.Stamp { return buildinfo.Stamp{Version: version, Commit: commit, Date: date} }

// versionString is the version alone, as sent in the User-Agent.
func versionString() string { return buildinfo.Version(stamp()) }

// versionLine is what --version and the version command print.
func versionLine() string { return buildinfo.Line(stamp()) }

// addVersion gives root --version and a version command, which users of
// docker, kubectl and helm type out of habit; both print the same line.
func addVersion(root *cobra.Command) {
	root.Version = versionLine()
	root.AddCommand(&cobra.Command{
		Use:     "version",
		Short:   "Print the version, commit and build date",
		Example: example("version"),
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "promrecover version "+versionLine())
			return err
		},
	})
}
