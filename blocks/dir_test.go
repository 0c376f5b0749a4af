package blocks

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/oklog/ulid/v2"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/fstest"
	"github.com/promrecover/promrecover/internal/seriestest"
)

func TestNewSinkRefuses(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, root string) (dir string)
		wantErr []string
	}{
		{"missing", func(t *testing.T, root string) string {
			return filepath.Join(root, "nope")
		}, []string{"no such directory", "create it", "docker volume inspect"}},
		{"a file", func(t *testing.T, root string) string {
			p := filepath.Join(root, "file")
			mustWrite(t, p, "x")
			return p
		}, []string{"is a file, not a directory"}},
		{"under a file", func(t *testing.T, root string) string {
			mustWrite(t, filepath.Join(root, "file"), "x")
			return filepath.Join(root, "file", "data")
		}, []string{"part of the path is a file"}},
		{"unwritable", func(t *testing.T, root string) string {
			fstest.Unwritable(t, root)
			return root
		}, []string{"cannot write there", "run as a user who can write"}},
		{"a stray file", func(t *testing.T, root string) string {
			mustWrite(t, filepath.Join(root, "wal", "00000001"), "w")
			mustWrite(t, filepath.Join(root, "notes.txt"), "x")
			return root
		}, []string{"does not look like a Prometheus data directory", "notes.txt"}},
		{"a stray directory", func(t *testing.T, root string) string {
			mustWrite(t, filepath.Join(root, "photos", "cat.jpg"), "x")
			return root
		}, []string{`photos"`}},
		{"a file named like a block", func(t *testing.T, root string) string {
			mustWrite(t, filepath.Join(root, ulid.Make().String()), "x")
			return root
		}, []string{"does not look like"}},
		{"a tmp dir that is not Prometheus's", func(t *testing.T, root string) string {
			mustWrite(t, filepath.Join(root, "mine.tmp-for-creation", "x"), "x")
			return root
		}, []string{"mine.tmp-for-creation"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := tc.setup(t, root)
			before := listing(t, root)
			s, err := NewSink(dir, nil)
			if err == nil {
				_ = s.Close()
				t.Fatalf("NewSink(%s) accepted it", dir)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q does not name %s", err, dir)
			}
			if after := listing(t, root); !slices.Equal(before, after) {
				t.Errorf("NewSink changed %s:\nbefore %q\nafter  %q", root, before, after)
			}
		})
	}
}

func TestNewSinkAccepts(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		setup      func(t *testing.T, dir string)
		wantSeries []string
	}{
		{"empty", func(t *testing.T, dir string) {}, []string{`{__name__="now"}`}},
		{"a Prometheus data directory", func(t *testing.T, dir string) {
			// A real block, written by an earlier run.
			s := newTestSink(t, dir)
			add(t, s, win(0), "earlier")
			if err := s.Done(ctx, win(0), nil); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, filepath.Join(dir, "wal", "00000003"), "wal segment")
			mustWrite(t, filepath.Join(dir, "wal", "checkpoint.00000002", "00000000"), "checkpoint")
			mustWrite(t, filepath.Join(dir, "chunks_head", "000001"), "head chunks")
			mustWrite(t, filepath.Join(dir, "wbl", "00000000"), "wbl")
			mustWrite(t, filepath.Join(dir, "lock"), "")
			mustWrite(t, filepath.Join(dir, "queries.active"), "[]")
			mustWrite(t, filepath.Join(dir, ulid.Make().String()+".tmp-for-deletion", "index"), "old")
			mustWrite(t, filepath.Join(dir, ulid.Make().String()+".tmp-for-creation", "index"), "half")
			mustWrite(t, filepath.Join(dir, "chunk_snapshot.000003.0000012", "00000000"), "snap")
			if err := os.Mkdir(filepath.Join(dir, "lost+found"), 0o700); err != nil {
				t.Fatal(err)
			}
		}, []string{`{__name__="earlier"}`, `{__name__="now"}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			before := listing(t, dir)
			s := newTestSink(t, dir)
			add(t, s, win(1), "now")
			if err := s.Done(ctx, win(1), nil); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			bs := s.Blocks()
			if len(bs) != 1 {
				t.Fatalf("installed %+v", bs)
			}
			if after := without(listing(t, dir), ".", bs[0].ULID); !slices.Equal(without(before, "."), after) {
				t.Errorf("existing content changed:\nbefore %q\nafter  %q", before, after)
			}
			newest, ok, err := NewestMaxTime(dir)
			if err != nil || !ok || newest != bs[0].MaxTime {
				t.Errorf("NewestMaxTime = %d, %v, %v; want %d", newest, ok, err, bs[0].MaxTime)
			}
			got, err := ReadSeries(dir, math.MinInt64, math.MaxInt64)
			if err != nil {
				t.Fatal(err)
			}
			if n := seriestest.Names(got); !slices.Equal(n, tc.wantSeries) {
				t.Errorf("ReadSeries found %v, want %v", n, tc.wantSeries)
			}
		})
	}
}

// add adds one series named name to w.
func add(t *testing.T, s *Sink, w extract.Window, name string) {
	t.Helper()
	err := s.Add(context.Background(), w, []extract.Series{
		series([]string{"__name__", name}, regular(w.Start, 30_000, 240, func(i int) float64 { return float64(i) })...),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestNewestMaxTimeEmpty(t *testing.T) {
	_, ok, err := NewestMaxTime(t.TempDir())
	if err != nil || ok {
		t.Fatalf("NewestMaxTime(empty) = %v, %v", ok, err)
	}
	if _, _, err := NewestMaxTime(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("NewestMaxTime(missing) succeeded")
	}
}

func TestOwnerFollowsDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root creates files owned by someone else; as another user the blocks are ours and the dir's owner must be us or Prometheus could not have let us write")
	}
	const nobody = 65534
	dir := t.TempDir()
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	s := newTestSink(t, dir)
	w := win(2)
	if err := s.Add(context.Background(), w, []extract.Series{
		series([]string{"__name__", "owned"}, regular(w.Start, 1000, 100, func(int) float64 { return 1 })...),
	}); err != nil {
		t.Fatal(err)
	}
	// A leftover staging area must be removable by Prometheus running as the
	// dir's owner.
	checkOwner(t, s.staging, nobody, false)
	if err := s.Done(context.Background(), w, nil); err != nil {
		t.Fatal(err)
	}
	bs := s.Blocks()
	if len(bs) != 1 {
		t.Fatalf("installed %+v", bs)
	}
	checkOwner(t, bs[0].Dir, nobody, true)
}

func checkOwner(t *testing.T, root string, id uint32, recursive bool) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != id || st.Gid != id {
			t.Errorf("%s belongs to %d:%d, want %d:%d", path, st.Uid, st.Gid, id, id)
		}
		n++
		if !recursive && d.IsDir() && path != root {
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if recursive && n < 5 {
		t.Errorf("%s holds only %d entries", root, n)
	}
}
