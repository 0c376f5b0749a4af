package extract

import (
	"strings"
	"testing"
	"time"
)

func TestParseShard(t *testing.T) {
	cases := []struct {
		in, index string
		want      Shard
		err       string
	}{
		{in: "1/3", want: Shard{1, 3}},
		{in: "3/3", want: Shard{3, 3}},
		{in: "indexed/3", index: "0", want: Shard{1, 3}},
		{in: "indexed/3", index: "2", want: Shard{3, 3}},
		{in: "indexed/3", index: "3", err: "completion index (0 to 2)"},
		{in: "indexed/3", err: "the index is \"\""},
		{in: "0/3", err: "write I/N"},
		{in: "4/3", err: "write I/N"},
		{in: "2", err: "write I/N"},
		{in: "1/0", err: "write I/N"},
	}
	for _, c := range cases {
		got, err := ParseShard(c.in, c.index)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !IsUsage(err)):
			t.Errorf("ParseShard(%q, %q): %v, want a usage error with %q", c.in, c.index, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("ParseShard(%q, %q) = %v, %v; want %v", c.in, c.index, got, err, c.want)
		}
	}
}

// TestShardsPartitionAPlan checks that n shards of a plan are disjoint and
// together the plan, whatever its range, and about equal.
func TestShardsPartitionAPlan(t *testing.T) {
	from := time.Date(2025, 8, 3, 1, 30, 0, 0, time.UTC)
	for _, hours := range []int{1, 2, 7, 24, 49} {
		p, err := NewPlan(from, from.Add(time.Duration(hours)*time.Hour), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		for n := 1; n <= 4; n++ {
			seen := map[Window]int{}
			for i := 1; i <= n; i++ {
				share := Shard{i, n}.Of(p)
				if len(share.Windows) > len(p.Windows)/n+1 {
					t.Errorf("%dh, shard %d/%d: %d of %d windows", hours, i, n, len(share.Windows), len(p.Windows))
				}
				for _, w := range share.Windows {
					seen[w]++
				}
			}
			for _, w := range p.Windows {
				if seen[w] != 1 {
					t.Errorf("%dh, %d shards: window %s taken %d times", hours, n, w, seen[w])
				}
			}
			if len(seen) != len(p.Windows) {
				t.Errorf("%dh, %d shards: %d windows, the plan has %d", hours, n, len(seen), len(p.Windows))
			}
		}
	}
}
