package importer

import (
	"bytes"
	"context"
	"testing"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
)

// BenchmarkImportOpenMetrics reads the import benchmark's OpenMetrics text
// (gen.DefaultBench, 2,000 series x 960 samples; -short: 500 series) from
// memory, into a sink that only counts (the reading side alone) and into
// TSDB blocks (all of import but the file system reads).
//
//	go test -run '^$' -bench BenchmarkImportOpenMetrics -benchtime 3x ./importer/
func BenchmarkImportOpenMetrics(b *testing.B) {
	cfg := gen.DefaultBench
	if testing.Short() {
		cfg.Series = 500
	}
	var text bytes.Buffer
	if err := gen.WriteOpenMetrics(&text, cfg); err != nil {
		b.Fatal(err)
	}
	samples := float64(cfg.Series * cfg.Samples)
	b.Run("sink=count", func(b *testing.B) {
		b.SetBytes(int64(text.Len()))
		for range b.N {
			res, err := Import(context.Background(), bytes.NewReader(text.Bytes()), Options{}, &countSink{})
			if err != nil {
				b.Fatal(err)
			}
			if _, n := res.Totals(); n != int64(samples) {
				b.Fatalf("%d samples", n)
			}
		}
		b.ReportMetric(samples*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	})
	b.Run("sink=blocks", func(b *testing.B) {
		b.SetBytes(int64(text.Len()))
		for range b.N {
			b.StopTimer()
			sink, err := blocks.NewSink(b.TempDir(), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			res, err := Import(context.Background(), bytes.NewReader(text.Bytes()), Options{}, sink)
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Failed()) > 0 {
				b.Fatal(res.Failed()[0].Err)
			}
			b.StopTimer()
			if err := sink.Close(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		b.ReportMetric(samples*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	})
}

// countSink counts what it is given and writes nothing.
type countSink struct{ samples int64 }

func (c *countSink) Add(_ context.Context, _ extract.Window, series []extract.Series) error {
	for _, s := range series {
		c.samples += int64(len(s.Samples))
	}
	return nil
}
func (c *countSink) Done(context.Context, extract.Window, []extract.Gap) error { return nil }
func (c *countSink) Discard(extract.Window)                                    {}
