package blocks

import (
	"slices"
	"time"
)

// RetentionCutoff is the maxTime (epoch ms) at or before which Prometheus's
// time retention deletes a block, in a data directory whose blocks end at
// maxTimes; ok is false with no blocks or no retention.
//
// It is the rule of tsdb.BeyondTimeRetention (prometheus tsdb/db.go), which
// sorts the blocks by MaxTime, newest first, and deletes every block whose
// MaxTime is the retention or more before the newest one's. Prometheus
// measures from its newest block, not from the clock: a Prometheus that was
// down keeps blocks older than now minus the retention, and a recovered
// block can itself become the newest and keep the others.
func RetentionCutoff(maxTimes []int64, retention time.Duration) (cutoff int64, ok bool) {
	if len(maxTimes) == 0 || retention <= 0 {
		return 0, false
	}
	return slices.Max(maxTimes) - retention.Milliseconds(), true
}
