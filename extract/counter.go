package extract

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Counter is a Source that can also evaluate PromQL over a grid of times,
// which is how package extract/crosscheck asks the source how many samples
// each series of a unit holds: a range query from start to end (epoch ms,
// both multiples of step), each point of each series handed to add. A
// point may come twice (a retried request).
type Counter interface {
	Points(ctx context.Context, expr string, start, end int64, step time.Duration, add func(ls labels.Labels, t int64, v float64)) error
}

// Counted is what a Counter counts of a unit to match its fetch: the
// samples the fetch brings in [Lo, Hi] (epoch ms, both included), and the
// range selector of Range ms at Hi that holds exactly those on the source.
type Counted struct{ Lo, Hi, Range int64 }

// CountRanger is a Counter whose fetch of a unit covers other times than
// its unit's range selector (split.UnitQuery), [From-1, To] by Range
// To-From+1 at To, which is what is counted of a Counter without it.
type CountRanger interface {
	Counter
	CountRange(u Unit) Counted
}

// CountRange is what c counts of u.
func CountRange(c Counter, u Unit) Counted {
	if r, ok := c.(CountRanger); ok {
		return r.CountRange(u)
	}
	return Counted{Lo: u.From - 1, Hi: u.To, Range: u.To - u.From + 1}
}

// PointsOf is the add of a step-mode unit whose points a Counter hands on:
// each float point, and each native histogram point with its count.
func PointsOf(add func(labels.Labels, int64, float64)) func([]Series) error {
	return func(ss []Series) error {
		for _, s := range ss {
			for _, p := range s.Samples {
				add(s.Labels, p.T, p.V)
			}
			for _, h := range s.Histograms {
				if h.H != nil {
					add(s.Labels, h.T, float64(h.H.Count))
				} else {
					add(s.Labels, h.T, h.FH.Count)
				}
			}
		}
		return nil
	}
}

// PointsUnit is the step-mode unit of a Counter's range query: its points
// are exactly the multiples of step in [start, end] (see
// split.UnitQuery).
func PointsUnit(expr string, start, end int64, step time.Duration) Unit {
	return Unit{Selector: expr, From: start, To: end + step.Milliseconds(), Step: step}
}

type bytesKey struct{}

// CountingBytes is ctx with n to count the bytes of the answers to the
// requests made with it (decompressed, as a client's own statistics count
// them), on top of the client's own count: what one kind of request costs,
// among others made at the same time.
func CountingBytes(ctx context.Context, n *atomic.Int64) context.Context {
	return context.WithValue(ctx, bytesKey{}, n)
}

// BytesCounter is the counter CountingBytes put in ctx, or nil.
func BytesCounter(ctx context.Context) *atomic.Int64 {
	n, _ := ctx.Value(bytesKey{}).(*atomic.Int64)
	return n
}
