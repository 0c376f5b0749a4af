package extract

import (
	"testing"
	"time"
)

func TestMaxPoints(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to int64
		step     time.Duration
		want     int
	}{
		{"raw: a point a millisecond, both ends in", 0, 7_200_000, 0, 7_200_001},
		{"raw: one millisecond", 5, 5, 0, 1},
		{"a step: a point a step, both ends in", 60_000, 7_200_000, time.Minute, 120},
		{"a step longer than the range", 0, 59_999, time.Minute, 1},
	} {
		if got := MaxPoints(tc.from, tc.to, tc.step); got != tc.want {
			t.Errorf("%s: MaxPoints(%d, %d, %s) = %d, want %d", tc.name, tc.from, tc.to, tc.step, got, tc.want)
		}
	}
}
