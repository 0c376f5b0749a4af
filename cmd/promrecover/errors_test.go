package main

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/relabel"
	"github.com/promrecover/promrecover/extract/state"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The library tests assert the neutral texts; these assert what the user
// reads of them, which the library tests asserted before.
func TestUserText(t *testing.T) {
	dial := errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	_, relabelErr := relabel.Parse(nil, []string{"env="})
	_, planErr := extract.NewPlan(dataStart, dataStart, 0, nil)
	rules, err := relabel.Parse([]string{"instance"}, []string{"env=prod"})
	if err != nil {
		t.Fatal(err)
	}
	collision := &relabel.CollisionError{A: labels.FromStrings("__name__", "up", "instance", "a"), B: labels.FromStrings("__name__", "up", "instance", "b"),
		Result: labels.FromStrings("__name__", "up", "env", "prod"), Rules: rules}
	cases := []struct {
		err  error
		want string
	}{
		{relabelErr, `--set-label "env=": an empty value removes the label in Prometheus; use --drop-label env`},
		{planErr, "--from (2025-08-03T00:00:00Z) must be before --to (2025-08-03T00:00:00Z)"},
		{fmt.Errorf("GET /api/datasources: %w", extract.ParamErrorf("%w: no such host; check the spelling of the Grafana URL %s (the address you open Grafana at)", dial, "https://g")),
			"GET /api/datasources: dial tcp 127.0.0.1:1: connect: connection refused: no such host; check the spelling of --grafana-url https://g (the address you open Grafana at)"},
		{&extract.AbortError{Err: extract.ParamErrorf("%w; nothing answered there after every retry: check the host and port of the Grafana URL (the address you open Grafana at) and that this machine can reach it (a firewall; HTTPS_PROXY and NO_PROXY when a proxy is needed)", dial)},
			"check the host and port of --grafana-url (the address you open Grafana at; GRAFANA_URL when the flag is not given)"},
		{extract.ParamErrorf("%s; give as the datasource one of the uids (or names) the datasources list: %s", `datasource "nope" not found by uid or name`, "a (b)"),
			`datasource "nope" not found by uid or name; give --datasource one of the uids (or names) 'promrecover datasources' lists: a (b)`},
		{fmt.Errorf("window 2025-08-03T00:00:00Z: %w", collision),
			`window 2025-08-03T00:00:00Z: relabelling (--drop-label instance --set-label env=prod) merges two series: {__name__="up", instance="a"} and {__name__="up", instance="b"} both become {__name__="up", env="prod"}; drop fewer labels (or set fewer) so that every series stays distinct, or narrow --match to one of them`},
		// Nested: the outer wording still holds the inner's neutral text.
		{extract.ParamErrorf("the session is due: %w", extract.ParamErrorf("the resume state %s is not one this version of promrecover wrote (%v); move it away, or restart to start over", "s.json", nil)),
			"the session is due: the resume state s.json is not one this version of promrecover wrote (<nil>); move it away, or pass --restart to start over"},
	}
	for _, c := range cases {
		if got := userText(c.err); !strings.Contains(got, c.want) {
			t.Errorf("userText(%v) = %q, want it to hold %q", c.err, got, c.want)
		}
		if u := forUser(c.err); !errors.Is(u, c.err) {
			t.Errorf("forUser(%v) hides the library's error", c.err)
		}
	}
	if got, want := userReason("x; nothing told this part's series apart under the server's series limit: raise that limit, or narrow the selector"), "x; nothing told this part's series apart under the server's series limit: raise that limit, or narrow --match"; got != want {
		t.Errorf("userReason = %q, want %q", got, want)
	}
}

func TestRulesAsFlags(t *testing.T) {
	for _, tc := range []struct {
		drop, set []string
		want      string
	}{
		{nil, nil, ""},
		{[]string{"cluster", "cluster", " replica "}, []string{"env=prod", "env=prod"}, "--drop-label cluster --drop-label replica --set-label env=prod"},
		{nil, []string{"b=1", "a=x=y"}, "--set-label a=x=y --set-label b=1"},
	} {
		r, err := relabel.Parse(tc.drop, tc.set)
		if err != nil {
			t.Fatal(err)
		}
		if got := rulesAsFlags(r); got != tc.want {
			t.Errorf("rulesAsFlags(%q, %q) = %q, want %q", tc.drop, tc.set, got, tc.want)
		}
	}
}

