package extract

import (
	"fmt"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
)

// Clip copies the samples of series that fall in [mint, maxt), leaving out
// series with none.
func Clip(series []Series, mint, maxt int64) []Series {
	var out []Series
	for _, s := range series {
		c := Series{Labels: s.Labels, Samples: clip(s.Samples, mint, maxt), Histograms: clip(s.Histograms, mint, maxt)}
		if c.Len() > 0 {
			out = append(out, c)
		}
	}
	return out
}

func clip[S timed[S]](samples []S, mint, maxt int64) []S {
	lo, hi := Before(samples, mint), Before(samples, maxt)
	if hi <= lo {
		return nil
	}
	return slices.Clone(samples[lo:hi])
}

// Compare checks that two sets of series hold the same samples of both
// kinds, values bit for bit, whatever their order; it describes the first
// difference. It is how the demo and the tests prove that nothing was lost
// or invented.
func Compare(want, got []Series) error {
	byLabels := func(a, b Series) int { return labels.Compare(a.Labels, b.Labels) }
	want, got = slices.Clone(want), slices.Clone(got)
	slices.SortFunc(want, byLabels)
	slices.SortFunc(got, byLabels)
	for i := 0; i < len(want) || i < len(got); i++ {
		switch {
		case i >= len(got):
			return fmt.Errorf("series %s is missing (%d of %d series present)", want[i].Labels, len(got), len(want))
		case i >= len(want):
			return fmt.Errorf("series %s was not in the source", got[i].Labels)
		case !labels.Equal(want[i].Labels, got[i].Labels):
			if labels.Compare(want[i].Labels, got[i].Labels) < 0 {
				return fmt.Errorf("series %s is missing", want[i].Labels)
			}
			return fmt.Errorf("series %s was not in the source", got[i].Labels)
		}
		if err := compare(want[i].Samples, got[i].Samples, ""); err != nil {
			return fmt.Errorf("series %s: %w", want[i].Labels, err)
		}
		if err := compare(want[i].Histograms, got[i].Histograms, "histogram "); err != nil {
			return fmt.Errorf("series %s: %w", want[i].Labels, err)
		}
	}
	return nil
}

func compare[S timed[S]](w, g []S, kind string) error {
	for j := 0; j < len(w) || j < len(g); j++ {
		switch {
		case j >= len(g):
			return fmt.Errorf("%ssample at %d is missing (%d of %d %ssamples present)", kind, w[j].Time(), len(g), len(w), kind)
		case j >= len(w):
			return fmt.Errorf("%ssample at %d was not in the source", kind, g[j].Time())
		case !w[j].same(g[j]):
			return fmt.Errorf("%ssample %d is %v, want %v", kind, j, g[j], w[j])
		}
	}
	return nil
}

// CountSamples sums the samples of both kinds of series.
func CountSamples(series []Series) (n int64) {
	for _, s := range series {
		n += int64(s.Len())
	}
	return n
}
