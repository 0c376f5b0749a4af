package main

import (
	"io/fs"
	"os/exec"
	"strings"
	"testing"
)

// TestExamplesAreShell has bash parse each command's examples, and checks
// that every file is some command's: a typo in a quote or a line
// continuation would otherwise reach users as an example that does not run.
func TestExamplesAreShell(t *testing.T) {
	used := map[string]bool{}
	root := newRoot(&strings.Builder{}, &strings.Builder{})
	for _, c := range root.Commands() {
		if c.Example != "" {
			used[c.Name()+".sh"] = true
		}
	}
	files, err := fs.Glob(examples, "examples/*.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimPrefix(f, "examples/")
		if !used[name] {
			t.Errorf("%s is no command's example", f)
		}
		b, _ := examples.ReadFile(f)
		cmd := exec.Command("bash", "-n")
		cmd.Stdin = strings.NewReader(string(b))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s does not parse as shell: %v\n%s", f, err, out)
		}
	}
	if len(files) != len(used) {
		t.Errorf("%d example files for %d commands with examples", len(files), len(used))
	}
}
