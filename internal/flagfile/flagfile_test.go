package flagfile_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/promrecover/promrecover/internal/flagalias"
	"github.com/promrecover/promrecover/internal/flagfile"
)

// rules are a program's tables, as promrecover's look.
var rules = flagfile.Rules{
	Env:             map[string]string{"grafana-url": "GRAFANA_URL", "token": "GRAFANA_TOKEN", "password": "GRAFANA_PASSWORD"},
	Secrets:         map[string]string{"token": "set GRAFANA_TOKEN in the environment instead", "password": "set GRAFANA_PASSWORD in the environment instead"},
	NotConfigurable: map[string]string{"config": "a config file cannot name another one", "help": "help is asked for on the command line"},
	Synonyms:        map[string]string{"selectors": "match"},
	Example:         "grafana-url: https://example.grafana.net",
}

// newRoot is a command tree like promrecover's: recover, export and plan
// share the connection and selection flags, and each has flags of its own.
func newRoot() *cobra.Command {
	root := &cobra.Command{Use: "prog", SilenceUsage: true, SilenceErrors: true}
	root.PersistentFlags().String("config", "", "")
	root.PersistentFlags().String("memory-limit", "384MiB", "")
	common := func(fs *pflag.FlagSet) {
		for _, name := range []string{"grafana-url", "token", "password", "datasource", "from", "out"} {
			fs.String(name, "", "")
		}
		fs.String("to", "now", "")
		fs.StringArray("match", nil, "")
		fs.StringArray("drop-label", nil, "")
		fs.Duration("step", 0, "")
		fs.Int("concurrency", 4, "")
	}
	for _, name := range []string{"recover", "export", "plan"} {
		cmd := &cobra.Command{Use: name, RunE: func(*cobra.Command, []string) error { return nil }}
		common(cmd.Flags())
		root.AddCommand(cmd)
	}
	for _, cmd := range root.Commands() {
		switch cmd.Name() {
		case "recover":
			cmd.Flags().Bool("restart", false, "")
			cmd.Flags().String("retention", "", "")
		case "export":
			cmd.Flags().String("format", "json", "")
			flagalias.Rename(cmd.Flags(), "output", "out")
		case "plan":
			cmd.Flags().Bool("restart", false, "")
		}
	}
	return root
}

// writeFile writes a config file named promrecover.yaml, so that error
// messages can be checked word for word.
func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "promrecover.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// flagsAfter runs the command line, applying the file --config names before
// the command's work, and returns the command's flags as they were then.
func flagsAfter(args ...string) (*pflag.FlagSet, error) {
	root := newRoot()
	var got *pflag.FlagSet
	for _, sub := range root.Commands() {
		sub.RunE = func(cmd *cobra.Command, _ []string) error { got = cmd.Flags(); return nil }
	}
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		path, _ := cmd.Flags().GetString("config")
		if path == "" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := flagfile.Parse(path, b, root, rules)
		if err != nil {
			return err
		}
		return f.Apply(cmd)
	}
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return got, err
}

