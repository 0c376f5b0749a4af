package remoteread

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/tsdb/index"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/blockstest"
	"github.com/promrecover/promrecover/internal/seriestest"
)

// Debian's Prometheus 2.42 and a Prometheus 3.x, started on blocks of known
// data, stream them through remote read: every window comes back sample for
// sample, floats, NaN, +Inf, stale markers and integer native histograms
// bit-exact.
func TestPrometheusStreamsEveryWindow(t *testing.T) {
	from, to := t0, t0.Add(6*time.Hour)
	want := testData(from, to, false)
	dir := t.TempDir()
	blockstest.Install(t, dir, want, from, to)
	eachPrometheus(t, dir, func(t *testing.T, url string) { streamsEveryWindow(t, url, want, from, to) })
}

func streamsEveryWindow(t *testing.T, url string, want []extract.Series, from, to time.Time) {
	src := newSource(t, url, Options{})

	got := readUnits(t, src, units(t, from, to, `{__name__=~".+"}`))
	sameOnce(t, want, got)
	if streamed, known := src.Streamed(); !streamed || !known {
		t.Fatalf("Streamed() = %v, %v; Prometheus streams chunks", streamed, known)
	}
	var hist, staleH int
	for _, s := range got {
		hist += len(s.Histograms)
		staleH += seriestest.Stale([]extract.Series{{Histograms: s.Histograms}})
	}
	staleF := seriestest.Stale(got) - staleH
	t.Logf("%d series, %d histograms, %d+%d stale markers, %d bytes", len(got), hist, staleF, staleH, src.Received())
	if hist == 0 || staleF == 0 || staleH == 0 {
		t.Fatalf("the data lacks a kind: %d histograms, %d float and %d histogram stale markers", hist, staleF, staleH)
	}
}

// A block compacted over 6h holds chunks that cross the 2h windows' edges;
// Prometheus re-encodes such chunks cut to the asked range (Mimir does not:
// TestWholeChunksCutAtEdges), and every window reads back exactly its own
// samples.
func TestChunksCrossingWindowEdges(t *testing.T) {
	from, to := t0, t0.Add(6*time.Hour)
	want := testData(from, to, false)
	dir := t.TempDir()
	writeBlock(t, dir, want, 6*time.Hour)
	crossing := chunksAcross(t, dir, 2*time.Hour)
	t.Logf("%d chunks cross a window edge", crossing)
	if crossing == 0 {
		t.Fatal("no chunk crosses a window's edge: the test proves nothing")
	}
	eachPrometheus(t, dir, func(t *testing.T, url string) {
		sameOnce(t, want, readUnits(t, newSource(t, url, Options{}), units(t, from, to, `{__name__=~".+"}`)))
	})
}

// writeBlock writes the series into one block of the given range with
// TSDB's block writer, whose head cuts chunks by their size, not at 2h.
func writeBlock(t *testing.T, dir string, ss []extract.Series, span time.Duration) {
	t.Helper()
	w, err := tsdb.NewBlockWriter(slog.New(slog.DiscardHandler), dir, span.Milliseconds())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	appendAll(t, w.Appender(context.Background()), ss)
	if _, err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// chunksAcross counts the chunks of the blocks in dir that hold samples on
// both sides of a multiple of edge.
func chunksAcross(t *testing.T, dir string, edge time.Duration) int {
	t.Helper()
	ctx := context.Background()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "wal" {
			continue
		}
		b, err := tsdb.OpenBlock(nil, filepath.Join(dir, e.Name()), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		ir, err := b.Index()
		if err != nil {
			t.Fatal(err)
		}
		k, v := index.AllPostingsKey()
		p, err := ir.Postings(ctx, k, v)
		if err != nil {
			t.Fatal(err)
		}
		var (
			lb   labels.ScratchBuilder
			chks []chunks.Meta
		)
		for p.Next() {
			if err := ir.Series(p.At(), &lb, &chks); err != nil {
				t.Fatal(err)
			}
			for _, c := range chks {
				if c.MinTime/edge.Milliseconds() != c.MaxTime/edge.Milliseconds() {
					n++
				}
			}
		}
		ir.Close()
		b.Close()
	}
	return n
}
