package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
)

// BlockList lists blocks with their totals. The rows fit 80 columns for
// the blocks a recovery writes: the start to the second and the span to
// the minute, which tell one block from the next (the exact times are in
// each block's meta.json), and the sizes short; the chunks are only in
// the totals, the last row.
func BlockList(w io.Writer, list []blocks.BlockInfo) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BLOCK ULID\tSTART\tSPAN\tSERIES\tSAMPLES\tSIZE")
	var series, samples, chunks uint64
	var size int64
	for _, b := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", b.ULID, rfc3339(b.MinTime), span(b.MaxTime-b.MinTime), b.Series, b.Samples, shortBytes(b.Size))
		series, samples, chunks, size = series+b.Series, samples+b.Samples, chunks+b.Chunks, size+b.Size
	}
	// The totals as a last row: its series summed over the blocks, as
	// the column has them.
	fmt.Fprintf(tw, "%d blocks, %d chunks\t\t\t%d\t%d\t%s\n", len(list), chunks, series, samples, shortBytes(size))
	tw.Flush()
}

// rfc3339 is a time in milliseconds to the second, as windows are named.
func rfc3339(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339) }

// span is a block's span to the minute, without the zero units: 2h,
// 1h59m; a block under a minute long to the second.
func span(ms int64) string {
	d, unit := time.Duration(ms)*time.Millisecond, time.Minute
	if d < time.Minute {
		unit = time.Second
	}
	s := d.Round(unit).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// FormatBytes is n in binary units: 512 B, 1.5 KiB, 3.0 GiB.
func FormatBytes(n int64) string {
	return extract.Size(n).String()
}

// shortBytes is n as ls -lh has it, for a table column: 512B, 1.5K, 3.0G.
func shortBytes(n int64) string {
	num, unit := extract.Size(n).Scaled()
	if unit == 0 {
		return fmt.Sprintf("%dB", n)
	}
	return fmt.Sprintf("%.1f%c", num, unit)
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
