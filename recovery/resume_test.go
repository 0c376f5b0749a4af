package recovery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/extract/relabel"
	"github.com/promrecover/promrecover/internal/seriestest"
)

// The states written so far hold these texts: the same rules must give
// them, or a resume would look like another recovery.
func TestRelabelKey(t *testing.T) {
	for _, tc := range []struct {
		drop, set []string
		want      string
	}{
		{nil, nil, ""},
		{[]string{"cluster", "cluster", " replica "}, []string{"env=prod", "env=prod"}, "--drop-label cluster --drop-label replica --set-label env=prod"},
		{nil, []string{"b=1", "a=x=y"}, "--set-label a=x=y --set-label b=1"},
		{[]string{"instance"}, nil, "--drop-label instance"},
	} {
		r, err := relabel.Parse(tc.drop, tc.set)
		if err != nil {
			t.Fatal(err)
		}
		if got := relabelKey(r); got != tc.want {
			t.Errorf("relabelKey(%q, %q) = %q, want %q", tc.drop, tc.set, got, tc.want)
		}
	}
}

// TestRetentionWarnings: the retention is counted as Prometheus counts it,
// from the newest block in Out or of the run (issue 11: a Prometheus that
// was down kept and served blocks older than now minus the retention), and
// only the blocks a run installed are named after it.
func TestRetentionWarnings(t *testing.T) {
	later := from.Add(300 * time.Hour) // the clock, long after the range
	tests := []struct {
		name   string
		newest time.Duration // of the block already in Out, after from; 0: none
		fail   bool          // the first window fails
		before int           // windows the summary before the run counts; 0: no summary
		after  []string      // windows named after the run
	}{
		{name: "the recovered blocks are the newest"},
		{name: "Prometheus was down: its newest block counts, not the clock", newest: 10 * time.Hour},
		{name: "a newer block deletes the older window", newest: 203 * time.Hour, before: 1,
			after: []string{"2025-08-03T02:00:00Z..2025-08-03T04:00:00Z"}},
		{name: "a failed window is not named", newest: 203 * time.Hour, fail: true, before: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.newest > 0 {
				seriestest.Block(t, dir, from.Add(tt.newest).UnixMilli())
			}
			src := scraped(up("a"))
			if tt.fail {
				src.fail = map[int64]error{from.UnixMilli(): errors.New("refused")}
			}
			var log bytes.Buffer
			j := newJob(t, dir, src, &log)
			j.Now, j.Retention = later, 200*time.Hour
			if _, err := j.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			var summary, named []string
			for _, l := range strings.Split(log.String(), "\n") {
				switch {
				case strings.Contains(l, "msg=\"windows are older than the retention"):
					summary = append(summary, l)
				case strings.Contains(l, "older than the retention"):
					named = append(named, l)
				}
			}
			if tt.before == 0 && len(summary) > 0 || tt.before > 0 && (len(summary) != 1 || !strings.Contains(summary[0], fmt.Sprintf("windows=%d ", tt.before))) {
				t.Errorf("summary before the run %q, want %d windows in one line", summary, tt.before)
			}
			if len(named) != len(tt.after) {
				t.Fatalf("named after the run:\n%s\nwant %q", strings.Join(named, "\n"), tt.after)
			}
			for i, w := range tt.after {
				if !strings.Contains(named[i], "msg=\"the block is older than the retention, counted from the newest block: Prometheus will delete it at the next reload\" window="+w+" block=") {
					t.Errorf("line %q does not name window %s", named[i], w)
				}
			}
		})
	}
}
