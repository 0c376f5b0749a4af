// Package simtest starts the Grafana simulator (internal/sim) for a test,
// behind fault rules (internal/faults) when the test asks for them, and
// stops it when the test ends.
package simtest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/sim"
)

// Start serves a simulator made from cfg behind rules until t ends, and
// returns its URL and the simulator.
func Start(t testing.TB, cfg sim.Config, rules ...*faults.Rule) (string, *sim.Server) {
	t.Helper()
	srv := sim.New(cfg)
	return Serve(t, srv, rules...), srv
}

// Serve serves h behind rules until t ends and returns its URL.
func Serve(t testing.TB, h http.Handler, rules ...*faults.Rule) string {
	t.Helper()
	if len(rules) > 0 {
		h = faults.Wrap(h, rules...)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL
}
