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

// longestLine is the width of text's longest line, in runes.
func longestLine(text string) int {
	width := 0
	for _, l := range strings.Split(text, "\n") {
		width = max(width, len([]rune(l)))
	}
	return width
}

// typicalBlocks are blocks as a recovery of a week of 400 series at 15s
// writes them, and one Prometheus compacted.
func typicalBlocks() []blocks.BlockInfo {
	const week = 1763078400000 // 2025-11-14T00:00:00Z
	var list []blocks.BlockInfo
	for i := range int64(84) {
		start := week + i*7200000
		list = append(list, blocks.BlockInfo{ULID: "01M80KZSG5PCP5WSY1GQ2NQ29P", MinTime: start + 238, MaxTime: start + 7199816,
			Series: 400, Samples: 192000, Chunks: 1737, Size: 1153434})
	}
	return append(list, blocks.BlockInfo{ULID: "01M80M0AP88QZD29CD3ZPQXWNS", MinTime: week, MaxTime: week + 54*3600000,
		Series: 400, Samples: 5184000, Chunks: 46656, Size: 30 << 20})
}

func TestBlockListFits80Columns(t *testing.T) {
	var w strings.Builder
	BlockList(&w, typicalBlocks())
	if n := longestLine(w.String()); n > 80 {
		t.Errorf("the longest line is %d columns:\n%s", n, w.String())
	}
	lines := strings.Split(w.String(), "\n")
	want := []string{
		"BLOCK ULID                  START                 SPAN  SERIES  SAMPLES   SIZE",
		"01M80KZSG5PCP5WSY1GQ2NQ29P  2025-11-14T00:00:00Z  2h    400     192000    1.1M",
		"01M80KZSG5PCP5WSY1GQ2NQ29P  2025-11-14T02:00:00Z  2h    400     192000    1.1M",
	}
	for i, l := range want {
		if strings.TrimRight(lines[i], " ") != l {
			t.Errorf("line %d:\n%q, want\n%q", i, lines[i], l)
		}
	}
	if got, want := lines[len(lines)-3], "01M80M0AP88QZD29CD3ZPQXWNS  2025-11-14T00:00:00Z  54h   400     5184000   30.0M"; got != want {
		t.Errorf("the compacted block:\n%q, want\n%q", got, want)
	}
	if got, want := lines[len(lines)-2], "85 blocks, 192564 chunks                                34000   21312000  122.4M"; got != want {
		t.Errorf("totals %q, want %q", got, want)
	}
}

func TestInstalledFits80Columns(t *testing.T) {
	var installed []blocks.Block
	for _, b := range typicalBlocks()[:84] {
		installed = append(installed, blocks.Block{ULID: b.ULID, MinTime: b.MinTime, MaxTime: b.MaxTime, Series: b.Series, Samples: b.Samples, Chunks: b.Chunks, Size: b.Size})
	}
	var w strings.Builder
	Installed(&w, installed)
	if n := longestLine(w.String()); n > 80 {
		t.Errorf("the longest line is %d columns:\n%s", n, w.String())
	}
}
