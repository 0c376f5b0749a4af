package split

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
)

// TestPrefixCellsPartition refines every cell of a label's values down to
// single values, over random values (metric names, addresses, the empty
// value, runes far from ASCII, regex metacharacters): at every level each
// value lands in exactly one of a cell's parts, and in the part only if it
// is in the cell, so the parts are disjoint and complete by construction.
func TestPrefixCellsPartition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"node_", "cpu", "memory_", "a", "b", "z", "_", ":", "10.0.0.", "9100", "Ä", "日本", "\U0010FFFF", "\x00", ".*", "[", "]", "^", "$", "\\", "-", "(", "|", "\n", "{", "\"", "?"}
	values := []string{"", "a", "node_cpu_seconds_total", "node_memory_MemFree_bytes", "node_cpu_seconds", "up", "Up", "_x", ":y", "10.0.0.1:9100", "10.0.0.12:9100", "é", "\x7f", "\U0010FFFF"}
	for range 120 {
		var b strings.Builder
		for range rng.IntN(5) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		values = append(values, b.String())
	}
	slices.Sort(values)
	values = slices.Compact(values)
	for _, label := range []string{model.MetricNameLabel, "instance"} {
		root := rootCell(label)
		var in []string
		for _, v := range values {
			if root.exact || v != "" {
				in = append(in, v)
			}
		}
		cells := 0
		var walk func(c cell, vs []string, depth int)
		walk = func(c cell, vs []string, depth int) {
			cells++
			if depth > 400 {
				t.Fatalf("cell %+v: refined %d times", c, depth)
			}
			for _, v := range vs {
				if !matches(t, c, label, v) {
					t.Fatalf("cell %+v (%s) does not hold %q, which its parent held", c, c.matcher(label), v)
				}
			}
			parts := c.split()
			if parts == nil {
				if len(vs) > 1 {
					t.Fatalf("cell %s holds %q and cannot be cut", c.matcher(label), vs)
				}
				return
			}
			if len(parts) != 2 {
				t.Fatalf("cell %+v cut in %d", c, len(parts))
			}
			var sub [2][]string
			for _, v := range vs {
				n := 0
				for i, p := range parts {
					if matches(t, p, label, v) {
						n++
						sub[i] = append(sub[i], v)
					}
				}
				if n != 1 {
					t.Fatalf("%q is in %d of the parts %s and %s of %s", v, n, parts[0].matcher(label), parts[1].matcher(label), c.matcher(label))
				}
			}
			for i, p := range parts {
				if len(sub[i]) > 0 {
					walk(p, sub[i], depth+1)
				}
			}
		}
		walk(root, in, 0)
		t.Logf("%s: %d values, %d cells", label, len(in), cells)
	}
}

// matches reports whether the matcher of c, printed in a selector and
// parsed back as Prometheus would, accepts v.
func matches(t *testing.T, c cell, label, v string) bool {
	t.Helper()
	m := c.matcher(label)
	sel := "{" + m.String() + "}"
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(sel)
	if err != nil {
		t.Fatalf("%s does not parse: %v", sel, err)
	}
	return ms[0].Matches(v)
}

func TestPrefixCellMatchers(t *testing.T) {
	for _, tc := range []struct {
		c    cell
		want string
	}{
		{cell{lo: 0, hi: unicode.MaxRune}, `__name__=~".+"`},
		{cell{prefix: "node_", lo: 0, hi: unicode.MaxRune, exact: true}, `__name__=~"node_.*"`},
		{cell{prefix: "a.b", lo: 'a', hi: 'g'}, `__name__=~"a\\.b[a-g].*"`},
		{cell{prefix: "up", lo: 0, hi: 'g', exact: true}, `__name__=~"up(?:[\\x{0}-g].*)?"`},
		{cell{prefix: "x", lo: '.', hi: '.'}, `__name__=~"x\\x{2e}.*"`},
		{cell{prefix: "x(", lo: 1, hi: 0, exact: true}, `__name__="x("`},
	} {
		if got := tc.c.matcher(model.MetricNameLabel).String(); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.c, got, tc.want)
		}
	}
}

// TestSplitPoint: a range is halved at the weighted middle of the runes
// values usually go on with, and at its middle where none is weighed.
func TestSplitPoint(t *testing.T) {
	for _, tc := range []struct{ lo, hi, want rune }{
		{0, unicode.MaxRune, 'g'},
		{'h', unicode.MaxRune, 'q'},
		{'a', 'b', 'a'},
		{'z', unicode.MaxRune, 'z'},
		{'{', unicode.MaxRune, '{' + (unicode.MaxRune-'{')/2},
	} {
		if got := splitPoint(tc.lo, tc.hi); got != tc.want {
			t.Errorf("splitPoint(%q, %q) = %q, want %q", tc.lo, tc.hi, got, tc.want)
		}
	}
}
