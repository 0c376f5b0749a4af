package blocks

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// keep is a sink that keeps copies of what it gets, by window.
type keep struct {
	mu   sync.Mutex
	got  map[extract.Window][]extract.Series
	done []extract.Window
}

func (k *keep) Add(_ context.Context, w extract.Window, series []extract.Series) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, s := range series {
		k.got[w] = append(k.got[w], extract.Series{Labels: s.Labels, Samples: slices.Clone(s.Samples), Histograms: slices.Clone(s.Histograms)})
	}
	return nil
}

func (k *keep) Done(_ context.Context, w extract.Window, _ []extract.Gap) error {
	k.done = append(k.done, w)
	return nil
}

func (k *keep) Discard(extract.Window) {}

// installSeries writes series into a block of w in dir and returns its ULID.
func installSeries(t *testing.T, dir string, w extract.Window, series ...extract.Series) string {
	t.Helper()
	s := newTestSink(t, dir)
	if err := s.Add(context.Background(), w, series); err != nil {
		t.Fatal(err)
	}
	if err := s.Done(context.Background(), w, nil); err != nil {
		t.Fatal(err)
	}
	b := s.Blocks()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return b[0].ULID
}

// TestPresentPassesOnOnlyWhatTheBlocksLack: samples of both kinds, stale
// markers included, that the blocks hold are left out; those they hold with
// another value too, counted and warned of; a window held whole is handed to
// OnWhole with the block that held it.
func TestPresentPassesOnOnlyWhatTheBlocksLack(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, other := win(1), win(2)
	up := []string{"__name__", "up", "job", "api"}
	upMore := []string{"__name__", "up", "job", "api", "instance", "a"}
	upB := []string{"__name__", "up", "job", "api", "instance", "b"} // matched by up's matchers too
	hist := []string{"__name__", "lat", "job", "api"}
	floats := regular(w.Start, 15_000, 100, func(i int) float64 { return float64(i) })
	floats[99].V = stale
	staleHist := extract.HistogramSample{T: w.Start + 7_000_000, H: &histogram.Histogram{Sum: stale}}
	id := installSeries(t, dir, w,
		series(up, floats[:60]...),
		series(upB, regular(w.Start, 15_000, 100, func(int) float64 { return 7 })...),
		extract.Series{Labels: labels.FromStrings(hist...), Histograms: append(hists(w.Start, 30_000, 0, 50, false), staleHist)})
	// Only the other window's block is outside; it must not count.
	installSeries(t, dir, other, series(upMore, regular(other.Start, 15_000, 10, func(i int) float64 { return 1 })...))

	var log bytes.Buffer
	k := &keep{got: map[extract.Window][]extract.Series{}}
	p, err := OpenPresent(dir, w.Start, w.End, k, slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if len(p.blocks) != 1 {
		t.Fatalf("%d blocks open, want only the one overlapping the range", len(p.blocks))
	}
	var whole []Block
	p.OnWhole = func(b Block) error { whole = append(whole, b); return nil }

	changed := slices.Clone(floats)
	changed[10].V = -1 // held with another value
	fetched := []extract.Series{
		series(up, changed...),
		series(upMore, floats[:5]...), // not in the block: all new
		{Labels: labels.FromStrings(hist...), Histograms: append(hists(w.Start, 30_000, 0, 60, false), staleHist)},
	}
	if err := p.Add(ctx, w, fetched); err != nil {
		t.Fatal(err)
	}
	if err := p.Done(ctx, w, nil); err != nil {
		t.Fatal(err)
	}
	want := []extract.Series{
		series(up, floats[60:]...),
		series(upMore, floats[:5]...),
		{Labels: labels.FromStrings(hist...), Histograms: hists(w.Start, 30_000, 50, 60, false)},
	}
	if err := extract.Compare(want, k.got[w]); err != nil {
		t.Errorf("passed on: %v", err)
	}
	if h := p.Held(); h != (Held{Samples: 59 + 51, Conflicts: 1}) {
		t.Errorf("held %+v", h)
	}
	if h := p.HeldIn(w); h != (Held{Samples: 59 + 51, Conflicts: 1}) {
		t.Errorf("held in %s: %+v", w, h)
	}
	if h := p.HeldIn(other); h != (Held{}) {
		t.Errorf("held in %s, which got nothing: %+v", other, h)
	}
	if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "samples=1") {
		t.Errorf("no warning of the sample held with another value:\n%s", log.String())
	}
	if len(whole) != 0 {
		t.Errorf("OnWhole called for a window that had samples to write: %+v", whole)
	}

	// Again, now that nothing is missing: nothing passes, OnWhole records
	// the window under the block that holds it.
	w2 := extract.Window{Start: w.Start, End: w.End}
	if err := p.Add(ctx, w2, []extract.Series{series(up, floats[:60]...), series(up, floats[:30]...)}); err != nil {
		t.Fatal(err)
	}
	if err := p.Done(ctx, w2, []extract.Gap{{Selector: "x"}}); err != nil {
		t.Fatal(err)
	}
	if len(whole) != 1 || whole[0].ULID != id || whole[0].Window != w || whole[0].Samples != 90 || whole[0].Series != 2 || len(whole[0].Gaps) != 1 {
		t.Errorf("OnWhole got %+v, want the window under block %s", whole, id)
	}
	if h := p.Held(); h.Windows != 1 || h.Samples != 110+90 {
		t.Errorf("held %+v", h)
	}
	if h := p.HeldIn(w2); h != (Held{Samples: 90, Windows: 1}) {
		t.Errorf("held in %s: %+v", w2, h)
	}

	// A window discarded counts for nothing.
	if err := p.Add(ctx, w, []extract.Series{series(up, floats[:60]...)}); err != nil {
		t.Fatal(err)
	}
	p.Discard(w)
	if h := p.Held(); h.Windows != 1 || h.Samples != 200 {
		t.Errorf("a discarded window counted: %+v", h)
	}
}

// TestPresentInAnEmptyDirectory passes everything on.
func TestPresentInAnEmptyDirectory(t *testing.T) {
	k := &keep{got: map[extract.Window][]extract.Series{}}
	p, err := OpenPresent(t.TempDir(), win(0).Start, win(3).End, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := []extract.Series{series([]string{"__name__", "up"}, regular(win(0).Start, 1000, 10, func(int) float64 { return 1 })...)}
	if err := p.Add(context.Background(), win(0), in); err != nil {
		t.Fatal(err)
	}
	if err := p.Done(context.Background(), win(0), nil); err != nil {
		t.Fatal(err)
	}
	if err := extract.Compare(in, k.got[win(0)]); err != nil || p.Held() != (Held{}) {
		t.Errorf("%v, held %+v", err, p.Held())
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}
