package blocks

import (
	"cmp"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/tsdb"

	"github.com/promrecover/promrecover/internal/seriestest"
)

// TestRetentionCutoff: the blocks the cutoff marks are those Prometheus's
// own tsdb.BeyondTimeRetention deletes, given the same blocks.
func TestRetentionCutoff(t *testing.T) {
	const h = int64(time.Hour / time.Millisecond)
	base := time.Date(2025, 8, 3, 0, 0, 0, 0, time.UTC).UnixMilli()
	tests := []struct {
		name      string
		maxTimes  []int64 // hours after base
		retention time.Duration
		deleted   []bool
	}{
		{"no blocks", nil, 200 * time.Hour, nil},
		{"no retention", []int64{0, 300}, 0, []bool{false, false}},
		{"a single block is the newest", []int64{0}, time.Hour, []bool{false}},
		{"within the retention of the newest", []int64{0, 2, 199}, 200 * time.Hour, []bool{false, false, false}},
		{"exactly the retention before the newest is deleted", []int64{0, 100, 200}, 200 * time.Hour, []bool{true, false, false}},
		{"older than the retention", []int64{0, 2, 4, 203}, 200 * time.Hour, []bool{true, true, false, false}},
		{"unordered, with ties", []int64{10, 250, 10, 60, 250}, 200 * time.Hour, []bool{true, false, true, false, false}},
		{"issue 11: the newest block, not now, counts", []int64{-150, -140, -10}, 200 * time.Hour, []bool{false, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			maxTimes := make([]int64, len(tt.maxTimes))
			for i, m := range tt.maxTimes {
				maxTimes[i] = base + m*h
			}
			cutoff, ok := RetentionCutoff(maxTimes, tt.retention)
			got := make([]bool, len(maxTimes))
			for i, m := range maxTimes {
				got[i] = ok && m <= cutoff
			}
			if want := prometheusDeletes(t, maxTimes, tt.retention); !slices.Equal(got, want) {
				t.Errorf("cutoff deletes %v, Prometheus %v", got, want)
			}
			if tt.deleted != nil && !slices.Equal(got, tt.deleted) {
				t.Errorf("cutoff deletes %v, want %v", got, tt.deleted)
			}
		})
	}
}

// prometheusDeletes is which blocks ending at maxTimes Prometheus deletes
// for its time retention: its tsdb.BeyondTimeRetention, called on the
// blocks sorted as its deletableBlocks (tsdb/db.go) sorts them.
func prometheusDeletes(t *testing.T, maxTimes []int64, retention time.Duration) []bool {
	t.Helper()
	opts := tsdb.DefaultOptions()
	opts.RetentionDuration = retention.Milliseconds()
	db, err := tsdb.Open(t.TempDir(), nil, nil, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := t.TempDir()
	ids := make([]string, len(maxTimes))
	var bs []*tsdb.Block
	for i, m := range maxTimes {
		ids[i] = seriestest.Block(t, dir, m)
		b, err := tsdb.OpenBlock(slog.New(slog.DiscardHandler), filepath.Join(dir, ids[i]), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		bs = append(bs, b)
	}
	slices.SortFunc(bs, func(a, b *tsdb.Block) int { return cmp.Compare(b.Meta().MaxTime, a.Meta().MaxTime) })
	deletable := tsdb.BeyondTimeRetention(db, bs)
	out := make([]bool, len(maxTimes))
	for _, b := range bs {
		_, del := deletable[b.Meta().ULID]
		out[slices.Index(ids, b.Meta().ULID.String())] = del
	}
	return out
}