func TestPrecedence(t *testing.T) {
	const file = `grafana-url: https://from-config.example
datasource: top
concurrency: 8
out: /top
match: ['up', '{job="api", code=~"5.."}']
drop-label: cluster
memory-limit: "0"
recover: &recover
  datasource: recover-section
  restart: true
  step: 30s
export:
  format: jsonl
plan: *recover
`
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want map[string]string // flag name -> value as pflag prints it; lists joined by commas
	}{
		{name: "no config: defaults",
			args: []string{"recover"},
			want: map[string]string{"concurrency": "4", "datasource": "", "restart": "false", "match": "[]"}},
		{name: "top level, and the command's section over it",
			args: []string{"recover", "--config", "CFG"},
			want: map[string]string{"grafana-url": "https://from-config.example", "datasource": "recover-section", "concurrency": "8",
				"out": "/top", "restart": "true", "step": "30s", "match": `[up,{job="api", code=~"5.."}]`, "drop-label": "[cluster]", "memory-limit": "0"}},
		{name: "another command gets the top level and its own section only",
			args: []string{"export", "--config", "CFG"},
			want: map[string]string{"datasource": "top", "format": "jsonl", "step": "0s"}},
		{name: "a section shared through a YAML alias",
			args: []string{"plan", "--config", "CFG"},
			want: map[string]string{"datasource": "recover-section", "step": "30s", "concurrency": "8", "format": "<no such flag>"}},
		{name: "the command line wins, a repeated flag replacing the whole list",
			args: []string{"recover", "--config", "CFG", "--datasource", "cli", "--concurrency", "2", "--match", "node_load1", "--restart=false"},
			want: map[string]string{"datasource": "cli", "concurrency": "2", "match": "[node_load1]", "restart": "false", "out": "/top"}},
		{name: "the environment wins over the config file",
			env:  map[string]string{"GRAFANA_URL": "https://from-env.example"},
			args: []string{"recover", "--config", "CFG"},
			// The program fills the empty flag from GRAFANA_URL.
			want: map[string]string{"grafana-url": ""}},
		{name: "the command line wins over the environment and the config file",
			env:  map[string]string{"GRAFANA_URL": "https://from-env.example"},
			args: []string{"recover", "--config", "CFG", "--grafana-url", "https://from-cli.example"},
			want: map[string]string{"grafana-url": "https://from-cli.example"}},
	}
	path := writeFile(t, file)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GRAFANA_URL", tc.env["GRAFANA_URL"])
			args := slices.Clone(tc.args)
			for i := range args {
				args[i] = strings.ReplaceAll(args[i], "CFG", path)
			}
			fs, err := flagsAfter(args...)
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tc.want {
				got := "<no such flag>"
				if f := fs.Lookup(name); f != nil {
					got = f.Value.String()
					if sv, ok := f.Value.(pflag.SliceValue); ok { // unquoted, unlike String
						got = "[" + strings.Join(sv.GetSlice(), ",") + "]"
					}
				}
				if got != want {
					t.Errorf("--%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name, file string
		cmd        string
		want       []string
	}{
		{name: "a secret is refused, with the rule's advice",
			file: "datasource: x\ntoken: glsa_abc\n",
			want: []string{"promrecover.yaml:2: token is refused in a config file, which gets committed and shared: set GRAFANA_TOKEN in the environment instead"}},
		{name: "a secret in a section is refused",
			file: "recover:\n  out: /x\n  password: hunter2\n",
			want: []string{"promrecover.yaml:3: password is refused", "set GRAFANA_PASSWORD"}},
		{name: "an unknown key names the closest flag",
			file: "grafana_url: https://x\n",
			want: []string{`promrecover.yaml:1: "grafana_url" is not a flag of any command; the closest is --grafana-url (keys are the long flag names, without --)`}},
		{name: "a synonym names the flag meant",
			file: "selectors: [up]\n",
			want: []string{`promrecover.yaml:1: "selectors" is not a flag of any command; the closest is --match`}},
		{name: "an unknown key in a section names the command's closest flag",
			file: "recover:\n  retension: 15d\n",
			want: []string{`promrecover.yaml:2: recover has no flag "retension"; the closest is --retention`}},
		{name: "another command's flag in a section",
			file: "export:\n  retention: 15d\n",
			want: []string{`promrecover.yaml:2: export has no flag "retention"`}},
		{name: "a section for no command",
			file: "recovr:\n  out: /x\n",
			want: []string{`promrecover.yaml:1: "recovr" holds a map, but only a command's section may; the closest command is recover`}},
		{name: "a map in a section",
			file: "recover:\n  out:\n    a: b\n",
			want: []string{`promrecover.yaml:2: recover.out holds a map; a section holds flag names and their values`}},
		{name: "a bad value names the key and its line",
			file: "datasource: x\nstep: 15\n",
			want: []string{`promrecover.yaml:2: step: invalid argument "15" for "--step" flag: time: missing unit in duration "15"`}},
		{name: "a bad number",
			file: "recover:\n  concurrency: many\n",
			want: []string{`promrecover.yaml:2: concurrency: invalid argument "many"`}},
		{name: "a list for a flag that takes one value",
			file: "datasource: [a, b]\n",
			want: []string{"promrecover.yaml:1: datasource takes one value, not a list"}},
		{name: "a list of lists",
			file: "match: [[up]]\n",
			want: []string{"promrecover.yaml:1: match: every element of the list must be a plain value"}},
		{name: "a key without a value",
			file: "datasource:\n",
			want: []string{"promrecover.yaml:1: datasource has no value; give one or leave the key out"}},
		{name: "a key given twice",
			file: "out: /a\nout: /b\n",
			want: []string{"promrecover.yaml:2: out is given twice (first on line 1)"}},
		{name: "a key that makes no sense in a file",
			file: "config: other.yaml\n",
			want: []string{"promrecover.yaml:1: config cannot be set in a config file: a config file cannot name another one"}},
		{name: "not YAML",
			file: "datasource: x\n  out: [\n",
			want: []string{"promrecover.yaml: yaml: line"}},
		{name: "not a map, with the rule's example",
			file: "- out\n",
			want: []string{"promrecover.yaml:1: want a map of flag names to values, e.g. 'grafana-url: https://example.grafana.net'"}},
		{name: "a mistake in another command's section fails this one too",
			file: "export:\n  formt: jsonl\n", cmd: "recover",
			want: []string{`promrecover.yaml:2: export has no flag "formt"; the closest is --format`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := tc.cmd
			if cmd == "" {
				cmd = "recover"
			}
			_, err := flagsAfter(cmd, "--config", writeFile(t, tc.file))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "glsa_abc") {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
	if _, err := flagsAfter("recover", "--config", writeFile(t, "")); err != nil {
		t.Errorf("an empty file: %v", err)
	}
}

// TestOldNames checks that a key may be a flag's old name, which sets the
// flag unless the command line gave it under either name, and that an old
// name is never suggested.
func TestOldNames(t *testing.T) {
	cases := []struct {
		name, file string
		args       []string
		out, err   string
	}{
		{"old name", "export:\n  output: /c\n", []string{"export"}, "/c", ""},
		{"old name at the top", "output: /c\n", []string{"export"}, "/c", ""},
		{"the command line's new name wins", "export:\n  output: /c\n", []string{"export", "--out", "/cli"}, "/cli", ""},
		{"the command line's old name wins", "out: /c\n", []string{"export", "--output", "/cli"}, "/cli", ""},
		{"a typo gets the new name", "export:\n  outptu: /c\n", []string{"export"}, "", `promrecover.yaml:2: export has no flag "outptu"; the closest is --out`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := flagsAfter(append(tc.args, "--config", writeFile(t, tc.file))...)
			if tc.err != "" {
				if err == nil || !strings.HasSuffix(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one ending %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fs.Lookup("out").Value.String(); got != tc.out {
				t.Errorf("--out %q, want %q", got, tc.out)
			}
		})
	}
}
