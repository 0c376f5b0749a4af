package extract

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestIsUsage(t *testing.T) {
	bad := Usage(ParamErrorf("the step must be positive"))
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", Usage(nil), false},
		{"a usage error", bad, true},
		{"wrapped", fmt.Errorf("--step: %w", bad), true},
		{"reworded", Wording{Formats: map[string]string{"the step must be positive": "--step must be positive"}}.Error(bad), true},
		{"Usagef", Usagef("--out is required"), true},
		{"a ParamError alone", ParamErrorf("%w: Grafana wants credentials", errors.New("HTTP 401")), false},
		{"another error", errors.New("HTTP 502"), false},
	} {
		if got := IsUsage(tc.err); got != tc.want {
			t.Errorf("%s: IsUsage(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
	var pe *ParamError
	if !errors.As(bad, &pe) || bad.Error() != "the step must be positive" {
		t.Errorf("a UsageError hides its ParamError: %v", bad)
	}
}

func TestResultPartial(t *testing.T) {
	ok := WindowResult{Samples: 1}
	failed := WindowResult{Err: errors.New("refused")}
	cut := WindowResult{Err: context.Canceled, Interrupted: true}
	for _, tc := range []struct {
		name    string
		windows []WindowResult
		want    bool
	}{
		{"all", []WindowResult{ok, ok}, false},
		{"none", []WindowResult{failed, failed}, false},
		{"one of two failed", []WindowResult{ok, failed}, true},
		{"one of two interrupted", []WindowResult{ok, cut}, true},
		{"all, with a gap", []WindowResult{ok, {Gaps: []Gap{{}}}}, true},
		{"no windows", nil, false},
	} {
		if got := (&Result{Windows: tc.windows}).Partial(); got != tc.want {
			t.Errorf("%s: Partial() = %v, want %v", tc.name, got, tc.want)
		}
	}
}
