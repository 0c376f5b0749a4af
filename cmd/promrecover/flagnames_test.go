package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/promrecover/promrecover/internal/flaggroup"

	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// helpHeading is a heading of a flag section in --help.
var helpHeading = regexp.MustCompile(`(?m)^((?:[A-Z][a-z]+ )?)Flags:$`)

// helpSections splits help text into its flag sections by heading, in order.
func helpSections(help string) (headings []string, flags map[string]string) {
	flags = map[string]string{}
	locs := helpHeading.FindAllStringSubmatchIndex(help, -1)
	for i, l := range locs {
		end := len(help)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		heading := help[l[2]:l[3]]
		headings = append(headings, heading)
		for _, line := range strings.Split(help[l[1]:end], "\n") {
			if m := regexp.MustCompile(`^\s+(?:-\w, )?--([a-z0-9.-]+)`).FindStringSubmatch(line); m != nil {
				flags[m[1]] = heading + "\t" + line
			}
		}
	}
	return headings, flags
}

// TestHelpGroupsFlags checks that recover, plan and export list every flag
// under one heading of what it is about, the required ones marked, with the
// global flags last.
func TestHelpGroupsFlags(t *testing.T) {
	required := map[string][]string{"recover": {"from", "grafana-url"}, "plan": {"from", "grafana-url"}, "export": {"from", "grafana-url"}}
	for _, c := range userCommands(t) {
		req, ok := required[c.Name()]
		if !ok {
			continue
		}
		stdout, _, err := runCLI(t, c.Name(), "--help")
		if err != nil {
			t.Fatal(err)
		}
		if names := flaggroup.Ungrouped(c); len(names) > 0 {
			t.Errorf("%s: no group names %v", c.Name(), names)
		}
		headings, where := helpSections(stdout)
		if got, want := strings.Join(headings, ","), "Source ,Selection ,Destination ,Behaviour ,Output ,Global "; !strings.HasPrefix(want, strings.TrimSuffix(got, "Global ")) || !strings.HasSuffix(got, "Global ") {
			t.Errorf("%s --help: flag headings %q, want some of %q in that order, Global last", c.Name(), got, want)
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			switch at, ok := where[f.Name]; {
			case f.Hidden && ok:
				t.Errorf("%s --help shows the hidden --%s", c.Name(), f.Name)
			case f.Hidden:
			case !ok:
				t.Errorf("%s --help does not list --%s", c.Name(), f.Name)
			case (strings.HasPrefix(at, "Global") || strings.HasPrefix(at, "\t")) && f.Name != "help":
				t.Errorf("%s --%s is in no group: %s", c.Name(), f.Name, at)
			}
		})
		for _, name := range req {
			if !strings.HasSuffix(where[name], "(required)") {
				t.Errorf("%s --%s is not marked required: %q", c.Name(), name, where[name])
			}
		}
		for name, at := range where {
			if strings.Contains(at, "(required)") && !contains(req, name) {
				t.Errorf("%s --%s is marked required: %q", c.Name(), name, at)
			}
		}
	}
}

func contains(s []string, v string) bool { return indexOf(s, v) >= 0 }

const (
	outputNote = "--output is now --out; --output will be removed in a later release"
	verifyNote = "verify DIR is now verify --data DIR; DIR as an argument will be removed in a later release"
)

