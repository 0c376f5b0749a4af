package blocks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/promrecover/promrecover/extract"
)

func TestStaleStagingIsRemovedAndLiveStagingRefused(t *testing.T) {
	dir := t.TempDir()
	// A crashed run's staging area: its lock file is there, nobody holds it.
	stale := filepath.Join(dir, ulid.Make().String()+tmpForCreation)
	mustWrite(t, filepath.Join(stale, stagingLock), "")
	mustWrite(t, filepath.Join(stale, "0-7200000", "half-written"), "x")
	// Prometheus's own compaction in progress: no lock file, never touched.
	theirs := filepath.Join(dir, ulid.Make().String()+tmpForCreation)
	mustWrite(t, filepath.Join(theirs, "index"), "x")

	live := newTestSink(t, dir)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the stale staging area is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(theirs, "index")); err != nil {
		t.Fatalf("Prometheus's temporary directory was touched: %v", err)
	}
	// A second run into the same directory while the first one works is
	// refused by the directory's lock, naming the first, and writes nothing.
	before := entries(t, dir)
	_, err := NewSink(dir, nil)
	if want := fmt.Sprintf("another promrecover (pid %d, blocks.test, started ", os.Getpid()); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), LockFileName) {
		t.Fatalf("second sink: %v, want %q", err, want)
	}
	if after := entries(t, dir); !slices.Equal(before, after) {
		t.Fatalf("the refused run changed the directory: %v, then %v", before, after)
	}
	if err := live.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, LockFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the lock file is left after Close: %v", err)
	}
	// The staging area of a run that holds no directory lock (an older
	// promrecover) still keeps a run out.
	older := filepath.Join(dir, ulid.Make().String()+tmpForCreation)
	if err := os.Mkdir(older, 0o777); err != nil {
		t.Fatal(err)
	}
	held, err := lockStaging(older)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSink(dir, nil); err == nil || !strings.Contains(err.Error(), "another promrecover is writing into it (staging area") {
		t.Fatalf("sink beside an older run's staging area: %v", err)
	}
	held.Close()
	second, err := NewSink(dir, nil)
	if err != nil {
		t.Fatalf("after the first run closed: %v", err)
	}
	second.Close()
}

// TestLockOfACrashedRun: a lock file whose holder died (kill -9 leaves it)
// is no lock, and a run that finds it takes it over.
// A run killed while it wrote the resume state leaves the temporary file;
// the next run removes it, and only it.
func TestCrashedStateWriteIsRemoved(t *testing.T) {
	dir := t.TempDir()
	crashed := filepath.Join(dir, "."+StateFileName+".tmp-3094152989")
	mustWrite(t, crashed, `{"half`)
	mustWrite(t, filepath.Join(dir, StateFileName), `{}`)
	newTestSink(t, dir)
	if _, err := os.Stat(crashed); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the crashed write's temporary file is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, StateFileName)); err != nil {
		t.Fatalf("the state itself was touched: %v", err)
	}
}

func TestLockOfACrashedRun(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, LockFileName), `{"pid":1,"started":"2020-01-01T00:00:00Z"}`)
	s, err := NewSink(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, LockFileName))
	if err != nil || !strings.Contains(string(b), fmt.Sprintf(`"pid":%d,`, os.Getpid())) {
		t.Fatalf("lock file %q, %v: not this run's", b, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOnInstallSeesTheBlockBeforeItIsInPlace(t *testing.T) {
	ctx := context.Background()
	w := win(0)
	in := []extract.Series{series([]string{"__name__", "up"}, regular(w.Start, 15000, 10, func(i int) float64 { return 1 })...)}
	gaps := []extract.Gap{{Selector: `{job="x"}`, From: w.Start, To: w.Start + 60000, Reason: "too big"}}
	cases := []struct {
		name    string
		hookErr error
	}{
		{"recorded, then installed", nil},
		{"the record fails: not installed", errors.New("disk full")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := newTestSink(t, dir)
			var seen []Block
			s.OnInstall = func(b Block) error {
				if _, err := os.Stat(b.Dir); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the block is in place before OnInstall returned: %v", err)
				}
				seen = append(seen, b)
				return tc.hookErr
			}
			if err := s.Add(ctx, w, in); err != nil {
				t.Fatal(err)
			}
			err := s.Done(ctx, w, gaps)
			if len(seen) != 1 || seen[0].Samples != 10 || len(seen[0].Gaps) != 1 {
				t.Fatalf("OnInstall saw %+v", seen)
			}
			if tc.hookErr != nil {
				if err == nil || !strings.Contains(err.Error(), "disk full") || len(s.Blocks()) != 0 {
					t.Fatalf("Done = %v, blocks %v", err, s.Blocks())
				}
				if _, err := os.Stat(seen[0].Dir); !errors.Is(err, os.ErrNotExist) {
					t.Fatal("installed although OnInstall refused")
				}
				return
			}
			if err != nil || len(s.Blocks()) != 1 || s.Blocks()[0].Gaps[0] != gaps[0] {
				t.Fatalf("Done = %v, blocks %+v", err, s.Blocks())
			}
		})
	}
}

