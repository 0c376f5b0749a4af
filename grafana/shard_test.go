package grafana

import (
	"fmt"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// TestShardsAreDisjointAndComplete: every series, seen by discovery or not,
// is matched by exactly one shard, and no shard holds more than the limit of
// the series discovery saw.
func TestShardsAreDisjointAndComplete(t *testing.T) {
	var found []labels.Labels
	add := func(name string, n int, label string) {
		for i := range n {
			found = append(found, labels.FromStrings("__name__", name, "job", "api", label, fmt.Sprint(i%(n/2+1)), "i", fmt.Sprint(i)))
		}
	}
	add("small_a", 3, "pod")
	add("small_b", 4, "pod")
	add("medium", 9, "pod")
	add("huge", 40, "instance")
	unseen := []labels.Labels{
		labels.FromStrings("__name__", "new_metric", "job", "api"),
		labels.FromStrings("__name__", "huge", "job", "api", "instance", "never-seen"),
		labels.FromStrings("__name__", "huge", "job", "api"), // without the label cut on
	}
	ms, _ := parser.NewParser(parser.Options{}).ParseMetricSelector(`{job="api"}`)
	const limit = 10
	shards := shardByName(ms, found, limit)
	var sets [][]*labels.Matcher
	for _, s := range shards {
		m, err := parser.NewParser(parser.Options{}).ParseMetricSelector(s)
		if err != nil {
			t.Fatalf("shard %q: %v", s, err)
		}
		sets = append(sets, m)
	}
	perShard := make([]int, len(shards))
	for _, ls := range append(found, unseen...) {
		hits := 0
		for i, set := range sets {
			ok := true
			for _, m := range set {
				ok = ok && m.Matches(ls.Get(m.Name))
			}
			if ok {
				hits++
				perShard[i]++
			}
		}
		if hits != 1 {
			t.Fatalf("%s is matched by %d shards, want 1:\n%q", ls, hits, shards)
		}
	}
	for i, n := range perShard {
		if n > limit+len(unseen) {
			t.Errorf("shard %s holds %d series, over the limit of %d", shards[i], n, limit)
		}
	}
}
