package extract

import "fmt"

// ParamError is an error whose fix concerns a parameter the caller set: the
// Grafana URL, the credentials, the step, the output directory. Its text
// names the parameter in this module's own terms, so that it reads right in
// any program built on the packages; a program that took the parameter from a
// flag says the same in its own words: it keeps a wording for each Format
// (the Format is the key) and formats it with the same Args.
//
// Like prometheus/tsdb and Thanos, the libraries leave flags to the command;
// unlike a prefix the command adds, these texts carry their fix, which names
// the parameter in the middle of a sentence, so the whole text is reworded.
type ParamError struct {
	Format string // fmt.Errorf's format; %w marks the errors it wraps
	Args   []any
	err    error
}

// ParamErrorf is fmt.Errorf for a ParamError.
func ParamErrorf(format string, args ...any) *ParamError {
	return &ParamError{Format: format, Args: args, err: fmt.Errorf(format, args...)}
}

func (e *ParamError) Error() string { return e.err.Error() }

// Unwrap returns what the Format's %w verbs wrap, one error or several.
func (e *ParamError) Unwrap() []error {
	switch u := e.err.(type) {
	case interface{ Unwrap() []error }:
		return u.Unwrap()
	case interface{ Unwrap() error }:
		return []error{u.Unwrap()}
	}
	return nil
}
