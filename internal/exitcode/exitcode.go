// Package exitcode is the exit status of a run of a cobra program, for the
// scripts that run it: which failures a rerun may get past, which need
// another command, and which got part of the way (docs/reference.md, "the
// exit status"). The libraries classify their errors (extract.UsageError,
// a partial outcome); this package numbers them.
package exitcode

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/promrecover/promrecover/extract"
)

const (
	OK      = 0 // everything asked for was done
	Failed  = 1 // nothing usable came of it
	Usage   = 2 // what was asked cannot be done as asked; nothing was done
	Partial = 3 // part of it was done; the same command does the rest
)

// Error is a failure with its exit status; Err, if any, is what Msg says.
type Error struct {
	Code int
	Msg  string
	Err  error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// Of is the exit status of a run that ended with err: an Error's Code, Usage
// for an extract.UsageError, Failed for any other error.
func Of(err error) int {
	var ex *Error
	switch {
	case err == nil:
		return OK
	case errors.As(err, &ex):
		return ex.Code
	case extract.IsUsage(err):
		return Usage
	}
	return Failed
}

// Partly is the exit status of a run that did not get everything, which
// got some of it when some is set.
func Partly(some bool) int {
	if some {
		return Partial
	}
	return Failed
}

// Coded is err, which a command's RunE returned, as an Error with its exit
// status, so that Execute tells it from cobra's own errors.
func Coded(err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: Of(err), Msg: err.Error(), Err: err}
}

// Execute runs root, prints the error it ends with, and returns the exit
// status: that of the command's run (its RunE returns a Coded error), or
// Usage for an error of cobra's (a flag, an argument, an unknown command, a
// PersistentPreRunE), which comes before anything runs.
func Execute(ctx context.Context, root *cobra.Command, stderr io.Writer) int {
	err := root.ExecuteContext(ctx)
	if err == nil {
		return OK
	}
	fmt.Fprintf(stderr, "%s: %v\n", root.Name(), err)
	if ex := (*Error)(nil); errors.As(err, &ex) {
		return ex.Code
	}
	return Usage
}
