package split

import (
	"fmt"

	"github.com/promrecover/promrecover/extract"
)

// Query is what one unit asks a Prometheus API, whichever way it travels
// (Grafana's /api/ds/query, its datasource proxy, the API itself): an
// expression, and the time of an instant query (To) or the first and last
// step of a range query.
type Query struct {
	Expr     string
	From, To int64 // epoch ms
	Instant  bool
}

// UnitQuery works out the query of a unit. It reports false when a
// step-mode unit holds no step at all (a step longer than the unit).
//
// Raw mode asks for the range selector sel[r] at time u.To with r one
// millisecond longer than the unit: Prometheus 3 and Mimir leave the left end
// out, Prometheus 2 keeps it, and either way every sample of [From, To) is in
// the answer; extract.Run trims the rest, so a sample on a window's edge is
// written by the window it starts.
//
// Step mode asks a range query for exactly the step multiples inside
// [From, To): Grafana floors both ends to the step (AlignTimeRange), so ends
// that are already multiples are left alone.
//
// Neither mode can return stale markers: Prometheus's engine leaves out
// every sample whose value is value.StaleNaN when it fills a range selector
// (promql/engine.go, matrixIterSlice: "if value.IsStaleNaN(f) { continue
// loop }", and the same for a histogram's sum), and a step whose newest
// sample is one has no point (vectorSelectorSingle). A recovered series
// therefore ends where its last real sample is, and Prometheus's 5m
// lookback fills the rest.
func UnitQuery(u extract.Unit) (Query, bool) {
	if u.Step == 0 {
		return Query{Expr: fmt.Sprintf("%s[%dms]", u.Selector, u.To-u.From+1), From: u.From, To: u.To, Instant: true}, true
	}
	step := u.Step.Milliseconds()
	first := CeilTo(u.From, step)
	last := CeilTo(u.To, step) - step
	if first > last {
		return Query{}, false
	}
	return Query{Expr: u.Selector, From: first, To: last}, true
}
