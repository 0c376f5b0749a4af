package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/state"
	"github.com/promrecover/promrecover/grafana"
)

// summary is what a run reports at its end.
type summary struct {
	ds        grafana.Datasource
	res       *extract.Result
	stats     grafana.Stats
	installed []blocks.Block
	earlier   []state.Window // installed by earlier runs of the same plan
	state     string
	elapsed   time.Duration
	covered   int64 // with --only-gaps: fetched samples where surviving data has samples, not written
}

func printSummary(w io.Writer, s summary) {
	res, st, installed := s.res, s.stats, s.installed
	_, fetched := res.Totals()
	failed := res.Failed()
	written, repeats := blockTotals(installed)
	fmt.Fprintf(w, "\nrecovered %d of %d windows from %s (%s) in %s\n", len(res.Windows)-len(failed), len(res.Windows), s.ds.Name, s.ds.UID, s.elapsed.Round(time.Millisecond))
	if len(s.earlier) > 0 {
		var samples uint64
		for _, e := range s.earlier {
			samples += e.Samples
		}
		fmt.Fprintf(w, "%d more windows (%d samples) were recovered by an earlier run and skipped (state: %s)\n", len(s.earlier), samples, s.state)
	}
	fmt.Fprintf(w, "requests %d, retries %d, session rotations %d, %s received on the wire (%s decompressed)\n", st.Requests, st.Retries, st.Rotations, formatBytes(st.WireBytes), formatBytes(st.Bytes))
	fmt.Fprintf(w, "fetched %d samples of %d series; written %d samples in %d blocks\n", fetched, res.DistinctSeries, written, len(installed))
	if s.covered > 0 {
		fmt.Fprintf(w, "%d fetched samples fall where the surviving data has samples and were left out (--only-gaps)\n", s.covered)
	}
	if repeats > 0 {
		fmt.Fprintf(w, "%d series came again from overlapping selectors in the same window and were written once\n", repeats)
	}
	printBlocks(w, installed)
	for _, f := range failed {
		fmt.Fprintf(w, "NOT RECOVERED %s: %v\n", f.Window, f.Err)
	}
	for _, g := range res.Gaps() {
		fmt.Fprintf(w, "NOT RECOVERED %s\n", g)
	}
	for _, e := range s.earlier {
		for _, g := range e.Gaps {
			fmt.Fprintf(w, "NOT RECOVERED (by an earlier run) %s\n", g)
		}
	}
	for _, r := range res.Windows {
		if r.Conflicts > 0 {
			fmt.Fprintf(w, "window %s: %d samples had a second, different value at the same timestamp; the first was kept\n", r.Window, r.Conflicts)
		}
	}
}

// blockTotals sums the samples written in installed blocks and the repeated
// series they skipped.
func blockTotals(installed []blocks.Block) (written, repeats uint64) {
	for _, b := range installed {
		written += b.Samples
		repeats += b.Duplicates
	}
	return written, repeats
}

// printBlocks lists installed blocks, one a line, under a header.
func printBlocks(w io.Writer, installed []blocks.Block) {
	if len(installed) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BLOCK ULID\tMIN TIME\tMAX TIME\tSERIES\tSAMPLES")
	for _, b := range installed {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", b.ULID, formatMs(b.MinTime), formatMs(b.MaxTime), b.Series, b.Samples)
	}
	tw.Flush()
}

func formatMs(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z") }

func formatBytes(n int64) string {
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
