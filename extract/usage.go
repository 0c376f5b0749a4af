package extract

import (
	"errors"
	"fmt"
)

// UsageError marks an error in what was asked, found before anything was
// done: a value that cannot be, an input that does not parse, a name that
// names nothing. The same request fails the same way until it is changed,
// which tells it from a failure while running (a server refusing, a disk
// full) that the same request may get past later; a program reports the
// two apart (promrecover exits 2 and 1).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef is fmt.Errorf for a UsageError.
func Usagef(format string, args ...any) error { return &UsageError{fmt.Errorf(format, args...)} }

// Usage marks err as a UsageError; nil stays nil.
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return &UsageError{err}
}

// IsUsage says whether err is or wraps a UsageError.
func IsUsage(err error) bool {
	var ue *UsageError
	return errors.As(err, &ue)
}