// TestOneNamePerIdea exports with --out (and -o), verifies with --data, and
// checks that the old spellings still work for a release, each with one
// warning that names the new one, on the command line and in a config file.
func TestOneNamePerIdea(t *testing.T) {
	url, _ := simtest.Start(t, sim.Config{Series: gen.DemoSeries(dataStart, dataEnd, 1), Tokens: []string{testToken}})
	dir := t.TempDir()
	export := append([]string{"export", "--datasource", "grafanacloud-prom", "--match", "up"}, rangeArgs(url)...)
	file := func(name string) string { return filepath.Join(dir, name) }
	cfg := writeConfig(t, "export:\n  output: "+file("config.json")+"\n")
	data := t.TempDir()
	if _, stderr, err := runCLI(t, append([]string{"import", file("import.json"), "--out", data}, "-q")...); err == nil {
		t.Fatalf("import of a missing file passed: %s", stderr)
	}
	cases := []struct {
		name    string
		args    []string
		written string // "" for none
		note    string // "" for none
	}{
		{"export --out", append(export, "--out", file("out.json")), file("out.json"), ""},
		{"export -o", append(export, "-o", file("o.json")), file("o.json"), ""},
		{"export --output", append(export, "--output", file("output.json")), file("output.json"), outputNote},
		{"config output:", append(export, "--config", cfg), file("config.json"), outputNote},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, err := runCLI(t, tc.args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if b, err := os.ReadFile(tc.written); err != nil || !strings.Contains(string(b), `"status":"success"`) {
				t.Errorf("%s not written (%v): %.200s", tc.written, err, b)
			}
			checkNote(t, stderr, tc.note)
		})
	}
	if _, stderr, err := runCLI(t, "import", file("out.json"), "--out", data); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	for _, tc := range []struct {
		name, note string
		args       []string
	}{
		{"verify --data", "", []string{"verify", "--data", data, "--against", file("out.json")}},
		{"verify DIR", verifyNote, []string{"verify", data, "--against", file("out.json")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, err := runCLI(t, tc.args...)
			if err != nil || !strings.Contains(stdout, "OK: the blocks hold exactly the file's") {
				t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
			}
			checkNote(t, stderr, tc.note)
		})
	}
}

// checkNote checks that stderr holds note once as a warning, or no warning
// when note is "".
func checkNote(t *testing.T, stderr, note string) {
	t.Helper()
	if note == "" {
		if strings.Contains(stderr, "WARN") {
			t.Errorf("a warning:\n%s", stderr)
		}
		return
	}
	if strings.Count(stderr, "level=WARN") != 1 || strings.Count(stderr, note) != 1 {
		t.Errorf("stderr does not warn once %q:\n%s", note, stderr)
	}
}

// TestOldSpellingMistakes checks the errors of the old and the mistaken
// names for the data directory.
func TestOldSpellingMistakes(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"recover", "--output-dir", dir}, "unknown flag --output-dir: did you mean --out?"},
		{[]string{"recover", "--output", dir}, "unknown flag --output: did you mean --out?"},
		{[]string{"import", "x.json", "--out-dir", dir}, "unknown flag --out-dir: did you mean --out?"},
		{[]string{"export", "--output-file", "x.json"}, "unknown flag --output-file: did you mean --out?"},
		{[]string{"gaps", "--data-dir", dir}, "unknown flag --data-dir: did you mean --data?"},
		{[]string{"verify", "--dir", dir}, "unknown flag --dir: did you mean --data?"},
		{[]string{"verify"}, "--data is required: the directory of the blocks (a Prometheus data directory, or the --out of recover or import)"},
		{[]string{"verify", dir, "--data", dir}, "verify takes the directory once: give --data DIR alone"},
		{[]string{"verify", "a", "b"}, "verify takes no argument but the directory, which is now --data DIR; 2 were given: promrecover verify --data DIR [--against FILE]"},
		{[]string{"export", "--out", "a", "--output", "b"}, "--out and --output (its old name) contradict each other: give --out"},
	} {
		if _, _, err := runCLI(t, tc.args...); err == nil || err.Error() != tc.want {
			t.Errorf("%q: got error %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestConfigOldNames(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"output-dir: x\n", `promrecover.yaml:1: "output-dir" is not a flag of any command; the closest is --out (keys are the long flag names, without --)`},
		{"export:\n  outptu: x\n", `promrecover.yaml:2: export has no flag "outptu"; the closest is --out`},
	} {
		_, _, err := runCLI(t, "version", "--config", writeConfig(t, tc.text))
		if err == nil || !strings.HasSuffix(err.Error(), tc.want) {
			t.Errorf("%q: got error %v, want one ending %q", tc.text, err, tc.want)
		}
	}
}
