package report

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
)

// BlockList lists blocks as 'promtool tsdb list' does, with their totals.
func BlockList(w io.Writer, list []blocks.BlockInfo) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BLOCK ULID\tMIN TIME\tMAX TIME\tDURATION\tNUM SERIES\tNUM SAMPLES\tNUM CHUNKS\tSIZE")
	var series, samples, chunks uint64
	var size int64
	for _, b := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", b.ULID, extract.FormatTime(b.MinTime), extract.FormatTime(b.MaxTime),
			time.Duration(b.MaxTime-b.MinTime)*time.Millisecond, b.Series, b.Samples, b.Chunks, FormatBytes(b.Size))
		series, samples, chunks, size = series+b.Series, samples+b.Samples, chunks+b.Chunks, size+b.Size
	}
	tw.Flush()
	fmt.Fprintf(w, "%d blocks, %d series (counted per block), %d samples, %d chunks, %s\n", len(list), series, samples, chunks, FormatBytes(size))
}

// FormatBytes is n in binary units: 512 B, 1.5 KiB, 3.0 GiB.
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Overlaps lists the pairs of blocks whose time ranges overlap, which
// Prometheus queries merged and merges at its next compaction.
func Overlaps(w io.Writer, ov []blocks.Overlap) {
	if len(ov) == 0 {
		fmt.Fprintln(w, "\nno overlapping blocks")
		return
	}
	fmt.Fprintf(w, "\n%d overlapping block pairs (Prometheus >= 2.39 queries them merged and merges them at its next compaction):\n", len(ov))
	for _, o := range ov {
		fmt.Fprintf(w, "OVERLAP %s and %s: %s..%s\n", o.A.ULID, o.B.ULID, extract.FormatTime(o.MinTime), extract.FormatTime(o.MaxTime))
	}
}
