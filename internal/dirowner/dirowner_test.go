package dirowner

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// As root what is left in a directory gets its owner; as anyone else it
// stays ours, which is the same guarantee: the directory is ours too, or we
// could not have written there.
func TestChownFollowsTheDirectory(t *testing.T) {
	want := os.Getuid()
	if os.Geteuid() == 0 {
		want = 65534
	}
	dir := t.TempDir()
	if err := os.Chown(dir, want, want); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(dir, "block")
	for _, p := range []string{tree, filepath.Join(tree, "chunks")} {
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := []string{filepath.Join(dir, "state.json"), filepath.Join(tree, "chunks", "000001"), filepath.Join(tree, "meta.json")}
	for _, f := range files {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := ChownFile(files[0]); err != nil {
		t.Fatal(err)
	}
	o, err := Of(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.ChownTree(tree); err != nil {
		t.Fatal(err)
	}
	for _, p := range append(files, tree, filepath.Join(tree, "chunks")) {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != want || int(st.Gid) != want {
			t.Errorf("%s belongs to %d:%d, want %d:%d", p, st.Uid, st.Gid, want, want)
		}
	}
	if _, err := Of(filepath.Join(dir, "missing")); os.Geteuid() == 0 && err == nil {
		t.Error("Of(a missing directory) succeeded")
	}
}
