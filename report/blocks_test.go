package report

import (
	"strings"
	"testing"

	"github.com/promrecover/promrecover/blocks"
)

func TestOverlaps(t *testing.T) {
	a := blocks.BlockInfo{ULID: "01A"}
	b := blocks.BlockInfo{ULID: "01B"}
	for _, tc := range []struct {
		ov   []blocks.Overlap
		want string
	}{
		{nil, "\nno overlapping blocks\n"},
		{[]blocks.Overlap{{A: a, B: b, MinTime: 1754186400000, MaxTime: 1754193600000}},
			"\n1 overlapping block pairs (Prometheus >= 2.39 queries them merged and merges them at its next compaction):\n" +
				"OVERLAP 01A and 01B: 2025-08-03T02:00:00.000Z..2025-08-03T04:00:00.000Z\n"},
	} {
		var w strings.Builder
		Overlaps(&w, tc.ov)
		if w.String() != tc.want {
			t.Errorf("got %q, want %q", w.String(), tc.want)
		}
	}
}
