package flagalias

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// newTree is a program with a command whose --out used to be --output and
// whose --data used to be its argument DIR; PersistentPreRunE stands for a
// config file, which sets --out to "config" when it is not given.
func newTree(got map[string]string, log *bytes.Buffer) *cobra.Command {
	root := &cobra.Command{Use: "tool", SilenceErrors: true, SilenceUsage: true}
	root.SetOut(io.Discard)
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if f := cmd.Flags().Lookup("config-output"); f.Changed {
			return cmd.Flags().Set("output", f.Value.String())
		}
		if !cmd.Flags().Changed("out") {
			return cmd.Flags().Set("out", "config")
		}
		return nil
	}
	Register(root, func() *slog.Logger {
		return slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
	})
	cmd := &cobra.Command{Use: "run --data DIR", Args: Arg("data", "DIR", "the directory"), RunE: func(cmd *cobra.Command, _ []string) error {
		got["out"], got["data"] = cmd.Flag("out").Value.String(), cmd.Flag("data").Value.String()
		return nil
	}}
	cmd.Flags().StringP("out", "o", "-", "file to write")
	cmd.Flags().String("data", "", "directory to read")
	cmd.Flags().String("config-output", "", "what the config file sets as output")
	Rename(cmd.Flags(), "output", "out")
	root.AddCommand(cmd)
	return root
}

func TestAliases(t *testing.T) {
	const (
		outputNote = `level=WARN msg="--output is now --out; --output will be removed in a later release"`
		argNote    = `level=WARN msg="run DIR is now run --data DIR; DIR as an argument will be removed in a later release"`
	)
	cases := []struct {
		name             string
		args             []string
		out, data, notes string
		err              string
	}{
		{"new names", []string{"--out", "f", "--data", "d"}, "f", "d", "", ""},
		{"shorthand", []string{"-o", "f"}, "f", "", "", ""},
		{"neither: the config's", nil, "config", "", "", ""},
		{"old name: counts as given", []string{"--output", "f"}, "f", "", outputNote, ""},
		{"old name in the config", []string{"--config-output", "c"}, "c", "", outputNote, ""},
		{"argument", []string{"d"}, "config", "d", argNote, ""},
		{"both names", []string{"--out", "a", "--output", "b"}, "", "", "", "--out and --output (its old name) contradict each other: give --out"},
		{"old name first", []string{"--output", "b", "--out", "a"}, "", "", "", "--out and --output (its old name) contradict each other: give --out"},
		{"argument and flag", []string{"d", "--data", "e"}, "", "", "", "run takes the directory once: give --data DIR alone"},
		{"two arguments", []string{"d", "e"}, "", "", "", "run takes no argument but the directory, which is now --data DIR; 2 were given: tool run --data DIR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			got := map[string]string{}
			root := newTree(got, &log)
			root.SetArgs(append([]string{"run"}, tc.args...))
			err := root.ExecuteContext(context.Background())
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got["out"] != tc.out || got["data"] != tc.data {
				t.Errorf("--out %q --data %q, want %q and %q", got["out"], got["data"], tc.out, tc.data)
			}
			if notes := strings.TrimSpace(log.String()); notes != tc.notes {
				t.Errorf("logged %q, want %q", notes, tc.notes)
			}
		})
	}
}

func TestOldNameHidden(t *testing.T) {
	root := newTree(map[string]string{}, &bytes.Buffer{})
	cmd, _, _ := root.Find([]string{"run"})
	if usage := cmd.Flags().FlagUsages(); strings.Contains(usage, " --output") || !strings.Contains(usage, "--out") {
		t.Errorf("the help shows the old name, or not the new:\n%s", usage)
	}
	fs := cmd.Flags()
	if Target(fs, fs.Lookup("output")) != fs.Lookup("out") || Target(fs, fs.Lookup("data")) != fs.Lookup("data") {
		t.Error("Target does not find the flag an old name sets")
	}
	_ = fs.Set("output", "x")
	if !Given(fs, fs.Lookup("out")) || !Given(fs, fs.Lookup("output")) || Given(fs, fs.Lookup("data")) {
		t.Error("Given does not see the flag given under its old name")
	}
}
