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
		lo, _ := slices.BinarySearchFunc(s.Samples, mint, func(a Sample, t int64) int { return ByTime(a, Sample{T: t}) })
		hi, _ := slices.BinarySearchFunc(s.Samples, maxt, func(a Sample, t int64) int { return ByTime(a, Sample{T: t}) })
		if hi > lo {
			out = append(out, Series{Labels: s.Labels, Samples: slices.Clone(s.Samples[lo:hi])})
		}
	}
	return out
}

// Compare checks that two sets of series hold the same samples, values bit
// for bit, whatever their order; it describes the first difference. It is
// how the demo and the tests prove that nothing was lost or invented.
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
		w, g := want[i].Samples, got[i].Samples
		for j := 0; j < len(w) || j < len(g); j++ {
			switch {
			case j >= len(g):
				return fmt.Errorf("series %s: sample at %d is missing (%d of %d samples present)", want[i].Labels, w[j].T, len(g), len(w))
			case j >= len(w):
				return fmt.Errorf("series %s: sample at %d was not in the source", got[i].Labels, g[j].T)
			case w[j].T != g[j].T || !sameValue(w[j].V, g[j].V):
				return fmt.Errorf("series %s: sample %d is (%d, %v), want (%d, %v)", want[i].Labels, j, g[j].T, g[j].V, w[j].T, w[j].V)
			}
		}
	}
	return nil
}

// CountSamples sums the samples of series.
func CountSamples(series []Series) (n int64) {
	for _, s := range series {
		n += int64(len(s.Samples))
	}
	return n
}
