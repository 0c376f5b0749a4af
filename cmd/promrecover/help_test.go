package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// userCommands are the commands a user runs: all but cobra's own.
func userCommands(t *testing.T) []*cobra.Command {
	t.Helper()
	var out []*cobra.Command
	for _, c := range newRoot(io.Discard, io.Discard).Commands() {
		if c.Name() != "help" && c.Name() != "completion" {
			out = append(out, c)
		}
	}
	if len(out) < 9 {
		t.Fatalf("only %d commands", len(out))
	}
	return out
}

// secretLiteral finds a credential written out in an example, where an
// environment variable or a prompt belongs.
var secretLiteral = regexp.MustCompile(`(--token|--session|--password)[ =]|(GRAFANA_TOKEN|GRAFANA_SESSION|GRAFANA_PASSWORD)=|gl(sa|c)_[A-Za-z0-9]`)

// subshell finds a $(command substitution), whose flags are another
// program's.
var subshell = regexp.MustCompile(`\$\([^)]*\)`)

// exampleFlag finds the long flags of an example's promrecover command line.
var exampleFlag = regexp.MustCompile(`(?:^|\s)--([a-z][a-z0-9.-]*)`)

// TestHelpExamples checks that every command teaches by example, that the
// examples only use flags the command has, and that none shows a secret.
func TestHelpExamples(t *testing.T) {
	for _, c := range userCommands(t) {
		if strings.TrimSpace(c.Example) == "" || c.Short == "" {
			t.Errorf("%s has no Example or no Short help", c.Name())
			continue
		}
		if m := secretLiteral.FindString(c.Example); m != "" {
			t.Errorf("%s: an example writes a credential out (%q); take it from the environment", c.Name(), m)
		}
		// Join continued lines and drop command substitutions, then look
		// at each promrecover command line.
		text := subshell.ReplaceAllString(strings.ReplaceAll(c.Example, "\\\n", " "), "DIR")
		for _, line := range strings.Split(text, "\n") {
			for _, part := range strings.Split(line, "|") {
				fields := strings.Fields(part)
				i := indexOf(fields, "promrecover")
				if i < 0 || i+1 >= len(fields) || strings.HasPrefix(fields[i+1], "-") {
					continue
				}
				sub, _, err := c.Root().Find(fields[i+1:])
				if err != nil {
					t.Errorf("%s example %q: %v", c.Name(), part, err)
					continue
				}
				for _, m := range exampleFlag.FindAllStringSubmatch(strings.Join(fields[i+1:], " "), -1) {
					if sub.Flags().Lookup(m[1]) == nil && sub.InheritedFlags().Lookup(m[1]) == nil {
						t.Errorf("%s example %q: %s has no --%s", c.Name(), part, sub.Name(), m[1])
					}
				}
			}
		}
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// TestHelpFlagsConsistent checks that a flag name means one kind of value,
// with one shorthand, in every command that has it.
func TestHelpFlagsConsistent(t *testing.T) {
	type use struct{ cmd, typ, short string }
	seen := map[string]use{}
	for _, c := range userCommands(t) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			u := use{c.Name(), f.Value.Type(), f.Shorthand}
			if first, ok := seen[f.Name]; ok && (first.typ != u.typ || first.short != u.short) {
				t.Errorf("--%s is %s -%s in %s but %s -%s in %s", f.Name, first.typ, first.short, first.cmd, u.typ, u.short, u.cmd)
			}
			if f.Usage == "" {
				t.Errorf("%s --%s has no help", c.Name(), f.Name)
			}
			seen[f.Name] = u
		})
	}
}

