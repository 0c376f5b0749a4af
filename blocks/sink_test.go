package blocks

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/seriestest"
)

// roundTripUnits are TestRoundTrip's units: two a window, as two selectors
// would deliver them, with special values, a series with more than
// commitEvery samples, an empty one, and one a stale marker ends.
func roundTripUnits(w0, w1 extract.Window) map[extract.Window][][]extract.Series {
	specials := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Float64frombits(value.StaleNaN), math.Copysign(0, -1), 0, -1.5e300, 4.9e-324}
	return map[extract.Window][][]extract.Series{
		w0: {
			{
				series([]string{"__name__", "up", "job", "node"}, regular(w0.Start, 15_000, 480, func(i int) float64 { return float64(i % 2) })...),
				series([]string{"__name__", "odd", "kind", "specials"},
					extract.Sample{T: w0.Start, V: specials[0]},
					extract.Sample{T: w0.Start + 1, V: specials[1]},
					extract.Sample{T: w0.Start + 7_777, V: specials[2]},
					extract.Sample{T: w0.Start + 60_000, V: specials[3]},
					extract.Sample{T: w0.Start + 60_001, V: specials[4]},
					extract.Sample{T: w0.Start + 3_600_000, V: specials[5]},
					extract.Sample{T: w0.End - 2, V: specials[6]},
					extract.Sample{T: w0.End - 1, V: specials[7]},
				),
			},
			{
				// More than commitEvery samples: exercises the mid-series commit.
				series([]string{"__name__", "busy", "job", "app"}, regular(w0.Start+3, 1_000, 7_100, func(i int) float64 { return float64(i) * 0.1 })...),
				series([]string{"__name__", "no_samples"}),
				series([]string{"__name__", "sparse", "empty", ""}, extract.Sample{T: w0.Start + 123, V: 1}),
			},
		},
		w1: {
			{
				series([]string{"__name__", "up", "job", "node"}, regular(w1.Start, 15_000, 480, func(i int) float64 { return 1 })...),
			},
			{
				series([]string{"__name__", "stale", "job", "gone"},
					extract.Sample{T: w1.Start + 999, V: 3},
					extract.Sample{T: w1.Start + 1_000, V: math.Float64frombits(value.StaleNaN)},
				),
			},
		},
	}
}

