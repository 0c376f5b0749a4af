package split

import (
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// Collect is an add that keeps copies of what it is given, for a
// Splitter's Query. A series that comes again (a retry after part of an
// answer had been streamed) replaces the earlier copy: it is the same
// series, whole again.
func Collect(out *[]extract.Series) func([]extract.Series) error {
	at := map[uint64][]int{}
	return func(ss []extract.Series) error {
		for _, s := range ss {
			c := extract.Series{Labels: s.Labels, Samples: slices.Clone(s.Samples), Histograms: slices.Clone(s.Histograms)}
			h := s.Labels.Hash()
			i := slices.IndexFunc(at[h], func(i int) bool { return labels.Equal((*out)[i].Labels, s.Labels) })
			if i >= 0 {
				(*out)[at[h][i]] = c
				continue
			}
			at[h] = append(at[h], len(*out))
			*out = append(*out, c)
		}
		return nil
	}
}
