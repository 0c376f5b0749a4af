package importer

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "up.json")
	if err := os.WriteFile(path, []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, name, body string
		size             int64
	}{
		{path, path, "12345", 5},
		{"-", "stdin", "from a pipe", 0},
	} {
		in, err := Open(tc.path, strings.NewReader("from a pipe"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(in)
		if in.Name != tc.name || string(b) != tc.body || in.Size != tc.size {
			t.Errorf("Open(%q) = %q, %q, size %d; want %q, %q, %d", tc.path, in.Name, b, in.Size, tc.name, tc.body, tc.size)
		}
		if err := in.Close(); err != nil {
			t.Errorf("Open(%q).Close: %v", tc.path, err)
		}
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing"), nil); !os.IsNotExist(err) {
		t.Errorf("a missing file: %v, want not exist", err)
	}
}
