package progress

import (
	"testing"
	"time"
)

// batched plays a run of 8 windows fetched 4 at a time, each taking 10 s
// and bringing 100 samples a second, so that the windows finish in two
// batches, at 10 s and at 20 s, while the samples come at a steady rate.
func batched(at time.Duration, expected int64) snapshot {
	const windows, concurrency, perWindow = 8, 4, 1000
	sec := int64(at / time.Second)
	finished := min(sec/10*concurrency, windows)
	inFlight := min(concurrency, windows-finished)
	s := snapshot{total: windows, windows: finished, expected: expected, elapsed: at}
	s.finishedSamples = finished * perWindow
	s.samples = s.finishedSamples + inFlight*(sec%10)*perWindow/10
	return s
}

// TestETA: the ETA goes by samples, so that it is known once the first
// samples come when their total was estimated ahead, and once the first
// windows finish when it was not; and it does not rise while the rate is
// steady, though the windows finish in batches.
func TestETA(t *testing.T) {
	cases := []struct {
		name      string
		expected  int64
		firstKnow time.Duration // the first second the ETA is known
	}{
		{"samples estimated ahead", 8000, time.Second},
		{"not estimated: foretold by the windows finished", 0, 10 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			last := time.Duration(-1)
			for at := time.Second; at < 20*time.Second; at += time.Second {
				s := batched(at, tc.expected)
				eta, ok := s.eta()
				if ok != (at >= tc.firstKnow) {
					t.Fatalf("at %v (%+v): ETA known %v, want %v", at, s, ok, at >= tc.firstKnow)
				}
				if !ok {
					continue
				}
				// Exactly what is left at the steady rate.
				if want := 20*time.Second - at; eta.Round(time.Millisecond) != want {
					t.Errorf("at %v (%+v): ETA %v, want %v", at, s, eta, want)
				}
				if last >= 0 && eta > last {
					t.Errorf("at %v (%+v): ETA rose from %v to %v", at, s, last, eta)
				}
				last = eta
			}
			if _, ok := batched(20*time.Second, tc.expected).eta(); ok {
				t.Errorf("ETA known once every window finished")
			}
		})
	}
}