func TestInstalledFollowsCompaction(t *testing.T) {
	dir := t.TempDir()
	here, compacted, gone := ulid.Make(), ulid.Make(), ulid.Make()
	for _, m := range []tsdb.BlockMeta{
		{ULID: here, Version: 1},
		// Prometheus merged `compacted` into this block and deleted it.
		{ULID: ulid.Make(), Version: 1, Compaction: tsdb.BlockMetaCompaction{Level: 2, Sources: []ulid.ULID{compacted, ulid.Make()}}},
	} {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, filepath.Join(dir, m.ULID.String(), "meta.json"), string(b))
	}
	got, err := Installed(dir, []string{here.String(), compacted.String(), gone.String()})
	if err != nil {
		t.Fatal(err)
	}
	if !got[here.String()] || !got[compacted.String()] || got[gone.String()] {
		t.Fatalf("Installed = %v", got)
	}
}

// TestStagingRemovedMidRun removes the staging area as a Prometheus starting
// on the directory does (it deletes every *.tmp-for-creation directory):
// between two windows, while a window is open, and while its block is being
// written. Every window is still installed whole, from what it was given,
// and a removal that cost a block names the cause.
func TestStagingRemovedMidRun(t *testing.T) {
	one := func(w extract.Window) []extract.Series {
		return []extract.Series{series([]string{"__name__", "up"}, regular(w.Start, 15000, 100, func(i int) float64 { return float64(i) })...)}
	}
	cases := []struct {
		name   string
		run    func(t *testing.T, s *Sink, w extract.Window) // Adds and Dones w
		redone bool                                          // a block was written again
	}{
		{"between two windows", func(t *testing.T, s *Sink, w extract.Window) {
			addDone(t, s, w, one(w), func() {})
		}, false},
		{"while the window is open", func(t *testing.T, s *Sink, w extract.Window) {
			addDone(t, s, w, one(w), func() { mustRemove(t, s.staging) })
		}, false},
		{"while its block is written", func(t *testing.T, s *Sink, w extract.Window) {
			removed := false
			s.beforeVerify = func(*ledger) {
				if !removed {
					removed = true
					mustRemove(t, s.staging)
				}
			}
			addDone(t, s, w, one(w), func() {})
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			dir := t.TempDir()
			s, err := NewSink(dir, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			addDone(t, s, win(0), one(win(0)), func() {})
			mustRemove(t, s.staging)
			tc.run(t, s, win(1))
			if got := len(s.Blocks()); got != 2 {
				t.Fatalf("%d blocks installed, want 2\n%s", got, logs.String())
			}
			got, err := ReadSeries(dir, win(0).Start, win(1).End)
			if err != nil {
				t.Fatal(err)
			}
			want := []extract.Series{series([]string{"__name__", "up"}, append(one(win(0))[0].Samples, one(win(1))[0].Samples...)...)}
			if err := extract.Compare(want, got); err != nil {
				t.Fatalf("the blocks differ from what was added: %v", err)
			}
			if redone := strings.Contains(logs.String(), "Prometheus restarted and removed the staging directory; the windows written then are redone"); redone != tc.redone {
				t.Errorf("redone named: %v, want %v\n%s", redone, tc.redone, logs.String())
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if e := entries(t, dir); len(e) != 2 {
				t.Errorf("left in the directory: %v, want the two blocks", e)
			}
		})
	}
}

// addDone adds series to w, calls between, and installs w.
func addDone(t *testing.T, s *Sink, w extract.Window, in []extract.Series, between func()) {
	t.Helper()
	ctx := context.Background()
	if err := s.Add(ctx, w, in); err != nil {
		t.Fatal(err)
	}
	between()
	if err := s.Done(ctx, w, nil); err != nil {
		t.Fatal(err)
	}
}

func mustRemove(t *testing.T, dir string) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
}
