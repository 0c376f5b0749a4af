package extract

import (
	"fmt"
	"time"
)

// MaxPoints is the most points a series of a query over [from, to] (epoch
// ms) can hold: one a millisecond for raw samples (step 0), one a step
// otherwise. An answer with more repeats timestamps, and a decoder that
// holds a series whole refuses it as it reads (a *PointsError) rather than
// let one series take memory the window cannot explain.
func MaxPoints(from, to int64, step time.Duration) int {
	if step <= 0 {
		return int(to - from + 1)
	}
	return int((to-from)/step.Milliseconds() + 1)
}

// PointsError is a series with more points than MaxPoints allows.
type PointsError struct{ Max int }

func (e *PointsError) Error() string {
	return fmt.Sprintf("more than %d rows, the most a series of this query can have (a point a millisecond, or a step, of its range): the answer repeats timestamps, and is refused before it fills memory", e.Max)
}
