package flagsuggest

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

var testAliases = Aliases{
	"":         {"url": "grafana-url"},
	"promtool": {"start": "from", "end": "to"},
	"thanos":   {"start": "from"},
	"vmctl":    {"vm-addr": "out"},
}

func testFlags() *pflag.FlagSet {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.String("from", "", "")
	fs.String("to", "", "")
	fs.String("state", "", "")
	fs.String("grafana-url", "", "")
	fs.String("retention", "", "")
	fs.BoolP("quiet", "q", false, "")
	fs.String("progress-interval", "", "")
	_ = fs.MarkHidden("progress-interval")
	return fs
}

func TestUnknown(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"two tools' name", []string{"--start", "x"}, "unknown flag --start: did you mean --from? (promtool and thanos call it --start)"},
		{"one tool's name, with =", []string{"--end=x"}, "unknown flag --end: did you mean --to? (promtool calls it --end)"},
		{"no tool's name", []string{"--url", "x"}, "unknown flag --url: did you mean --grafana-url?"},
		{"an alias of a flag this set lacks: spelling", []string{"--vm-addr", "x"}, "unknown flag --vm-addr: did you mean --state?"},
		{"a typo", []string{"--retension", "x"}, "unknown flag --retension: did you mean --retention?"},
		{"hidden flags are not suggested", []string{"--progress-intervals", "x"}, "unknown flag --progress-intervals: did you mean --grafana-url?"},
		{"a long name with one dash", []string{"-from", "x"}, "unknown flag -from: did you mean --from?"},
		{"an alias with one dash", []string{"-start", "x"}, "unknown flag -start: did you mean --from? (promtool and thanos call it --start)"},
		{"shorthands that spell no flag", []string{"-qx"}, `unknown shorthand flag: 'x' in -x`},
		{"a single unknown shorthand", []string{"-x"}, `unknown shorthand flag: 'x' in -x`},
		{"not an unknown flag", []string{"--from"}, "flag needs an argument: --from"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := testFlags()
			err := fs.Parse(c.args)
			if err == nil {
				t.Fatal("the arguments parsed")
			}
			if got := Unknown(fs, err, testAliases); got.Error() != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	if got := Unknown(pflag.NewFlagSet("empty", pflag.ContinueOnError), pflag.NewFlagSet("x", pflag.ContinueOnError).Parse([]string{"--a"}), nil); got.Error() != "unknown flag: --a" {
		t.Errorf("no flags to suggest: got %q", got)
	}
}

func TestContradictions(t *testing.T) {
	cases := []struct {
		name  string
		group []string
		set   []string
		want  string
	}{
		{"two", []string{"verbose", "quiet"}, []string{"verbose", "quiet"}, "--quiet and --verbose contradict each other: give one"},
		{"three of three", []string{"c", "a", "b"}, []string{"a", "b", "c"}, "--a, --b and --c contradict each other: give one"},
		{"two of three", []string{"c", "a", "b"}, []string{"c", "b"}, "--b and --c contradict each other: give one"},
		{"one", []string{"verbose", "quiet"}, []string{"quiet"}, ""},
		{"none", []string{"verbose", "quiet"}, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
			for _, n := range c.group {
				cmd.Flags().Bool(n, false, "")
			}
			cmd.MarkFlagsMutuallyExclusive(c.group...)
			for _, n := range c.set {
				_ = cmd.Flags().Set(n, "true")
			}
			got := Contradictions(cmd.Flags())
			if (got == nil) != (c.want == "") || got != nil && got.Error() != c.want {
				t.Errorf("got %v, want %q", got, c.want)
			}
		})
	}
}

// Register words both kinds of mistakes for every subcommand, and keeps the
// PersistentPreRunE that was there: errors from it come first.
func TestRegister(t *testing.T) {
	hookErr := errors.New("from the hook")
	cases := []struct {
		args    []string
		hookErr error
		want    string
	}{
		{[]string{"sub", "--start", "x"}, nil, "unknown flag --start: did you mean --from? (promtool and thanos call it --start)"},
		{[]string{"sub", "-q", "-v"}, nil, "--quiet and --verbose contradict each other: give one"},
		{[]string{"sub", "-q", "-v"}, hookErr, "from the hook"},
		{[]string{"sub", "-q"}, nil, ""},
	}
	for _, c := range cases {
		root := &cobra.Command{Use: "root", SilenceErrors: true, SilenceUsage: true}
		root.SetOut(io.Discard)
		root.PersistentFlags().BoolP("verbose", "v", false, "")
		root.PersistentFlags().BoolP("quiet", "q", false, "")
		root.MarkFlagsMutuallyExclusive("verbose", "quiet")
		root.PersistentPreRunE = func(*cobra.Command, []string) error { return c.hookErr }
		sub := &cobra.Command{Use: "sub", RunE: func(*cobra.Command, []string) error { return nil }}
		sub.Flags().String("from", "", "")
		root.AddCommand(sub)
		Register(root, testAliases)
		root.SetArgs(c.args)
		err := root.Execute()
		if (err == nil) != (c.want == "") || err != nil && err.Error() != c.want {
			t.Errorf("%q: got %v, want %q", c.args, err, c.want)
		}
	}
}

func TestOneArg(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"a"}, ""},
		{nil, "import takes one argument, the file to read; 0 were given: tool import FILE"},
		{[]string{"a", "b"}, "import takes one argument, the file to read; 2 were given: tool import FILE"},
	} {
		root := &cobra.Command{Use: "tool"}
		cmd := &cobra.Command{Use: "import FILE", Args: OneArg("the file to read"), Run: func(*cobra.Command, []string) {}}
		root.AddCommand(cmd)
		err := cmd.ValidateArgs(tc.args)
		if got := fmt.Sprint(err); (tc.want == "" && err != nil) || (tc.want != "" && got != tc.want) {
			t.Errorf("%q: got %v, want %q", tc.args, err, tc.want)
		}
	}
}