func TestCompletion(t *testing.T) {
	url, _ := simtest.Start(t, sim.Config{Tokens: []string{testToken}, Datasources: []sim.Datasource{
		{ID: 1, UID: "grafanacloud-prom", Name: "grafanacloud-example-prom", Type: "prometheus"},
		{ID: 2, UID: "logs", Name: "grafanacloud-example-logs", Type: "loki"},
	}})
	t.Setenv("GRAFANA_TOKEN", testToken)
	cfg := filepath.Join(t.TempDir(), "promrecover.yaml")
	if err := os.WriteFile(cfg, []byte("grafana-url: "+url+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args      []string
		want, not []string
	}{
		{args: []string{"completion", "bash"}, want: []string{"__start_promrecover", "__complete"}},
		{args: []string{"completion", "zsh"}, want: []string{"#compdef promrecover", "__complete"}},
		{args: []string{"completion", "fish"}, want: []string{"complete -c promrecover", "__complete"}},
		{args: []string{"completion", "powershell"}, want: []string{"Register-ArgumentCompleter", "__complete"}},
		{args: []string{"__complete", ""}, want: []string{"recover", "export", "import", "verify", "plan", "gaps", "datasources", "demo", "completion"}},
		{args: []string{"__complete", "export", "--format", ""}, want: []string{"json\n", "jsonl\n", "openmetrics\n", ":4\n"}},
		{args: []string{"__complete", "import", "x", "--format", "open"}, want: []string{"openmetrics"}},
		{args: []string{"__complete", "verify", "--data", "dir", "--format", ""}, want: []string{"jsonl"}},
		{args: []string{"__complete", "recover", "--grafana-url", url, "--datasource", ""},
			want: []string{"grafanacloud-prom\tgrafanacloud-example-prom", ":4\n"}, not: []string{"logs"}},
		{args: []string{"__complete", "recover", "--config", cfg, "--datasource", ""}, // the address from the config file
			want: []string{"grafanacloud-prom\tgrafanacloud-example-prom", ":4\n"}, not: []string{"logs"}},
		{args: []string{"__complete", "recover", "--datasource", ""}, want: []string{":4\n"}, not: []string{"grafanacloud-prom"}}, // no Grafana to ask
		{args: []string{"__complete", "recover", "--out", ""}, want: []string{":16\n"}},                                           // directories
		{args: []string{"__complete", "gaps", "--data", ""}, want: []string{":16\n"}},
		{args: []string{"__complete", "export", "--out", ""}, want: []string{":0\n"}}, // a file
		{args: []string{"__complete", "verify", "--data", ""}, want: []string{":16\n"}},
		{args: []string{"__complete", "recover", "--from", "now-"}, want: []string{"now-6h"}},
		{args: []string{"__complete", "import", "x", "--log-format", ""}, want: []string{"text\n", "json\n"}},
		{args: []string{"__complete", "recover", "--via", ""}, want: []string{"ds\n", "proxy\n"}},
	}
	for _, c := range cases {
		runWant(t, c.args, c.want, c.not)
	}
}

// runWant runs a command that must succeed and checks that its output
// holds each of want and none of not.
func runWant(t *testing.T, args, want, not []string) {
	t.Helper()
	stdout, stderr, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, stderr)
	}
	for _, w := range want {
		if !strings.Contains(stdout, w) {
			t.Errorf("%v: output lacks %q:\n%s", args, w, stdout)
		}
	}
	for _, n := range not {
		if strings.Contains(stdout, n) {
			t.Errorf("%v: output has %q:\n%s", args, n, stdout)
		}
	}
}

// TestArgumentCount checks that a command given too few or too many
// arguments says what the argument is and how the command is written
// (verify without one: TestVerifyBadInput).
func TestArgumentCount(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"verify", "a", "b"}, "verify takes no argument but the directory, which is now --data DIR; 2 were given: promrecover verify --data DIR [--against FILE]"},
		{[]string{"import", "--out", "x"}, "import takes one argument, the file to read (- for stdin); 0 were given: promrecover import FILE --out DIR"},
		{[]string{"import", "a.json", "b.json", "--out", "x"}, "2 were given"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, _, err := runCLI(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one with %q", err, tc.want)
			}
		})
	}
}
