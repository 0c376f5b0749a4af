package extract

import (
	"fmt"
	"log/slog"
	"strings"
)

// Wording is how a program says the ParamErrors in its own terms: its
// text for each Format, with the same verbs in the same order; its words for
// the arguments a Format takes (Arg returns an argument as it is when the
// program has no words for it; nil keeps them all); and its text for each
// message a library logs that names a parameter.
type Wording struct {
	Formats  map[string]string
	Arg      func(any) any
	Messages map[string]string
}

// Text is err's text with every ParamError in its tree reworded. The
// wrappers have already copied each ParamError's text into their own, so
// it is replaced where it stands; the outer ones first, as their wording
// still holds the inner ones' text.
func (w Wording) Text(err error) string {
	text := err.Error()
	walk(err, func(pe *ParamError) {
		if own, ok := w.Formats[pe.Format]; ok {
			args := make([]any, len(pe.Args))
			for i, a := range pe.Args {
				if w.Arg != nil {
					a = w.Arg(a)
				}
				args[i] = a
			}
			text = strings.ReplaceAll(text, pe.Error(), fmt.Errorf(own, args...).Error())
		}
	})
	return text
}

// Reason rewords a text that kept no error, such as a gap's reason: the
// ParamErrors without arguments are fixed texts, found as they are.
func (w Wording) Reason(reason string) string {
	for neutral, own := range w.Formats {
		if !strings.Contains(neutral, "%") {
			reason = strings.ReplaceAll(reason, neutral, own)
		}
	}
	return reason
}

// Error returns err reworded, or err itself when nothing in it names a
// parameter; errors.Is and As still see err beneath.
func (w Wording) Error(err error) error {
	if err == nil {
		return nil
	}
	if text := w.Text(err); text != err.Error() {
		return &reworded{text, err}
	}
	return err
}

// Attr rewords the messages, errors and reasons the libraries log, as the
// slog.HandlerOptions ReplaceAttr hook.
//
// The records are reworded by the handler, like the errors they carry,
// rather than reported by the libraries as typed warnings that the program
// would log itself: so they stay where and when the libraries log them, in
// order with the other records, at their level and with their attributes,
// whichever library logs and whichever command runs it, with no hook for
// each job a program builds and no second way to log beside slog.
func (w Wording) Attr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.MessageKey {
		if own, ok := w.Messages[a.Value.String()]; ok {
			return slog.String(a.Key, own)
		}
		return a
	}
	switch v := a.Value.Any().(type) {
	case error:
		return slog.Any(a.Key, w.Error(v))
	case string:
		if a.Key == "reason" {
			return slog.String(a.Key, w.Reason(v))
		}
	}
	return a
}

type reworded struct {
	text string
	err  error
}

func (e *reworded) Error() string { return e.text }
func (e *reworded) Unwrap() error { return e.err }

func walk(err error, f func(*ParamError)) {
	if pe, ok := err.(*ParamError); ok {
		f(pe)
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			walk(e, f)
		}
	case interface{ Unwrap() error }:
		if e := u.Unwrap(); e != nil {
			walk(e, f)
		}
	}
}
