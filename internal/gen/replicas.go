package gen

import (
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// ReplicasT0 is where the decoder benchmarks' data starts.
var ReplicasT0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// Replicas is n copies of the demo data set over [ReplicasT0,
// ReplicasT0+2h), each from its own seed and under its own "replica" label:
// the data every decoder benchmark reads, so that their samples/s compare
// directly.
func Replicas(n int) []extract.Series {
	var out []extract.Series
	for r := range n {
		for _, s := range DemoSeries(ReplicasT0, ReplicasT0.Add(2*time.Hour), int64(r+1)) {
			b := labels.NewBuilder(s.Labels)
			b.Set("replica", strconv.Itoa(r))
			out = append(out, extract.Series{Labels: b.Labels(), Samples: s.Samples})
		}
	}
	return out
}
