package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/gaps"
)

// listed is how many series of a shared hole are named; the others are
// counted.
const listed = 3

// Holes lists the holes of the local series of ix, one line for each hole
// several series share, and with all the series without holes too. fill is
// the command that writes into the holes, printed after them: gaps is run to
// choose what to recover, and the range and selectors of that command are
// easy to get wrong by hand.
func Holes(w io.Writer, ix *gaps.Index, all bool, fill string) error {
	total, withHoles := 0, 0
	var whole []labels.Labels
	ix.Each(func(ls labels.Labels, holes []gaps.Range) {
		total++
		switch {
		case len(holes) > 0:
			withHoles++
		case all:
			whole = append(whole, ls)
		}
	})
	slices.SortFunc(whole, labels.Compare)
	groups := ix.Groups()
	if len(groups) > 0 || len(whole) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "FROM\tTO\tMISSING\tSERIES")
		for _, g := range groups {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", extract.FormatTime(g.From), extract.FormatTime(g.To), time.Duration(g.To-g.From)*time.Millisecond, sharers(g.Series))
		}
		for _, ls := range whole {
			fmt.Fprintf(tw, "-\t-\t0s\t%s\n", ls)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	rng := fmt.Sprintf("[%s, %s)", extract.FormatTime(ix.From), extract.FormatTime(ix.To))
	if withHoles == 0 {
		_, err := fmt.Fprintf(w, "none of the %d local series has a hole in %s; series not in the local data at all are not listed, and a recovery writes them whole\n", total, rng)
		return err
	}
	_, err := fmt.Fprintf(w, "%d of %d local series have holes in %s; series not in the local data at all are not listed, and a recovery writes them whole\nto write into the holes: %s\n",
		withHoles, total, rng, fill)
	return err
}

// sharers names the series of a hole: the labels they all have, and a few
// of them.
func sharers(series []labels.Labels) string {
	if len(series) == 1 {
		return series[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d series", len(series))
	if common := shared(series); !common.IsEmpty() {
		fmt.Fprintf(&b, " %s", common)
	}
	b.WriteString(": ")
	for i, ls := range series[:min(len(series), listed)] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(ls.String())
	}
	if n := len(series) - listed; n > 0 {
		fmt.Fprintf(&b, " and %d more", n)
	}
	return b.String()
}

// shared returns the labels every one of series has with the same value.
func shared(series []labels.Labels) labels.Labels {
	b := labels.NewBuilder(series[0])
	series[0].Range(func(l labels.Label) {
		for _, ls := range series[1:] {
			if ls.Get(l.Name) != l.Value {
				b.Del(l.Name)
				return
			}
		}
	})
	return b.Labels()
}
