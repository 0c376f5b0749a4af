// Package seriestest holds the checks and the small series that tests of
// several packages build the same way.
package seriestest

import (
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/extract"
)

// Same fails t unless got holds want's series, in any order, with the same
// samples of both kinds, values bit for bit (NaN payloads included).
func Same(t testing.TB, want, got []extract.Series) {
	t.Helper()
	if err := extract.Compare(want, got); err != nil {
		t.Fatal(err)
	}
}

// SameInOrder is Same for a reader that promises an order: got must also
// list the series in want's order.
func SameInOrder(t testing.TB, want, got []extract.Series) {
	t.Helper()
	Same(t, want, got)
	if !slices.EqualFunc(want, got, func(a, b extract.Series) bool { return labels.Equal(a.Labels, b.Labels) }) {
		t.Fatalf("the series come in another order:\ngot  %v\nwant %v", Names(got), Names(want))
	}
}

// Names lists the series' label sets.
func Names(ss []extract.Series) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, s.Labels.String())
	}
	return out
}

// Scraped is a series with a sample every 15s over [from, to), each of
// value v(t).
func Scraped(ls labels.Labels, from, to time.Time, v func(t int64) float64) extract.Series {
	s := extract.Series{Labels: ls}
	for t := from.UnixMilli(); t < to.UnixMilli(); t += 15000 {
		s.Samples = append(s.Samples, extract.Sample{T: t, V: v(t)})
	}
	return s
}

// Stale counts the stale markers of both kinds: a test that says it
// carries them checks that its data has some.
func Stale(ss []extract.Series) (n int) {
	for _, s := range ss {
		for _, smp := range s.Samples {
			if value.IsStaleNaN(smp.V) {
				n++
			}
		}
		for _, h := range s.Histograms {
			if h.IsStale() {
				n++
			}
		}
	}
	return n
}
