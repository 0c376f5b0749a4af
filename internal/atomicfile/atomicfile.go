// Package atomicfile writes a file whole or not at all: to a temporary file
// beside it that is renamed over it only once complete, so that a reader, or
// a run that failed half way, never sees a part of it.
//
// The temporary file's name is unique (os.CreateTemp): two processes writing
// one path at once each rename their own whole file, where a fixed name let
// one rename the other's half-written file or find it gone.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/promrecover/promrecover/internal/dirowner"
)

// CreateError is returned when the temporary file cannot be created, which
// is the path's fault (a missing directory, no permission) and not the
// writer's.
type CreateError struct {
	Path string
	Err  error
}

func (e *CreateError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *CreateError) Unwrap() error { return e.Err }

// Write calls write with stdout for the path "-", otherwise with a
// temporary file that becomes path, with mode perm, once write and Close
// succeed.
func Write(path string, perm os.FileMode, stdout io.Writer, write func(io.Writer) error) error {
	if path == "-" {
		return write(stdout)
	}
	return WriteFile(path, perm, false, write)
}

// WriteFile calls write with a temporary file that becomes path, with mode
// perm, once write and Close succeed. With durable, the file is synced
// before the rename and the directory after it, so that after a crash path
// holds the old content or the new, never an empty file.
func WriteFile(path string, perm os.FileMode, durable bool, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return &CreateError{Path: path, Err: err}
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	err = write(f)
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), perm); err != nil {
		return err
	}
	// A file written as root into a Prometheus data directory (the resume
	// state, a summary) must not be the one file there its owner cannot
	// replace.
	if err := dirowner.ChownFile(f.Name()); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	if durable {
		// The file is in place whatever this says; a directory that cannot
		// be synced (some filesystems refuse) only loses the crash guarantee.
		if d, err := os.Open(filepath.Dir(path)); err == nil {
			_ = d.Sync()
			d.Close()
		}
	}
	return nil
}

// IsTemp says whether name, a file in a directory, is the temporary file of
// a write of base there that did not finish (a crash, kill -9).
func IsTemp(name, base string) bool {
	prefix := "." + base + ".tmp-"
	return len(name) > len(prefix) && strings.HasPrefix(name, prefix)
}
