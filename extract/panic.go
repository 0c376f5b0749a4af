package extract

import (
	"fmt"
	"log/slog"
	"runtime/debug"
)

// PanicError is a panic caught in a run, as an error: a bug, which must
// not take the summary and the removal of the staging directory with it.
type PanicError struct {
	Value any
	Stack []byte // where it panicked, for -v
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("internal error, a bug in promrecover (please report it with the output of -v): panic: %v", e.Value)
}

// Catch runs fn, returning a panic in it as a *PanicError, logged with its
// stack at debug level (log may be nil: the error keeps the stack).
func Catch(log *slog.Logger, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = Caught(log, r)
		}
	}()
	return fn()
}

// Caught is Catch's error for r, what recover returned: for a deferred
// recover where a function cannot be wrapped.
func Caught(log *slog.Logger, r any) *PanicError {
	e := &PanicError{Value: r, Stack: debug.Stack()}
	if log != nil {
		log.Debug("panic", "value", fmt.Sprint(r), "stack", string(e.Stack))
	}
	return e
}
