package extract

import (
	"context"

	"github.com/prometheus/prometheus/model/labels"
)

// Counter is a Source that can also evaluate a PromQL expression whose
// answer is an instant vector, which is how package extract/crosscheck asks
// the source how many samples each series of a unit holds. The expressions
// pin their own times with @, so at only says when to evaluate them (a
// source may need a time in range for its limits). Each series of the
// answer goes to add with its value; a series may come twice (a retried
// request).
type Counter interface {
	Vector(ctx context.Context, expr string, at int64, add func(labels.Labels, float64)) error
}

// VectorOf is the add of a one-step query whose series stand for an
// instant vector's: each series' last value goes to add, for a Counter
// that asks its vector as a query of one step. A series whose value is a
// native histogram goes with its count.
func VectorOf(add func(labels.Labels, float64)) func([]Series) error {
	return func(ss []Series) error {
		for _, s := range ss {
			switch n, h := len(s.Samples), len(s.Histograms); {
			case n > 0:
				add(s.Labels, s.Samples[n-1].V)
			case h > 0 && s.Histograms[h-1].H != nil:
				add(s.Labels, float64(s.Histograms[h-1].H.Count))
			case h > 0:
				add(s.Labels, s.Histograms[h-1].FH.Count)
			}
		}
		return nil
	}
}
