package atomicfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	errWrite := errors.New("disk on fire")
	cases := []struct {
		name    string
		path    string // under a fresh directory holding "old" with "before"
		write   func(io.Writer) error
		stdout  string
		file    string // what path holds afterwards; "" for nothing
		wantErr string
		create  bool // a CreateError
	}{
		{name: "stdout", path: "-", write: say("hello"), stdout: "hello"},
		{name: "a new file", path: "new", write: say("hello"), file: "hello"},
		{name: "over an old file", path: "old", write: say("after"), file: "after"},
		{name: "a failed write leaves the old file", path: "old", write: func(w io.Writer) error { io.WriteString(w, "half"); return errWrite },
			file: "before", wantErr: "writing DIR/old: disk on fire"},
		{name: "a failed write leaves no new file", path: "new", write: func(io.Writer) error { return errWrite }, wantErr: "writing DIR/new: disk on fire"},
		{name: "a missing directory", path: "missing/new", write: say("hello"), wantErr: "DIR/missing/new: open DIR/missing/.new.tmp-", create: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "old"), []byte("before"), 0o600); err != nil {
				t.Fatal(err)
			}
			path := tc.path
			if path != "-" {
				path = filepath.Join(dir, path)
			}
			var stdout bytes.Buffer
			err := Write(path, 0o644, &stdout, tc.write)
			switch got := strings.ReplaceAll(errString(err), dir, "DIR"); {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case !strings.HasPrefix(got, tc.wantErr):
				t.Fatalf("error %q, want %q...", got, tc.wantErr)
			}
			var ce *CreateError
			if errors.As(err, &ce) != tc.create {
				t.Errorf("a CreateError: %v, want %v", !tc.create, tc.create)
			}
			if !errors.Is(err, errWrite) && tc.wantErr != "" && !tc.create {
				t.Errorf("%v does not wrap the writer's error", err)
			}
			if stdout.String() != tc.stdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tc.stdout)
			}
			if path == "-" {
				return
			}
			b, err := os.ReadFile(path)
			switch {
			case tc.file == "" && !os.IsNotExist(err):
				t.Errorf("%s exists (%v)", tc.path, err)
			case tc.file != "" && string(b) != tc.file:
				t.Errorf("%s holds %q (%v), want %q", tc.path, b, err, tc.file)
			}
			if fi, err := os.Stat(path); err == nil && tc.wantErr == "" && fi.Mode().Perm() != 0o644 {
				t.Errorf("mode %v, want 0644", fi.Mode().Perm())
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("the temporary file %s is left", e.Name())
				}
			}
		})
	}
}

func say(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
