package recovery

import (
	"testing"

	"github.com/promrecover/promrecover/extract/relabel"
)

// The states written so far hold these texts: the same rules must give
// them, or a resume would look like another recovery.
func TestRelabelKey(t *testing.T) {
	for _, tc := range []struct {
		drop, set []string
		want      string
	}{
		{nil, nil, ""},
		{[]string{"cluster", "cluster", " replica "}, []string{"env=prod", "env=prod"}, "--drop-label cluster --drop-label replica --set-label env=prod"},
		{nil, []string{"b=1", "a=x=y"}, "--set-label a=x=y --set-label b=1"},
		{[]string{"instance"}, nil, "--drop-label instance"},
	} {
		r, err := relabel.Parse(tc.drop, tc.set)
		if err != nil {
			t.Fatal(err)
		}
		if got := relabelKey(r); got != tc.want {
			t.Errorf("relabelKey(%q, %q) = %q, want %q", tc.drop, tc.set, got, tc.want)
		}
	}
}