// A resume state's plan as the flags that resume it: what the flags' defaults
// give is left out, and every value is one word for a shell.
func TestPlanAsFlags(t *testing.T) {
	base := state.Plan{GrafanaURL: "http://127.0.0.1:3000", Datasource: "prom", From: "2025-08-03T00:00:00Z", To: "2025-08-03T04:00:00Z", Step: "raw", Selectors: []string{extract.AllSeries}}
	const flags = "--grafana-url http://127.0.0.1:3000 --datasource prom --from 2025-08-03T00:00:00Z --to 2025-08-03T04:00:00Z"
	for _, tc := range []struct {
		change func(*state.Plan)
		want   string
	}{
		{func(*state.Plan) {}, flags},
		{func(p *state.Plan) { p.Step = "15s"; p.Selectors = []string{"up", `{job="node"}`} }, flags + ` --step 15s --match up --match '{job="node"}'`},
		{func(p *state.Plan) { p.Relabel = "--drop-label instance --set-label env=prod" }, flags + " --drop-label instance --set-label env=prod"},
		{func(p *state.Plan) { p.Relabel = "--set-label team=db ops --set-label x=it's" }, flags + ` --set-label 'team=db ops' --set-label 'x=it'\''s'`},
		{func(p *state.Plan) { p.OnlyGaps = true }, flags + " --only-gaps"},
		{func(p *state.Plan) { p.Datasource = "My Prom"; p.GrafanaURL = "https://g.example/grafana?orgId=2&x=1" },
			"--grafana-url 'https://g.example/grafana?orgId=2&x=1' --datasource 'My Prom' --from 2025-08-03T00:00:00Z --to 2025-08-03T04:00:00Z"},
	} {
		p := base
		tc.change(&p)
		if got := planAsFlags(p); got != tc.want {
			t.Errorf("planAsFlags(%+v)\n got %s\nwant %s", p, got, tc.want)
		}
	}
}

// Each wording takes the library's arguments: the same verbs, in order.
func TestFlagWordingVerbs(t *testing.T) {
	verbs := regexp.MustCompile(`%[a-z]`)
	for neutral, cli := range flagWording {
		if a, b := strings.Join(verbs.FindAllString(neutral, -1), ""), strings.Join(verbs.FindAllString(cli, -1), ""); a != b {
			t.Errorf("%q takes %s, its wording %s", neutral, a, b)
		}
	}
}

// TestEveryParamErrorHasAWording keeps flagWording complete: a library
// message that names a parameter but has no wording here would reach the
// user in the library's terms, with no test failing on its own.
func TestEveryParamErrorHasAWording(t *testing.T) {
	formats := map[string]string{} // format -> where it is built
	literals := map[string]bool{}  // every string the libraries hold, for fixed texts such as hints
	inspectLibraries(t, func(fset *token.FileSet, n ast.Node) {
		if v, ok := stringLit(n); ok {
			literals[v] = true
		}
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return
		}
		if fn, ok := call.Fun.(*ast.SelectorExpr); !ok || fn.Sel.Name != "ParamErrorf" {
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "ParamErrorf" {
				return
			}
		}
		at := fset.Position(call.Pos()).String()
		format, ok := stringLit(call.Args[0])
		if !ok {
			t.Errorf("%s: ParamErrorf's format is not a string literal, so no wording can be checked for it", at)
			return
		}
		formats[format] = at
	})
	if len(formats) == 0 {
		t.Fatal("found no ParamErrorf call: the walk looks in the wrong place")
	}
	for format, at := range formats {
		if _, ok := flagWording[format]; !ok {
			t.Errorf("%s: no flag wording for %q", at, format)
		}
	}
	for format := range flagWording {
		if !literals[format] {
			t.Errorf("flagWording holds %q, which no library says any more", format)
		}
	}
}

