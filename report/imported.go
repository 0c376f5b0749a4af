package report

import (
	"fmt"
	"io"
	"time"

	"github.com/promrecover/promrecover/importer"
	"github.com/promrecover/promrecover/recovery"
)

// Imported prints what an import of the file name did in elapsed: the
// windows, the samples read, written and already in the data directory,
// the blocks, and each window that was not imported.
func Imported(w io.Writer, name string, res *recovery.Imported, elapsed time.Duration, words Wording) {
	written, _ := Totals(res.Installed)
	failed := res.Failed()
	what := string(res.Format)
	if res.Format == importer.OpenMetrics || res.Format == importer.JSONL {
		what += fmt.Sprintf(", %d lines", res.Lines)
	}
	fmt.Fprintf(w, "\nimported %d of %d windows from %s (%s) in %s\n", len(res.Windows)-len(failed), len(res.Windows), name, what, elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "read %d samples of %d series; written %d samples in %d blocks\n", res.Read, res.DistinctSeries, written, len(res.Installed))
	held(w, res.Held, "samples read", words.Out)
	HeldBack(w, res.HeldBack)
	Installed(w, res.Installed)
	for _, f := range failed {
		fmt.Fprintf(w, "NOT IMPORTED %s: %s\n", f.Window, WindowReason(f.Err, words))
	}
}

// NotImported is the error of an import that left failed of total windows
// out; stopped is why the run stopped (a full disk), if it did.
func NotImported(failed, total int, stopped error) string {
	if stopped != nil {
		return fmt.Sprintf("%d of %d windows were not imported: %v", failed, total, stopped)
	}
	return fmt.Sprintf("%d of %d windows were not imported (listed above); the others are installed", failed, total)
}
