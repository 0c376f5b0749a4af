// Package blockstest writes known series into a data directory as the
// blocks of a recovery, for the tests of the packages that read blocks
// back or serve them. Only tests import it.
package blockstest

import (
	"context"
	"testing"
	"time"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
)

// Install writes the series' samples in [from, to) into dir through the
// blocks sink, a verified block per 2h window.
func Install(t testing.TB, dir string, ss []extract.Series, from, to time.Time) {
	t.Helper()
	plan, err := extract.NewPlan(from, to, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := blocks.NewSink(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	for _, w := range plan.Windows {
		if err := sink.Add(context.Background(), w, extract.Clip(ss, w.Start, w.End)); err != nil {
			t.Fatal(err)
		}
		if err := sink.Done(context.Background(), w, nil); err != nil {
			t.Fatal(err)
		}
	}
}
