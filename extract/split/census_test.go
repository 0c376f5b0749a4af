package split

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

func TestSets(t *testing.T) {
	sets := Sets{
		labels.FromStrings("__name__", "up", "job", "api", "instance", "a"),
		labels.FromStrings("__name__", "up", "job", "api", "instance", "b"),
		labels.FromStrings("__name__", "up", "job", "node"),
		labels.FromStrings("__name__", "temp", "sensor", "s1"),
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		sets         Sets
		where        [2]string // name and value to narrow to first; "" keeps all
		count        []string
		counts       []map[string]int
		labelNames   []string
		narrowedSets int
	}{
		{name: "none", sets: nil, count: []string{"__name__"}, counts: []map[string]int{{}}, labelNames: []string{}},
		{name: "all, by name and instance", sets: sets, count: []string{"__name__", "instance"},
			counts:     []map[string]int{{"up": 3, "temp": 1}, {"a": 1, "b": 1, "": 2}},
			labelNames: []string{"__name__", "instance", "job", "sensor"}, narrowedSets: 4},
		{name: "no names asked", sets: sets, count: nil, counts: []map[string]int{},
			labelNames: []string{"__name__", "instance", "job", "sensor"}, narrowedSets: 4},
		{name: "narrowed to a metric", sets: sets, where: [2]string{"__name__", "up"}, count: []string{"job"},
			counts: []map[string]int{{"api": 2, "node": 1}}, labelNames: []string{"__name__", "instance", "job"}, narrowedSets: 3},
		{name: "narrowed to the series without a label", sets: sets, where: [2]string{"instance", ""}, count: []string{"__name__"},
			counts: []map[string]int{{"up": 1, "temp": 1}}, labelNames: []string{"__name__", "job", "sensor"}, narrowedSets: 2},
		{name: "narrowed to nothing", sets: sets, where: [2]string{"job", "gone"}, count: []string{"job"},
			counts: []map[string]int{{}}, labelNames: []string{}, narrowedSets: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cen Census = tc.sets
			s := tc.sets
			if tc.where[0] != "" {
				cen = tc.sets.Narrow(tc.where[0], tc.where[1])
				s = tc.sets.Where(tc.where[0], tc.where[1])
			}
			if len(s) != tc.narrowedSets {
				t.Errorf("narrowed to %d sets, want %d: %v", len(s), tc.narrowedSets, s)
			}
			counts, err := cen.Count(ctx, tc.count...)
			if err != nil || !slices.EqualFunc(counts, tc.counts, maps.Equal) {
				t.Errorf("Count(%q) = %v, %v; want %v", tc.count, counts, err, tc.counts)
			}
			names, err := cen.LabelNames(ctx)
			if err != nil || !slices.Equal(names, tc.labelNames) {
				t.Errorf("LabelNames = %q, %v; want %q", names, err, tc.labelNames)
			}
		})
	}
	// Narrowing leaves the census it narrows as it was.
	_ = sets.Where("__name__", "temp")
	if len(sets) != 4 || sets[0].Get("instance") != "a" {
		t.Errorf("Where changed the sets: %v", sets)
	}
}
