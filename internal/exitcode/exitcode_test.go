package exitcode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/spf13/cobra"

	"github.com/promrecover/promrecover/extract"
)

func TestExecute(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		run  error
		want int
	}{
		{"ok", []string{"run"}, nil, OK},
		{"failed", []string{"run"}, errors.New("HTTP 502"), Failed},
		{"a usage error", []string{"run"}, fmt.Errorf("--step: %w", extract.Usagef("must be positive")), Usage},
		{"partial", []string{"run"}, &Error{Code: Partly(true), Msg: "1 of 3 windows were not recovered"}, Partial},
		{"nothing of it", []string{"run"}, &Error{Code: Partly(false), Msg: "3 of 3 windows were not recovered"}, Failed},
		{"an unknown flag", []string{"run", "--bogus"}, nil, Usage},
		{"an unknown command", []string{"rn"}, nil, Usage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := &cobra.Command{Use: "prog", SilenceErrors: true, SilenceUsage: true}
			root.AddCommand(&cobra.Command{Use: "run", Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error { return Coded(tc.run) }})
			root.SetArgs(tc.args)
			var stderr bytes.Buffer
			if got := Execute(context.Background(), root, &stderr); got != tc.want {
				t.Errorf("exit status %d, want %d (%s)", got, tc.want, stderr.String())
			}
			if (tc.want == OK) != (stderr.Len() == 0) {
				t.Errorf("stderr %q", stderr.String())
			}
		})
	}
}