// checkBlocks checks that the sink's blocks are want, each whole on disk
// under dir.
func checkBlocks(t *testing.T, dir string, got, want []Block) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("Blocks() = %+v, want %d blocks", got, len(want))
	}
	for i, b := range got {
		w := want[i]
		if !isULID(b.ULID) || b.Dir != filepath.Join(dir, b.ULID) {
			t.Errorf("block %d: ULID %q dir %q", i, b.ULID, b.Dir)
		}
		if size, err := dirSize(b.Dir); err != nil || b.Size != size || b.Chunks == 0 {
			t.Errorf("block %d: size %d chunks %d, want the %d bytes on disk (%v) and some chunks", i, b.Size, b.Chunks, size, err)
		}
		w.ULID, w.Dir, w.Chunks, w.Size = b.ULID, b.Dir, b.Chunks, b.Size
		if !reflect.DeepEqual(b, w) {
			t.Errorf("block %d = %+v, want %+v", i, b, w)
		}
		for _, f := range []string{"meta.json", "index", "chunks/000001", "tombstones"} {
			if _, err := os.Stat(filepath.Join(b.Dir, f)); err != nil {
				t.Errorf("block %s: %v", b.ULID, err)
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	w0, w1 := win(0), win(1)
	units := roundTripUnits(w0, w1)

	dir := t.TempDir()
	s := newTestSink(t, dir)
	for _, w := range []extract.Window{w0, w1} {
		var wg sync.WaitGroup
		errs := make([]error, len(units[w]))
		for i, u := range units[w] {
			wg.Go(func() { errs[i] = s.Add(ctx, w, u) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("Add %s: %v", w, err)
		}
		if err := s.Done(ctx, w, nil); err != nil {
			t.Fatalf("Done %s: %v", w, err)
		}
	}

	got := s.Blocks()
	want := []Block{
		{Window: w0, MinTime: w0.Start, MaxTime: w0.End, Series: 4, Samples: 480 + 8 + 7_100 + 1, Stale: 1},
		{Window: w1, MinTime: w1.Start, MaxTime: w1.Start + (479 * 15_000) + 1, Series: 2, Samples: 480 + 2, Stale: 1},
	}
	checkBlocks(t, dir, got, want)

	// What went in, with the empty label dropped as Prometheus drops it.
	var all []extract.Series
	for _, w := range []extract.Window{w0, w1} {
		for _, u := range units[w] {
			for _, sr := range u {
				if len(sr.Samples) > 0 {
					all = append(all, extract.Series{Labels: sr.Labels.WithoutEmpty(), Samples: sr.Samples})
				}
			}
		}
	}
	// The same series in two windows reads back as one.
	var merged []extract.Series
	for _, sr := range sortSeries(all) {
		if n := len(merged); n > 0 && merged[n-1].Labels.Hash() == sr.Labels.Hash() {
			merged[n-1].Samples = append(slices.Clone(merged[n-1].Samples), sr.Samples...)
			continue
		}
		merged = append(merged, sr)
	}
	read, err := ReadSeries(dir, w0.Start, w1.End)
	if err != nil {
		t.Fatal(err)
	}
	seriestest.SameInOrder(t, merged, read)

	// Only w1, through its bounds.
	read, err = ReadSeries(dir, w1.Start, w1.End)
	if err != nil {
		t.Fatal(err)
	}
	seriestest.SameInOrder(t, sortSeries(slices.Concat(units[w1]...)), read)

	// Prometheus's own read-only opener agrees on what the blocks hold.
	db, err := tsdb.OpenDBReadOnly(dir, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	brs, err := db.Blocks()
	if err != nil {
		t.Fatal(err)
	}
	if len(brs) != 2 || brs[0].Meta().Stats.NumSamples != want[0].Samples || brs[1].Meta().Stats.NumSeries != want[1].Series {
		t.Errorf("OpenDBReadOnly sees %d blocks", len(brs))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	newest, ok, err := NewestMaxTime(dir)
	if err != nil || !ok || newest != want[1].MaxTime {
		t.Errorf("NewestMaxTime = %d, %v, %v; want %d", newest, ok, err, want[1].MaxTime)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wantEntries := []string{got[0].ULID, got[1].ULID}
	slices.Sort(wantEntries)
	if e := entries(t, dir); !slices.Equal(e, wantEntries) {
		t.Errorf("dir holds %v after Close, want only the blocks %v", e, wantEntries)
	}
}

func TestRepeatedSeries(t *testing.T) {
	ctx := context.Background()
	w := win(3)
	a := series([]string{"__name__", "a"}, regular(w.Start, 10_000, 100, func(i int) float64 { return float64(i) })...)
	b := series([]string{"__name__", "b"}, regular(w.Start, 10_000, 10, func(i int) float64 { return math.NaN() })...)
	aOther := series([]string{"__name__", "a"}, regular(w.Start, 10_000, 100, func(i int) float64 { return float64(i) + 1 })...)
	aShort := series([]string{"__name__", "a"}, regular(w.Start, 10_000, 99, func(i int) float64 { return float64(i) })...)
	stale := math.Float64frombits(value.StaleNaN)
	bStale := series([]string{"__name__", "b"}, regular(w.Start, 10_000, 10, func(i int) float64 { return stale })...)

	tests := []struct {
		name      string
		units     [][]extract.Series
		wantErr   string // from the Add of the last unit
		wantDups  uint64
		wantCount uint64 // samples in the block
		wantStale uint64 // stale markers among them
	}{
		{name: "identical in two units", units: [][]extract.Series{{a, b}, {a}}, wantDups: 1, wantCount: 110},
		{name: "identical in one unit", units: [][]extract.Series{{a, b, a, b}}, wantDups: 2, wantCount: 110},
		{name: "stale markers, counted once", units: [][]extract.Series{{a, bStale}, {bStale}}, wantDups: 1, wantCount: 110, wantStale: 10},
		{name: "different values", units: [][]extract.Series{{a, b}, {aOther}}, wantErr: `series {__name__="a"} arrived twice with different samples`},
		{name: "fewer samples", units: [][]extract.Series{{a}, {b, aShort}}, wantErr: `series {__name__="a"} arrived twice`},
		{name: "NaN then stale marker", units: [][]extract.Series{{b}, {bStale}}, wantErr: `series {__name__="b"} arrived twice`},
		{name: "different in one unit", units: [][]extract.Series{{aOther, b, a}}, wantErr: `series {__name__="a"} arrived twice`},
	}
	for _, tc := range tests {
		for _, end := range []string{"Done", "Discard"} {
			t.Run(tc.name+"/"+end, func(t *testing.T) {
				dir := t.TempDir()
				s := newTestSink(t, dir)
				var err error
				for _, u := range tc.units {
					err = s.Add(ctx, w, u)
				}
				if tc.wantErr == "" && err != nil {
					t.Fatalf("Add: %v", err)
				}
				if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
					t.Fatalf("Add: error %v, want one containing %q", err, tc.wantErr)
				}
				if end == "Discard" {
					s.Discard(w)
				} else {
					err = s.Done(ctx, w, nil)
					if (err != nil) != (tc.wantErr != "") {
						t.Fatalf("Done: %v", err)
					}
				}
				bs := s.Blocks()
				if tc.wantErr != "" || end == "Discard" {
					if len(bs) != 0 {
						t.Fatalf("installed %+v", bs)
					}
				} else {
					if len(bs) != 1 || bs[0].Samples != tc.wantCount || bs[0].Stale != tc.wantStale || bs[0].Duplicates != tc.wantDups || s.Duplicates() != tc.wantDups {
						t.Fatalf("blocks %+v, duplicates %d; want one with %d samples (%d stale markers) and %d duplicates", bs, s.Duplicates(), tc.wantCount, tc.wantStale, tc.wantDups)
					}
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if e := entries(t, dir); len(e) != len(bs) {
					t.Errorf("dir holds %v, want only %d blocks", e, len(bs))
				}
			})
		}
	}
}

func TestWindowLifecycle(t *testing.T) {
	ctx := context.Background()
	w := win(5)
	one := []extract.Series{series([]string{"__name__", "x"}, extract.Sample{T: w.Start + 5, V: 1})}
	tests := []struct {
		name string
		run  func(t *testing.T, s *Sink)
	}{
		{"discard after adds leaves nothing and closes the window", func(t *testing.T, s *Sink) {
			if err := s.Add(ctx, w, one); err != nil {
				t.Fatal(err)
			}
			if e := stagedWindows(t, s); len(e) != 1 {
				t.Fatalf("staging holds %v while the window is open", e)
			}
			s.Discard(w)
			if e := stagedWindows(t, s); len(e) != 0 {
				t.Fatalf("staging holds %v after Discard", e)
			}
			if err := s.Add(ctx, w, one); !errors.Is(err, ErrWindowClosed) {
				t.Fatalf("Add after Discard: %v", err)
			}
			if err := s.Done(ctx, w, nil); !errors.Is(err, ErrWindowClosed) {
				t.Fatalf("Done after Discard: %v", err)
			}
		}},
		{"discard of a window never added", func(t *testing.T, s *Sink) {
			s.Discard(w)
			if err := s.Add(ctx, w, one); !errors.Is(err, ErrWindowClosed) {
				t.Fatalf("Add after Discard: %v", err)
			}
		}},
		{"done without adds", func(t *testing.T, s *Sink) {
			if err := s.Done(ctx, w, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"done with series but no samples", func(t *testing.T, s *Sink) {
			if err := s.Add(ctx, w, []extract.Series{series([]string{"__name__", "x"})}); err != nil {
				t.Fatal(err)
			}
			if err := s.Add(ctx, w, nil); err != nil {
				t.Fatal(err)
			}
			if err := s.Done(ctx, w, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"add after done", func(t *testing.T, s *Sink) {
			if err := s.Done(ctx, w, nil); err != nil {
				t.Fatal(err)
			}
			if err := s.Add(ctx, w, one); !errors.Is(err, ErrWindowClosed) {
				t.Fatalf("Add after Done: %v", err)
			}
		}},
		{"close with a window open", func(t *testing.T, s *Sink) {
			if err := s.Add(ctx, w, one); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.Add(ctx, w, one); err == nil {
				t.Fatal("Add after Close succeeded")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := newTestSink(t, dir)
			tc.run(t, s)
			if bs := s.Blocks(); len(bs) != 0 {
				t.Fatalf("installed %+v", bs)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if e := entries(t, dir); len(e) != 0 {
				t.Fatalf("dir holds %v", e)
			}
		})
	}
}

func TestAddRejects(t *testing.T) {
	ctx := context.Background()
	w := win(7)
	tests := []struct {
		name    string
		w       extract.Window
		series  extract.Series
		wantErr string
	}{
		{"unaligned window", extract.Window{Start: w.Start + 1, End: w.End + 1}, series([]string{"a", "b"}, extract.Sample{T: w.Start + 2}), "aligned"},
		{"long window", extract.Window{Start: w.Start, End: w.End + extract.WindowMs}, series([]string{"a", "b"}, extract.Sample{T: w.Start}), "aligned"},
		{"before the window", w, series([]string{"a", "b"}, extract.Sample{T: w.Start - 1}), `series {a="b"}: sample at`},
		{"at the window's end", w, series([]string{"a", "b"}, extract.Sample{T: w.End}), "outside the window"},
		{"unsorted", w, series([]string{"a", "b"}, extract.Sample{T: w.Start + 2}, extract.Sample{T: w.Start + 1}), "sorted"},
		{"repeated timestamp", w, series([]string{"a", "b"}, extract.Sample{T: w.Start + 2}, extract.Sample{T: w.Start + 2}), "sorted"},
		{"no labels", w, series([]string{"a", ""}, extract.Sample{T: w.Start}), "no labels"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := newTestSink(t, dir)
			good := series([]string{"__name__", "good"}, extract.Sample{T: w.Start, V: 1})
			err := s.Add(ctx, tc.w, []extract.Series{good, tc.series})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Add: %v, want an error containing %q", err, tc.wantErr)
			}
			// The window lost a unit: it must not be installed.
			if err := s.Done(ctx, tc.w, nil); err == nil && tc.w == w {
				t.Fatal("Done installed a window with a rejected unit")
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if e := entries(t, dir); len(e) != 0 {
				t.Fatalf("dir holds %v", e)
			}
		})
	}
}
