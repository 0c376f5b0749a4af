package sim

import (
	"testing"
	"time"
)

func BenchmarkDemoSeries6h(b *testing.B) {
	start := time.UnixMilli(t0)
	for b.Loop() {
		DemoSeries(start, start.Add(6*time.Hour), 1)
	}
}
