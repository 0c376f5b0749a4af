package blocks

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
)

// BenchmarkSinkWrite measures the block writer on the import benchmark's
// data (gen.DefaultBench: 2,000 series x 960 samples scraped every 15s
// with jitter, 1.92M samples over three 2h windows): every series' part of
// each window is added, then every window is flushed, verified by reading
// it back, and installed. series_per_add is how many series one Add
// carries: 1 is a recovery unit of one series, 64 what promrecover import's
// batches come to.
//
//	go test -run '^$' -bench BenchmarkSinkWrite -benchtime 5x ./blocks/
func BenchmarkSinkWrite(b *testing.B) {
	windows, parts, total := windowParts(gen.BenchSeries(gen.DefaultBench))
	for _, perAdd := range []int{1, 64} {
		b.Run(fmt.Sprintf("series_per_add=%d", perAdd), func(b *testing.B) {
			runSinkBench(b, windows, parts, perAdd)
			b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// BenchmarkSinkWriteHistograms measures the block writer on native
// histograms, as --via proxy recovers them: 1,000 series of 960 histograms
// scraped every 15s (two 2h windows), written and verified as in
// BenchmarkSinkWrite, 64 series an Add. int is a scrape's integer
// histogram (intHist: 3 to 4 buckets, a bucket appearing mid-chunk, a
// counter reset), float a recording rule's float histogram (floatHist).
//
//	go test -run '^$' -bench BenchmarkSinkWriteHistograms -benchtime 5x ./blocks/
func BenchmarkSinkWriteHistograms(b *testing.B) {
	const nSeries, perSeries = 1_000, 960
	for _, float := range []bool{false, true} {
		name := map[bool]string{false: "int", true: "float"}[float]
		b.Run(name, func(b *testing.B) {
			parts := map[extract.Window][]extract.Series{}
			windows := []extract.Window{win(0), win(1)}
			perWindow := int(extract.WindowMs / 15_000)
			for i := range nSeries {
				lbls := labels.FromStrings("__name__", "rpc_duration_seconds", "instance", fmt.Sprintf("host-%04d", i))
				for k, w := range windows {
					hs := hists(windows[0].Start, 15_000, k*perWindow, min((k+1)*perWindow, perSeries), float)
					parts[w] = append(parts[w], extract.Series{Labels: lbls, Histograms: hs})
				}
			}
			runSinkBench(b, windows, parts, 64)
			b.ReportMetric(float64(nSeries*perSeries)*float64(b.N)/b.Elapsed().Seconds(), "histograms/s")
		})
	}
}

// runSinkBench adds every window's parts to a new Sink, perAdd series an
// Add, then flushes, verifies and installs every window, b.N times; only
// the writing is timed, not what the caller did to make parts. It reports
// the bytes of the blocks (block_bytes), which the chunk segments' size
// could change.
func runSinkBench(b *testing.B, windows []extract.Window, parts map[extract.Window][]extract.Series, perAdd int) {
	ctx := context.Background()
	var size int64
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s, err := NewSink(b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for _, w := range windows {
			ss := parts[w]
			for i := 0; i < len(ss); i += perAdd {
				if err := s.Add(ctx, w, ss[i:min(i+perAdd, len(ss))]); err != nil {
					b.Fatal(err)
				}
			}
		}
		for _, w := range windows {
			if err := s.Done(ctx, w, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		got := s.Blocks()
		if len(got) != len(windows) {
			b.Fatalf("%d blocks for %d windows", len(got), len(windows))
		}
		size = 0
		for _, blk := range got {
			size += blk.Size
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(size), "block_bytes")
}

// windowParts cuts series into their windows, as a recovery's units or an
// import's router do.
func windowParts(series []extract.Series) ([]extract.Window, map[extract.Window][]extract.Series, int64) {
	parts := map[extract.Window][]extract.Series{}
	var windows []extract.Window
	var total int64
	for _, s := range series {
		for i := 0; i < len(s.Samples); {
			start := s.Samples[i].T / extract.WindowMs * extract.WindowMs
			w := extract.Window{Start: start, End: start + extract.WindowMs}
			j := i
			for j < len(s.Samples) && s.Samples[j].T < w.End {
				j++
			}
			if _, ok := parts[w]; !ok {
				windows = append(windows, w)
			}
			parts[w] = append(parts[w], extract.Series{Labels: s.Labels, Samples: s.Samples[i:j]})
			total += int64(j - i)
			i = j
		}
	}
	return windows, parts, total
}

// BenchmarkPresent measures what reading the output directory costs a
// recovery: 24h of 1,000 series scraped every 15s (5.76M samples, twelve
// 2h windows), 64 series an Add, through Present into a Sink. empty_out is
// a first recovery (no block to read: everything is written, flushed,
// verified and installed); full_out the same recovery run again into the
// directory the first one filled (every series of every window looked up
// and read back from its block, and nothing written).
//
//	go test -run '^$' -bench BenchmarkPresent -benchtime 3x ./blocks/
func BenchmarkPresent(b *testing.B) {
	start := time.Date(2025, 8, 3, 0, 0, 0, 0, time.UTC)
	windows, parts, total := windowParts(gen.BenchSeries(gen.Bench{Series: 1000, Samples: 5760, Seed: 1, Start: start}))
	full := b.TempDir()
	if held := presentRun(b, full, windows, parts); held.Samples != 0 {
		b.Fatalf("an empty directory held %d samples", held.Samples)
	}
	for _, tc := range []struct {
		name string
		dir  func() string
	}{{"empty_out", b.TempDir}, {"full_out", func() string { return full }}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				dir := tc.dir()
				b.StartTimer()
				held := presentRun(b, dir, windows, parts)
				if tc.name == "full_out" && held.Samples != total {
					b.Fatalf("the full directory held %d of %d samples", held.Samples, total)
				}
			}
			b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// presentRun feeds every window's parts through a Present over dir into a
// Sink installing there, and says what dir held.
func presentRun(b *testing.B, dir string, windows []extract.Window, parts map[extract.Window][]extract.Series) Held {
	ctx := context.Background()
	s, err := NewSink(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	p, err := OpenPresent(dir, windows[0].Start, windows[len(windows)-1].End, s, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	for _, w := range windows {
		ss := parts[w]
		for i := 0; i < len(ss); i += 64 {
			if err := p.Add(ctx, w, ss[i:min(i+64, len(ss))]); err != nil {
				b.Fatal(err)
			}
		}
		if err := p.Done(ctx, w, nil); err != nil {
			b.Fatal(err)
		}
	}
	return p.Held()
}
