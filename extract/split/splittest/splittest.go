// Package splittest checks shards for the tests of split and of the
// sources that shard through it.
package splittest

import (
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// CheckShards fails unless every series of all, seen by discovery or not,
// is matched by exactly one shard; it returns how many each shard matched.
func CheckShards(t testing.TB, shards []string, all []labels.Labels) []int {
	t.Helper()
	var sets [][]*labels.Matcher
	for _, s := range shards {
		m, err := parser.NewParser(parser.Options{}).ParseMetricSelector(s)
		if err != nil {
			t.Fatalf("shard %q: %v", s, err)
		}
		sets = append(sets, m)
	}
	perShard := make([]int, len(shards))
	for _, ls := range all {
		hits := 0
		for i, set := range sets {
			if !slices.ContainsFunc(set, func(m *labels.Matcher) bool { return !m.Matches(ls.Get(m.Name)) }) {
				hits++
				perShard[i]++
			}
		}
		if hits != 1 {
			t.Fatalf("%s is matched by %d shards, want 1:\n%q", ls, hits, shards)
		}
	}
	return perShard
}
