package grafana

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/promrecover/promrecover/extract"
)

// checkShards fails unless every series of all, seen by discovery or not,
// is matched by exactly one shard; it returns how many each shard matched.
func checkShards(t *testing.T, shards []string, all []labels.Labels) []int {
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

// TestShardsAreDisjointAndComplete: every series, seen by discovery or not,
// is matched by exactly one shard, and no shard holds more than the limit of
// the series discovery saw; the counts come from label sets, as the series
// API gives them.
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
	cen := &Census{Via: SeriesAPI, Sets: found, matchers: [][]*labels.Matcher{ms}}
	ctx := context.Background()
	counts, _ := cen.Count(ctx, model.MetricNameLabel)
	byName := counts[0]
	const limit = 10
	shards := shardByName(ms, byName, limit, func(name string) (string, map[string]int) {
		sub := cen.Narrow(model.MetricNameLabel, name)
		c, _ := sub.Count(ctx, "instance")
		delete(c[0], "")
		return "instance", c[0]
	})
	for i, n := range checkShards(t, shards, append(found, unseen...)) {
		if n > limit+len(unseen) {
			t.Errorf("shard %s holds %d series, over the limit of %d", shards[i], n, limit)
		}
	}
}

// TestShardFromEachDiscovery shards a selection over the limit from every
// discovery source: the same shards whichever answered, disjoint and
// complete, each within the limit, and fetched one by one they give
// exactly the source's samples.
func TestShardFromEachDiscovery(t *testing.T) {
	ctx := context.Background()
	from, to := spWindow.Start, spWindow.End
	const sel, limit = `{job=~"api|node|sensors|big"}`, 4
	var want []string
	for _, tc := range discoveryCases {
		t.Run(tc.name, func(t *testing.T) {
			src, srv, _ := discoverySource(t, tc.refuseResources, tc.refuseProxy, tc.via)
			shards := src.Shard(ctx, []string{sel}, from, to, limit)
			if want == nil {
				want = shards
			} else if !slices.Equal(shards, want) {
				t.Errorf("shards %q, want those of the series API %q", shards, want)
			}
			var all []labels.Labels
			for _, s := range selected(t, sel, from, to) {
				all = append(all, s.Labels)
			}
			for i, n := range checkShards(t, shards, all) {
				if n > limit {
					t.Errorf("shard %s holds %d series, over the limit of %d", shards[i], n, limit)
				}
			}
			var got []extract.Series
			for _, sh := range shards {
				u := extract.Unit{Window: spWindow, From: from, To: to, Selector: sh}
				series, err := src.Fetch(ctx, u)
				if err != nil {
					t.Fatalf("%s: %v", sh, err)
				}
				got = append(got, trim(series, from, to)...)
			}
			if err := extract.Compare(selected(t, sel, from, to), got); err != nil {
				t.Fatal(err)
			}
			if c := srv.Counters(); c.FailedQueries != 0 {
				t.Errorf("%d queries failed", c.FailedQueries)
			}
		})
	}
}
