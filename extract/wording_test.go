package extract

import (
	"errors"
	"fmt"
	"log/slog"
	"testing"
)

func TestWording(t *testing.T) {
	w := Wording{
		Formats: map[string]string{
			"the step must be positive":   "--step must be positive",
			"%s %q: not a valid label":    "%s %q: not a valid label",
			"the output directory %s: %w": "--out %s: %w",
		},
		Arg: func(a any) any {
			if a == "the label to drop" {
				return "--drop-label"
			}
			return a
		},
		Messages: map[string]string{"a block is not in the output directory": "a block is not in --out"},
	}
	base := errors.New("denied")
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"fixed", ParamErrorf("the step must be positive"), "--step must be positive"},
		{"an argument reworded", ParamErrorf("%s %q: not a valid label", "the label to drop", "a-b"), `--drop-label "a-b": not a valid label`},
		{"wrapped", fmt.Errorf("open: %w", ParamErrorf("the output directory %s: %w", "/d", base)), "open: --out /d: denied"},
		{"without a wording", ParamErrorf("the range %s", "x"), "the range x"},
		{"no ParamError", base, "denied"},
	}
	for _, c := range cases {
		if got := w.Text(c.err); got != c.want {
			t.Errorf("%s: Text = %q, want %q", c.name, got, c.want)
		}
		got := w.Error(c.err)
		if got.Error() != c.want || !errors.Is(got, c.err) {
			t.Errorf("%s: Error = %v, want %q wrapping the library's", c.name, got, c.want)
		}
		if a := w.Attr(nil, slog.Any("err", c.err)); a.Value.Any().(error).Error() != c.want {
			t.Errorf("%s: Attr = %v, want %q", c.name, a.Value, c.want)
		}
	}
	if w.Error(nil) != nil {
		t.Error("Error(nil) is not nil")
	}
	if got := w.Reason("x; the step must be positive"); got != "x; --step must be positive" {
		t.Errorf("Reason = %q", got)
	}
	if a := w.Attr(nil, slog.String("reason", "the step must be positive")); a.Value.String() != "--step must be positive" {
		t.Errorf("Attr(reason) = %v", a.Value)
	}
}

func TestWordingMessages(t *testing.T) {
	w := Wording{Messages: map[string]string{"a block is not in the output directory": "a block is not in --out"}}
	cases := []struct {
		groups []string
		attr   slog.Attr
		want   string
	}{
		{nil, slog.String(slog.MessageKey, "a block is not in the output directory"), "a block is not in --out"},
		{nil, slog.String(slog.MessageKey, "installed block"), "installed block"},
		// An attribute that happens to be called msg inside a group is not
		// the record's message.
		{[]string{"g"}, slog.String(slog.MessageKey, "a block is not in the output directory"), "a block is not in the output directory"},
	}
	for _, c := range cases {
		if got := w.Attr(c.groups, c.attr).Value.String(); got != c.want {
			t.Errorf("Attr(%v, %v) = %q, want %q", c.groups, c.attr, got, c.want)
		}
	}
}
