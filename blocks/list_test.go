package blocks

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/promrecover/promrecover/extract"
)

func TestListAndOverlaps(t *testing.T) {
	dir := t.TempDir()
	write := func(w extract.Window, n int) {
		s := newTestSink(t, dir)
		in := []extract.Series{series([]string{"__name__", "a"}, regular(w.Start, 15_000, n, func(i int) float64 { return float64(i) })...)}
		if err := s.Add(context.Background(), w, in); err != nil {
			t.Fatal(err)
		}
		if err := s.Done(context.Background(), w, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	write(win(1), 100)
	write(win(0), 480)
	write(win(1), 10) // a second block over the same window
	write(win(3), 1)
	before := listing(t, dir)

	list, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 4 {
		t.Fatalf("%d blocks, want 4: %+v", len(list), list)
	}
	if list[0].MinTime != win(0).Start || list[0].MaxTime != win(0).Start+479*15_000+1 || list[0].Samples != 480 || list[0].Series != 1 || list[0].Chunks == 0 || list[0].Size == 0 || list[0].Level != 1 {
		t.Errorf("first block: %+v", list[0])
	}
	for i := 1; i < len(list); i++ {
		if list[i].MinTime < list[i-1].MinTime {
			t.Errorf("not sorted by min time: %+v", list)
		}
	}
	ov := Overlaps(list)
	if len(ov) != 1 || ov[0].MinTime != win(1).Start || ov[0].MaxTime != win(1).Start+9*15_000+1 {
		t.Fatalf("overlaps: %+v", ov)
	}
	if a, b := ov[0].A.ULID, ov[0].B.ULID; a == b || (a != list[1].ULID && a != list[2].ULID) || (b != list[1].ULID && b != list[2].ULID) {
		t.Errorf("overlap names %s and %s, want the two blocks of window 1", a, b)
	}
	if after := listing(t, dir); len(after) != len(before) {
		t.Errorf("List changed the directory:\n%v\n%v", before, after)
	}
	// Blocks that only touch do not overlap.
	touching := []BlockInfo{{ULID: "a", MinTime: 0, MaxTime: 10}, {ULID: "b", MinTime: 10, MaxTime: 20}, {ULID: "c", MinTime: 5, MaxTime: 5}}
	if ov := Overlaps(touching); len(ov) != 0 {
		t.Errorf("touching blocks overlap: %+v", ov)
	}
	three := []BlockInfo{{ULID: "c", MinTime: 15, MaxTime: 30}, {ULID: "a", MinTime: 0, MaxTime: 20}, {ULID: "b", MinTime: 10, MaxTime: 40}}
	if ov := Overlaps(three); len(ov) != 3 || ov[0].A.ULID != "a" || ov[0].B.ULID != "b" || ov[0].MinTime != 10 || ov[0].MaxTime != 20 || ov[2].A.ULID != "b" || ov[2].MinTime != 15 || ov[2].MaxTime != 30 {
		t.Errorf("three blocks: %+v", ov)
	}
}

func TestListEmptyAndMissing(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "01JA0000000000000000000000"), 0o755); err != nil { // no meta.json
		t.Fatal(err)
	}
	if list, err := List(dir); err != nil || len(list) != 0 {
		t.Errorf("empty: %v, %v", list, err)
	}
	if _, err := List(filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}
