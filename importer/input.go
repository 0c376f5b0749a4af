package importer

import (
	"io"
	"os"
)

// Input is a file to import or compare with, opened: a path, or "-" for
// the standard input, which pipes from export straight into import use.
type Input struct {
	Name string // what messages call it: the path, or "stdin"
	io.Reader
	Size  int64 // of a regular file, for progress; 0 when not known
	Close func() error
}

// Open opens the file at path, or stdin for "-".
func Open(path string, stdin io.Reader) (*Input, error) {
	if path == "-" {
		return &Input{Name: "stdin", Reader: stdin, Close: func() error { return nil }}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	in := &Input{Name: path, Reader: f, Close: f.Close}
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		in.Size = st.Size()
	}
	return in, nil
}
