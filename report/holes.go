package report

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/gaps"
)

// Holes lists the holes of each series of ix, sorted by labels, and with
// all the series without holes too.
func Holes(w io.Writer, ix *gaps.Index, all bool) error {
	type row struct {
		ls    labels.Labels
		holes []gaps.Range
	}
	var rows []row
	total := 0
	ix.Each(func(ls labels.Labels, holes []gaps.Range) {
		total++
		if len(holes) > 0 || all {
			rows = append(rows, row{ls, holes})
		}
	})
	slices.SortFunc(rows, func(a, b row) int { return labels.Compare(a.ls, b.ls) })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERIES\tFROM\tTO\tMISSING")
	withHoles := 0
	for _, r := range rows {
		if len(r.holes) == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t0s\n", r.ls)
			continue
		}
		withHoles++
		for _, h := range r.holes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ls, extract.FormatTime(h.From), extract.FormatTime(h.To), time.Duration(h.To-h.From)*time.Millisecond)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d of %d local series have holes in [%s, %s); series not in the local data at all are not listed, and a recovery writes them whole\n",
		withHoles, total, extract.FormatTime(ix.From), extract.FormatTime(ix.To))
	return nil
}
