package split

import (
	"cmp"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// coalesceGaps joins gaps of the same selector that follow each other in
// time (the halves of one series that never passed) into one, keeping the
// first reason.
func coalesceGaps(gaps []extract.Gap) []extract.Gap {
	var out []extract.Gap
	for _, g := range gaps {
		if n := len(out); n > 0 && out[n-1].Selector == g.Selector && out[n-1].To == g.From {
			out[n-1].To = g.To
			continue
		}
		out = append(out, g)
	}
	return out
}

// trim keeps the samples in [from, to), so parts split by time do not
// overlap (a raw part's range selector also holds its left neighbour's
// end).
func trim(series []extract.Series, from, to int64) []extract.Series {
	out := series[:0]
	for _, s := range series {
		s.Samples = slices.DeleteFunc(s.Samples, func(smp extract.Sample) bool { return smp.T < from || smp.T >= to })
		s.Histograms = slices.DeleteFunc(s.Histograms, func(h extract.HistogramSample) bool { return h.T < from || h.T >= to })
		if len(s.Samples)+len(s.Histograms) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// mergeSeries joins the pieces of each series (one per part split by time)
// into one series, samples in time order, keeping the first-seen order of
// series.
func mergeSeries(in []extract.Series) []extract.Series {
	byHash := map[uint64][]int{}
	var out []extract.Series
	for _, s := range in {
		h := s.Labels.Hash()
		i := slices.IndexFunc(byHash[h], func(i int) bool { return labels.Equal(out[i].Labels, s.Labels) })
		if i < 0 {
			byHash[h] = append(byHash[h], len(out))
			out = append(out, s)
			continue
		}
		j := byHash[h][i]
		// Clip: never append into an array the decoder may share.
		out[j].Samples = append(slices.Clip(out[j].Samples), s.Samples...)
		out[j].Histograms = append(slices.Clip(out[j].Histograms), s.Histograms...)
	}
	for i := range out {
		if !slices.IsSortedFunc(out[i].Samples, extract.ByTime) {
			slices.SortStableFunc(out[i].Samples, extract.ByTime)
		}
		byT := func(a, b extract.HistogramSample) int { return cmp.Compare(a.T, b.T) }
		if !slices.IsSortedFunc(out[i].Histograms, byT) {
			slices.SortStableFunc(out[i].Histograms, byT)
		}
	}
	return out
}
