package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/promrecover/promrecover/internal/exitcode"
	"github.com/promrecover/promrecover/report"
)

// words names, in the texts of package report, the flags the user set.
var words = report.Wording{Error: userText, Reason: userReason, Rules: rulesAsFlags, OnlyGaps: "--only-gaps", Match: "--match", Step: "--step",
	To: "--to", Retention: "--retention", ScrapeInterval: "--scrape-interval", Out: "--out", Wait: "--wait"}

// summaryJSON writes --summary-json: the end-of-run summary for scripts.
type summaryJSON struct {
	command string
	path    string // "" when --summary-json is not given
	sum     report.Summary
}

func (r *summaryJSON) register(fs *pflag.FlagSet) {
	fs.StringVar(&r.path, "summary-json", "", "also write the end-of-run summary as JSON to this file, whatever the outcome (for scripts; its schema is in docs/reference.md)")
}

// check fails at once on a --summary-json whose directory is missing, rather
// than after hours of fetching.
func (r *summaryJSON) check() error {
	if r.path == "" || r.path == "-" {
		return nil
	}
	dir := filepath.Dir(r.path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return usagef("--summary-json %s: the directory %s does not exist", r.path, dir)
	}
	return nil
}

// write writes the report of a run that ended with runErr, and returns
// runErr, or the failure to write when the run itself went well. It writes
// whatever the outcome: a script learns most from the report of a failed run. Mode 0600: a server's text in it may hold what others must not read.
func (r *summaryJSON) write(ctx context.Context, stdout io.Writer, runErr error) error {
	if r.path == "" {
		return runErr
	}
	end := report.End{Err: runErr, Interrupted: ctx.Err() != nil, ExitCode: exitcode.Of(runErr)}
	b, err := json.MarshalIndent(r.sum.Document(r.command, end, words), "", "  ")
	if err == nil {
		err = writeOutput(r.path, 0o600, stdout, func(w io.Writer) error {
			_, err := secrets.Writer(w).Write(append(b, '\n'))
			return err
		})
	}
	switch {
	case err == nil:
		return runErr
	case runErr == nil:
		return fmt.Errorf("--summary-json: %w", err)
	}
	return fmt.Errorf("%w (and --summary-json was not written: %v)", runErr, err)
}
