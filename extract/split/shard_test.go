package split

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/promrecover/promrecover/extract/split/splittest"
)

// setCensus counts label sets as Sets does; err fails
// every count and lookup of the metrics it names ("" for all).
type setCensus struct {
	sets   []labels.Labels
	err    error
	failOn string
	metric string // the metric Narrow pinned
}

func (c setCensus) fail() error {
	if c.err != nil && (c.failOn == "" || c.failOn == c.metric) {
		return c.err
	}
	return nil
}

func (c setCensus) Count(ctx context.Context, names ...string) ([]map[string]int, error) {
	if err := c.fail(); err != nil {
		return nil, err
	}
	return Sets(c.sets).Count(ctx, names...)
}

func (c setCensus) LabelNames(ctx context.Context) ([]string, error) {
	if err := c.fail(); err != nil {
		return nil, err
	}
	return Sets(c.sets).LabelNames(ctx)
}

func (c setCensus) Narrow(name, value string) Census {
	n := c
	n.sets = Sets(c.sets).Where(name, value)
	if name == model.MetricNameLabel {
		n.metric = value
	}
	return n
}

// shardSets is a selection with metrics under, at and over the limit of
// 10, and sets no discovery saw.
func shardSets() (found, unseen []labels.Labels) {
	add := func(name string, n int, label string) {
		for i := range n {
			found = append(found, labels.FromStrings("__name__", name, "job", "api", label, fmt.Sprint(i%(n/2+1)), "i", fmt.Sprint(i)))
		}
	}
	add("small_a", 3, "pod")
	add("small_b", 4, "pod")
	add("medium", 9, "pod")
	add("huge", 40, "instance")
	unseen = []labels.Labels{
		labels.FromStrings("__name__", "new_metric", "job", "api"),
		labels.FromStrings("__name__", "huge", "job", "api", "instance", "never-seen"),
		labels.FromStrings("__name__", "huge", "job", "api"), // without the label cut on
	}
	return found, unseen
}

// TestShardsAreDisjointAndComplete: every series, seen by discovery or not,
// is matched by exactly one shard, and no shard holds more than the limit of
// the series discovery saw; the counts come from label sets, as the series
// API gives them.
func TestShardsAreDisjointAndComplete(t *testing.T) {
	found, unseen := shardSets()
	ms, _ := parser.NewParser(parser.Options{}).ParseMetricSelector(`{job="api"}`)
	cen := setCensus{sets: found}
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
	for i, n := range splittest.CheckShards(t, shards, append(found, unseen...)) {
		if n > limit+len(unseen) {
			t.Errorf("shard %s holds %d series, over the limit of %d", shards[i], n, limit)
		}
	}
}

func TestShard(t *testing.T) {
	found, unseen := shardSets()
	boom := errors.New("boom")
	for _, tc := range []struct {
		name   string
		sel    string
		cen    setCensus
		limit  int
		want   []string
		total  int
		err    error
		logged string
	}{
		{name: "within the limit: whole", sel: `{job="api"}`, cen: setCensus{sets: found}, limit: 56, total: 56,
			want: []string{`{job="api"}`}},
		{name: "names packed, the huge one cut by its most varied label (i, 40 values)", sel: `{job="api"}`, cen: setCensus{sets: found}, limit: 10, total: 56,
			want: []string{
				`huge{i=~"0|1|10|11|12|13|14|15|16|17",job="api"}`,
				`huge{i=~"18|19|2|20|21|22|23|24|25|26",job="api"}`,
				`huge{i=~"27|28|29|3|30|31|32|33|34|35",job="api"}`,
				`huge{i=~"36|37|38|39|4|5|6|7|8|9",job="api"}`,
				`huge{i!~"0|1|10|11|12|13|14|15|16|17|18|19|2|20|21|22|23|24|25|26|27|28|29|3|30|31|32|33|34|35|36|37|38|39|4|5|6|7|8|9",job="api"}`,
				`medium{job="api"}`,
				`{__name__=~"small_b|small_a",job="api"}`,
				`{__name__!~"huge|medium|small_a|small_b",job="api"}`,
			}},
		{name: "a metric whose labels cannot be counted stays whole", sel: `{job="api"}`, cen: setCensus{sets: found, err: boom, failOn: "huge"}, limit: 10, total: 56,
			want: []string{
				`huge{job="api"}`,
				`medium{job="api"}`,
				`{__name__=~"small_b|small_a",job="api"}`,
				`{__name__!~"huge|medium|small_a|small_b",job="api"}`,
			}, logged: "label discovery failed; the metric is fetched whole"},
		{name: "counting the names fails", sel: `{job="api"}`, cen: setCensus{sets: found, err: boom}, limit: 10, err: boom},
		{name: "a bad selector", sel: `{job=`, cen: setCensus{sets: found}, limit: 10, err: errors.New("parse error")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			shards, total, err := Shard(context.Background(), tc.sel, tc.cen, tc.limit, 8, slog.New(slog.NewTextHandler(&logs, nil)))
			if tc.err != nil {
				if err == nil || (!errors.Is(err, tc.err) && !strings.Contains(err.Error(), tc.err.Error())) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || total != tc.total || !slices.Equal(shards, tc.want) {
				t.Fatalf("Shard = %d series, %v\n%s\nwant %d series\n%s", total, err, strings.Join(shards, "\n"), tc.total, strings.Join(tc.want, "\n"))
			}
			if !strings.Contains(logs.String(), tc.logged) {
				t.Errorf("log %q lacks %q", logs.String(), tc.logged)
			}
			for i, n := range splittest.CheckShards(t, shards, append(slices.Clone(found), unseen...)) {
				if tc.cen.err == nil && n > tc.limit+len(unseen) {
					t.Errorf("shard %s holds %d series, over the limit of %d", shards[i], n, tc.limit)
				}
			}
		})
	}
}

