package recovery

import (
	"context"
	"fmt"
	"io"
	"math"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/export"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/importer"
)

// ReadExport reads the series of an export in any format importer reads.
func ReadExport(ctx context.Context, in io.Reader, format importer.Format) ([]extract.Series, error) {
	m := export.NewMatrix()
	res, err := importer.Import(ctx, in, importer.Options{Format: format}, m)
	if err != nil {
		return nil, err
	}
	if f := res.Failed(); len(f) > 0 {
		return nil, f[0].Err
	}
	return m.Series(), nil
}

// Span is the range of the samples of series: from the first to just after
// the last, in epoch ms. Without samples, mint > maxt.
func Span(series []extract.Series) (mint, maxt int64) {
	mint, maxt = math.MaxInt64, math.MinInt64
	for _, s := range series {
		for t := range s.Times() {
			mint, maxt = min(mint, t), max(maxt, t+1)
		}
	}
	return mint, maxt
}

// Comparison is how the blocks of a directory compare with the series of an
// export over a range.
type Comparison struct {
	Want, Got []extract.Series // the export's, clipped to the range, and the blocks'
	extract.Difference
	Err error // extract.Compare's verdict: nil when both hold the same samples
}

// Compare compares the blocks in dir with want over [mint, maxt).
func Compare(dir string, want []extract.Series, mint, maxt int64) (*Comparison, error) {
	if maxt <= mint {
		return nil, fmt.Errorf("the compared range %s..%s is empty", extract.FormatTime(mint), extract.FormatTime(maxt))
	}
	want = extract.Clip(want, mint, maxt)
	got, err := blocks.ReadSeries(dir, mint, maxt)
	if err != nil {
		return nil, fmt.Errorf("reading the blocks in %s: %w", dir, err)
	}
	return &Comparison{Want: want, Got: got, Difference: extract.Diff(want, got), Err: extract.Compare(want, got)}, nil
}
