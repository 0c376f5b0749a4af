package flaggroup

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// newTree is a program with a global --verbose and a command whose flags
// groups name, but --stray.
func newTree() (root, cmd *cobra.Command) {
	root = &cobra.Command{Use: "tool"}
	root.PersistentFlags().BoolP("verbose", "v", false, "log more")
	root.PersistentFlags().String("config", "", "config file")
	cmd = &cobra.Command{Use: "run", Example: "  tool run --from x", Run: func(*cobra.Command, []string) {}}
	cmd.Flags().String("url", "", "server address")
	cmd.Flags().String("from", "", "start")
	cmd.Flags().String("to", "", "end")
	cmd.Flags().StringP("out", "o", "", "directory")
	cmd.Flags().String("stray", "", "in no group")
	cmd.Flags().String("secret", "", "hidden")
	_ = cmd.Flags().MarkHidden("secret")
	Groups{"Source: url", "Selection: to from", "Destination: out missing", "Output: verbose"}.Apply(cmd, "from", "out")
	root.AddCommand(cmd)
	return root, cmd
}

func TestUsage(t *testing.T) {
	root, _ := newTree()
	var b bytes.Buffer
	root.SetOut(&b)
	root.SetArgs([]string{"run", "--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	want := `Usage:
  tool run [flags]

Examples:
  tool run --from x

Source Flags:
      --url string   server address

Selection Flags:
      --to string     end
      --from string   start (required)

Destination Flags:
  -o, --out string   directory (required)

Output Flags:
  -v, --verbose   log more

Global Flags:
      --config string   config file
  -h, --help            help for run
      --stray string    in no group
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestUngrouped(t *testing.T) {
	for _, tc := range []struct {
		groups Groups
		want   []string
	}{
		{Groups{"A: url from to out stray"}, nil},
		{Groups{"A: url from", "B: to"}, []string{"out", "stray"}},
		{nil, []string{"from", "out", "stray", "to", "url"}},
	} {
		_, cmd := newTree()
		for _, name := range []string{"url", "from", "to", "out", "stray"} {
			delete(cmd.Flags().Lookup(name).Annotations, groupKey)
		}
		tc.groups.Apply(cmd)
		cmd.InitDefaultHelpFlag()
		if got := Ungrouped(cmd); !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %v, want %v", tc.groups, got, tc.want)
		}
	}
}

func TestRequire(t *testing.T) {
	_, cmd := newTree()
	for name, want := range map[string]bool{"from": true, "out": true, "to": false, "url": false} {
		if got := strings.HasSuffix(cmd.Flags().Lookup(name).Usage, " (required)"); got != want {
			t.Errorf("--%s marked required: %v, want %v", name, got, want)
		}
	}
}
