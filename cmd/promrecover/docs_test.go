package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

var update = flag.Bool("update", false, "rewrite docs/cli from the commands' help")

// cliDocs is the generated command reference, from this package's directory.
const cliDocs = "../../docs/cli"

const refreshCLIDocs = "go test ./cmd/promrecover -run TestCLIReference -update"

// TestCLIReferenceUpToDate regenerates the command reference from the
// commands themselves, so that docs/cli says what --help says: a flag added,
// renamed or reworded without refreshing it fails here.
func TestCLIReferenceUpToDate(t *testing.T) {
	dir := t.TempDir()
	genCLIDocs(t, dir)
	if *update {
		if err := os.RemoveAll(cliDocs); err != nil {
			t.Fatal(err)
		}
		if err := os.CopyFS(cliDocs, os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, got := readMarkdown(t, dir), readMarkdown(t, cliDocs)
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("docs/cli/%s is missing; run %s", name, refreshCLIDocs)
		case !bytes.Equal(g, w):
			t.Errorf("docs/cli/%s differs from the command's help; run %s", name, refreshCLIDocs)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("docs/cli/%s is no command's page any more; run %s", name, refreshCLIDocs)
		}
	}
}

// TestCLIReferenceIsMachineIndependent generates the reference twice, the
// second time with the environment a user's shell may hold, and wants the
// same pages: defaults must not come from HOME, GRAFANA_URL and the like, or
// docs/cli would change with whoever refreshed it.
func TestCLIReferenceIsMachineIndependent(t *testing.T) {
	clean := t.TempDir()
	genCLIDocs(t, clean)
	for _, v := range []string{"GRAFANA_URL", "GRAFANA_TOKEN", "GRAFANA_SESSION", "GRAFANA_USER", "GRAFANA_PASSWORD", configEnv, "GOMEMLIMIT"} {
		t.Setenv(v, "set-by-the-test")
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("COLUMNS", "40")
	t.Setenv("TERM", "dumb")
	dirty := t.TempDir()
	genCLIDocs(t, dirty)
	a, b := readMarkdown(t, clean), readMarkdown(t, dirty)
	if len(a) < 10 || len(a) != len(b) {
		t.Fatalf("%d pages, then %d with another environment", len(a), len(b))
	}
	for name, page := range a {
		if !bytes.Equal(page, b[name]) {
			t.Errorf("%s changes with the environment", name)
		}
	}
}

// genCLIDocs writes one Markdown page per command into dir, as a user's
// binary has them: with cobra's help and completion commands, which Execute
// adds, and without the generation date, so that the pages change only when
// the help does. Each page says it is generated, and how to refresh it.
func genCLIDocs(t *testing.T, dir string) {
	t.Helper()
	root := newRoot(io.Discard, io.Discard)
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.DisableAutoGenTag = true
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	header := func(string) string {
		return "<!-- Generated from the commands' help by TestCLIReferenceUpToDate; refresh with: " + refreshCLIDocs + " -->\n\n"
	}
	link := func(name string) string { return name }
	if err := doc.GenMarkdownTreeCustom(root, dir, header, link); err != nil {
		t.Fatal(err)
	}
}

// readMarkdown returns the .md files of dir by name.
func readMarkdown(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages := make(map[string][]byte, len(names))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		pages[filepath.Base(n)] = b
	}
	return pages
}
