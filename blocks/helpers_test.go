package blocks

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// base is an aligned window start in 2023, so timestamps look like real ones.
var base = (int64(1_700_000_000_000) / extract.WindowMs) * extract.WindowMs

func win(i int64) extract.Window {
	return extract.Window{Start: base + i*extract.WindowMs, End: base + (i+1)*extract.WindowMs}
}

func series(lbls []string, samples ...extract.Sample) extract.Series {
	return extract.Series{Labels: labels.FromStrings(lbls...), Samples: samples}
}

// regular returns n samples from start, step ms apart, values from f.
func regular(start, step int64, n int, f func(i int) float64) []extract.Sample {
	out := make([]extract.Sample, n)
	for i := range out {
		out[i] = extract.Sample{T: start + int64(i)*step, V: f(i)}
	}
	return out
}

func newTestSink(t *testing.T, dir string) *Sink {
	t.Helper()
	s, err := NewSink(dir, nil)
	if err != nil {
		t.Fatalf("NewSink(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func sortSeries(ss []extract.Series) []extract.Series {
	out := slices.Clone(ss)
	slices.SortStableFunc(out, func(a, b extract.Series) int { return labels.Compare(a.Labels, b.Labels) })
	return out
}

// listing describes everything under dir (names, modes, sizes, contents of
// small files, owners) so a test can tell whether anything changed.
func listing(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		line := fmt.Sprintf("%s %s %d %s", rel, fi.Mode(), fi.Size(), fi.ModTime())
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			line += fmt.Sprintf(" %d:%d", st.Uid, st.Gid)
		}
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			line += " " + string(b)
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// entries lists dir's top level names.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// without drops the lines for paths under any of the given top level names.
func without(lines []string, tops ...string) []string {
	var out []string
	for _, l := range lines {
		keep := true
		for _, top := range tops {
			if l == top || strings.HasPrefix(l, top+" ") || strings.HasPrefix(l, top+string(filepath.Separator)) {
				keep = false
			}
		}
		if keep {
			out = append(out, l)
		}
	}
	return out
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// stagedWindows lists what the staging area holds besides its lock.
func stagedWindows(t *testing.T, s *Sink) []string {
	t.Helper()
	var out []string
	for _, e := range entries(t, s.staging) {
		if e != stagingLock {
			out = append(out, e)
		}
	}
	return out
}
