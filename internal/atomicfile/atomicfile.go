// Package atomicfile writes a file whole or not at all: to a temporary file
// beside it that is renamed over it only once complete, so that a reader, or
// a run that failed half way, never sees a part of it.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

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
// temporary file that becomes path, mode 0644 and owned as its directory
// is when run as root (see dirowner), once write and Close succeed.
func Write(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "-" {
		return write(stdout)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return &CreateError{Path: path, Err: err}
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	// A summary written as root into a Prometheus data directory must not
	// be the one file there its owner cannot replace.
	if err := dirowner.ChownFile(f.Name()); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
