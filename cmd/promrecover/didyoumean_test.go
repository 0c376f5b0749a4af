package main

import (
	"testing"
)

// A mistyped flag, or another tool's name for one, is answered with the flag
// meant, before anything is read or sent; -q with -v says what to do.
func TestFlagMistakes(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"recover", "--start", "now-6h"}, "unknown flag --start: did you mean --from? (promtool calls it --start)"},
		{[]string{"export", "--end=now"}, "unknown flag --end: did you mean --to? (promtool calls it --end)"},
		{[]string{"plan", "--address", "https://example.grafana.net"}, "unknown flag --address: did you mean --grafana-url? (mimirtool calls it --address)"},
		{[]string{"datasources", "--url", "https://example.grafana.net"}, "unknown flag --url: did you mean --grafana-url?"},
		{[]string{"recover", "--selector", "up"}, "unknown flag --selector: did you mean --match? (mimirtool calls it --selector)"},
		{[]string{"recover", "-remote-read-filter-time-start", "2025-08-03T00:00:00Z"}, "unknown flag -remote-read-filter-time-start: did you mean --from? (vmctl calls it --remote-read-filter-time-start)"},
		{[]string{"recover", "-from", "now-6h"}, "unknown flag -from: did you mean --from?"},
		{[]string{"recover", "--retension", "15d"}, "unknown flag --retension: did you mean --retention?"},
		// verify has --from but no --grafana-url: the alias gives way to spelling.
		{[]string{"verify", "--address", "x"}, "unknown flag --address: did you mean --against?"},
		{[]string{"recover", "-x"}, `unknown shorthand flag: 'x' in -x`},
		{[]string{"version", "-q", "-v"}, "--quiet and --verbose contradict each other: give one"},
		{[]string{"plan", "--verbose", "--quiet", "--from", "now-1h"}, "--quiet and --verbose contradict each other: give one"},
	}
	for _, c := range cases {
		_, _, err := runCLI(t, c.args...)
		if err == nil || err.Error() != c.want {
			t.Errorf("%q: got error %v, want %q", c.args, err, c.want)
		}
	}
}
