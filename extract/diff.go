package extract

import (
	"fmt"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
)

// Difference counts how two sets of series differ, sample by sample, for a
// report that must say how much differs; Compare stops at the first
// difference.
type Difference struct {
	Equal, Differ, Missing, Extra int64
	// First describes the first difference, with its time.
	First string
}

// Diff compares want (a file, the source) with got (what blocks hold),
// samples of both kinds, values bit for bit.
func Diff(want, got []Series) Difference {
	byLabels := func(a, b Series) int { return labels.Compare(a.Labels, b.Labels) }
	want, got = slices.Clone(want), slices.Clone(got)
	slices.SortFunc(want, byLabels)
	slices.SortFunc(got, byLabels)
	var d Difference
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		c := 0
		switch {
		case i >= len(want):
			c = 1
		case j >= len(got):
			c = -1
		default:
			c = labels.Compare(want[i].Labels, got[j].Labels)
		}
		switch {
		case c < 0:
			d.Missing += int64(want[i].Len())
			d.note("series %s is not in the blocks (from %s)", want[i].Labels, FormatTime(first(want[i])))
			i++
		case c > 0:
			d.Extra += int64(got[j].Len())
			d.note("series %s is not in the file (from %s)", got[j].Labels, FormatTime(first(got[j])))
			j++
		default:
			diffSamples(&d, want[i].Labels, want[i].Samples, got[j].Samples)
			diffSamples(&d, want[i].Labels, want[i].Histograms, got[j].Histograms)
			i++
			j++
		}
	}
	return d
}

func (d *Difference) note(format string, args ...any) {
	if d.First == "" {
		d.First = fmt.Sprintf(format, args...)
	}
}

func diffSamples[S timed[S]](d *Difference, lset labels.Labels, w, g []S) {
	a, b := 0, 0
	for a < len(w) || b < len(g) {
		switch {
		case b >= len(g) || a < len(w) && w[a].Time() < g[b].Time():
			d.Missing++
			d.note("series %s: the sample at %s (%d ms) is not in the blocks", lset, FormatTime(w[a].Time()), w[a].Time())
			a++
		case a >= len(w) || g[b].Time() < w[a].Time():
			d.Extra++
			d.note("series %s: the sample at %s (%d ms) is not in the file", lset, FormatTime(g[b].Time()), g[b].Time())
			b++
		default:
			if w[a].same(g[b]) {
				d.Equal++
			} else {
				d.Differ++
				d.note("series %s at %s (%d ms): the blocks hold %s, the file %s", lset, FormatTime(w[a].Time()), w[a].Time(), g[b].value(), w[a].value())
			}
			a++
			b++
		}
	}
}

// first is the time of a series' first sample of either kind.
func first(s Series) int64 {
	for t := range s.Times() {
		return t
	}
	return 0
}

// FormatTime prints a millisecond timestamp as the reports do: UTC, to the
// millisecond, so that two samples a millisecond apart read apart.
func FormatTime(ms int64) string { return msTime(ms).Format("2006-01-02T15:04:05.000Z") }
