package grafana

import (
	"context"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/split/splittest"
)

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
			shards, series := src.Shard(ctx, []string{sel}, from, to, limit)
			if want == nil {
				want = shards
			} else if !slices.Equal(shards, want) {
				t.Errorf("shards %q, want those of the series API %q", shards, want)
			}
			var all []labels.Labels
			for _, s := range selected(t, sel, from, to) {
				all = append(all, s.Labels)
			}
			if series != len(all) {
				t.Errorf("Shard counted %d series, the selector matches %d", series, len(all))
			}
			for i, n := range splittest.CheckShards(t, shards, all) {
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
				got = append(got, extract.Clip(series, from, to)...)
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