// TestEveryLibraryMessageHasAWording keeps messageWording complete and the
// libraries' texts free of flags: no string a library holds names one of
// the command's flags (a message naming one would reach the user without
// any wording), and each wording is of a message a library logs, into flags
// the command has.
func TestEveryLibraryMessageHasAWording(t *testing.T) {
	flags := commandFlags()
	// Texts that hold a flag for a reason: the words of the resume state's
	// fingerprint of the relabelling rules, which keeps the form the first
	// states were written in (see recovery's relabelKey); docker's own
	// --format.
	allowed := map[string]bool{"--drop-label ": true, "--set-label ": true}
	docker := strings.NewReplacer("docker volume inspect NAME --format", "")
	flag := regexp.MustCompile(`--([a-z][a-z0-9-]*)`)
	messages := map[string]bool{} // what the libraries log
	inspectLibraries(t, func(fset *token.FileSet, n ast.Node) {
		if call, ok := n.(*ast.CallExpr); ok && len(call.Args) > 0 {
			if fn, ok := call.Fun.(*ast.SelectorExpr); ok && slices.Contains([]string{"Debug", "Info", "Warn", "Error"}, fn.Sel.Name) {
				if v, ok := stringLit(call.Args[0]); ok {
					messages[v] = true
				}
			}
		}
		v, ok := stringLit(n)
		if !ok || allowed[v] {
			return
		}
		for _, m := range flag.FindAllStringSubmatch(docker.Replace(v), -1) {
			if flags[m[1]] {
				t.Errorf("%s: %q names the flag --%s", fset.Position(n.Pos()), v, m[1])
			}
		}
	})
	if len(messages) == 0 {
		t.Fatal("found no log call: the walk looks in the wrong place")
	}
	for neutral, cli := range messageWording {
		if !messages[neutral] {
			t.Errorf("messageWording holds %q, which no library logs any more", neutral)
		}
		named := flag.FindAllStringSubmatch(cli, -1)
		if len(named) == 0 {
			t.Errorf("the wording of %q names no flag", neutral)
		}
		for _, m := range named {
			if !flags[m[1]] {
				t.Errorf("the wording of %q names --%s, which the command does not have", neutral, m[1])
			}
		}
	}
}

// The handler the commands log through says the libraries' messages in
// flag terms, leaving the rest as they are.
func TestUserMessages(t *testing.T) {
	for neutral, cli := range messageWording {
		for _, json := range []bool{false, true} {
			var b strings.Builder
			o := &slog.HandlerOptions{ReplaceAttr: userAttr}
			var h slog.Handler = slog.NewTextHandler(&b, o)
			if json {
				h = slog.NewJSONHandler(&b, o)
			}
			slog.New(h).Warn(neutral, "earlier", "a..b", slog.Group("g", slog.String("msg", neutral)))
			out := b.String()
			want := strconv.Quote(cli)
			if !strings.Contains(out, want) || strings.Count(out, strconv.Quote(neutral)) != 1 || !strings.Contains(out, "a..b") {
				t.Errorf("logged %q as\n%s\nwant the message %s, the group's attribute as it is", neutral, out, want)
			}
		}
	}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{ReplaceAttr: userAttr})).Info("recovering", "out", "/data")
	if !strings.Contains(b.String(), "msg=recovering out=/data") {
		t.Errorf("a message without a wording changed: %s", b.String())
	}
}

// commandFlags is the name of every flag of every command.
func commandFlags() map[string]bool {
	names := map[string]bool{}
	var visit func(c *cobra.Command)
	visit = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.Flags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) { names[f.Name] = true })
		}
		for _, sub := range c.Commands() {
			visit(sub)
		}
	}
	visit(newRoot(io.Discard, io.Discard))
	return names
}

// inspectLibraries calls f on every node of the libraries' non-test files:
// every package outside cmd, internal and bench.
func inspectLibraries(t *testing.T, f func(*token.FileSet, ast.Node)) {
	t.Helper()
	fset := token.NewFileSet()
	const root = "../.."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (d.Name() == "cmd" || d.Name() == "internal" || d.Name() == "bench" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if n != nil {
				f(fset, n)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// stringLit is the value of n when it is a string literal.
func stringLit(n ast.Node) (string, bool) {
	lit, ok := n.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	v, err := strconv.Unquote(lit.Value)
	return v, err == nil
}
