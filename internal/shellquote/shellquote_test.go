package shellquote

import (
	"os/exec"
	"testing"
)

func TestJoin(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"promrecover", "recover", "--from", "2025-08-03T02:00:00Z"}, "promrecover recover --from 2025-08-03T02:00:00Z"},
		{[]string{"--match", `{job="node"}`}, `--match '{job="node"}'`},
		{[]string{"--set-label", "team=db ops"}, "--set-label 'team=db ops'"},
		{[]string{"it's"}, `'it'\''s'`},
		{[]string{""}, "''"},
		{[]string{"$HOME", "a*b", "x;y"}, `'$HOME' 'a*b' 'x;y'`},
	} {
		if got := Join(tc.args...); got != tc.want {
			t.Errorf("Join(%q) = %s, want %s", tc.args, got, tc.want)
		}
	}
}

// TestAShellReadsItBack checks the quoting against a real shell: each word
// comes back as it was.
func TestAShellReadsItBack(t *testing.T) {
	words := []string{`{job="node",env=~"a|b"}`, "team=db ops", "it's", "", "$HOME", "back\\slash", "new\nline", "a*b?[c]"}
	out, err := exec.Command("sh", "-c", `for w in `+Join(words...)+`; do printf '%s\0' "$w"; done`).Output()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for start, i := 0, 0; i < len(out); i++ {
		if out[i] == 0 {
			got = append(got, string(out[start:i]))
			start = i + 1
		}
	}
	if len(got) != len(words) {
		t.Fatalf("the shell read %q, want %q", got, words)
	}
	for i := range words {
		if got[i] != words[i] {
			t.Errorf("word %d: the shell read %q, want %q", i, got[i], words[i])
		}
	}
}