func TestPack(t *testing.T) {
	for _, tc := range []struct {
		name   string
		counts map[string]int
		limit  int
		want   [][]string
	}{
		{"one bin", map[string]int{"a": 1, "b": 2}, 3, [][]string{{"b", "a"}}},
		{"largest first, first fit", map[string]int{"a": 5, "b": 4, "c": 3, "d": 1}, 6, [][]string{{"a", "d"}, {"b"}, {"c"}}},
		{"over the limit alone", map[string]int{"big": 20, "x": 1}, 5, [][]string{{"big"}, {"x"}}},
		{"ties by name", map[string]int{"b": 2, "a": 2, "c": 2}, 4, [][]string{{"a", "b"}, {"c"}}},
		{"none", map[string]int{}, 4, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pack(tc.counts, tc.limit); !slices.EqualFunc(got, tc.want, slices.Equal) {
				t.Fatalf("pack = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestShardByLabel(t *testing.T) {
	ms, _ := parser.NewParser(parser.Options{}).ParseMetricSelector(`up{job="a"}`)
	for _, tc := range []struct {
		name   string
		label  string
		counts map[string]int
		want   []string
	}{
		{"no label", "", nil, []string{`up{job="a"}`}},
		{"one value cuts nothing", "instance", map[string]int{"x": 9}, []string{`up{job="a"}`}},
		{"values packed, and the rest", "instance", map[string]int{"x": 3, "y": 2, "z": 1, "w.1": 4},
			[]string{`up{instance=~"w\\.1|z",job="a"}`, `up{instance=~"x|y",job="a"}`, `up{instance!~"w\\.1|x|y|z",job="a"}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := shardByLabel(ms, tc.label, tc.counts, 5); !slices.Equal(got, tc.want) {
				t.Fatalf("shards\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestBestLabel(t *testing.T) {
	ms, _ := parser.NewParser(parser.Options{}).ParseMetricSelector(`up{job="a",env=~"p.*"}`)
	values := map[string][]string{"instance": {"a", "b"}, "pod": {"p1", "p2", "p3"}, "zone": {"z1", "z2", "z3", "z4"}, "env": {"prod", "pre"}}
	for _, tc := range []struct {
		name       string
		names      []string
		limit      int
		candidates []string // those whose values are asked
		best       string
		index      int
	}{
		{"the most values among the first limit", []string{"__name__", "env", "instance", "job", "pod", "zone"}, 2, []string{"instance", "pod"}, "pod", 1},
		{"unpinned labels only, preferred first then by name", []string{"zone", "job", "env", "__name__", "instance"}, 8, []string{"instance", "env", "zone"}, "zone", 2},
		{"none with a value", []string{"__name__", "job", "other"}, 8, []string{"other"}, "", -1},
		{"no candidates", []string{"__name__", "job"}, 8, []string{}, "", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			best, i, vs, err := bestLabel(tc.names, ms, tc.limit, func(c []string) ([][]string, error) {
				asked = c
				out := make([][]string, len(c))
				for j, n := range c {
					out[j] = values[n]
				}
				return out, nil
			})
			if err != nil || best != tc.best || i != tc.index || !slices.Equal(asked, tc.candidates) || !slices.Equal(vs, values[tc.best]) {
				t.Fatalf("bestLabel = %q %d %q %v after asking %q; want %q %d after asking %q", best, i, vs, err, asked, tc.best, tc.index, tc.candidates)
			}
		})
	}
	boom := errors.New("boom")
	if _, i, _, err := bestLabel([]string{"pod"}, ms, 8, func([]string) ([][]string, error) { return nil, boom }); err != boom || i != -1 {
		t.Fatalf("a failed lookup: %d, %v", i, err)
	}
}

func TestSplitCandidates(t *testing.T) {
	ms, _ := parser.NewParser(parser.Options{}).ParseMetricSelector(`up{job="a",mode!=""}`)
	got := splitCandidates([]string{"zeta", "mode", "__name__", "job", "alpha", "pod", "instance", "le"}, ms)
	want := []string{"instance", "pod", "le", "mode", "alpha", "zeta"}
	if !slices.Equal(got, want) {
		t.Fatalf("candidates %q, want %q", got, want)
	}
}
