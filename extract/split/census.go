package split

import (
	"context"
	"maps"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
)

// Sets is the Census of a selection whose label sets a source listed (a
// series API): counting and narrowing them needs no further request, so
// every source that lists sets counts them the same.
type Sets []labels.Labels

// Count counts the sets by their value of each of names; those without it
// count under "".
func (s Sets) Count(_ context.Context, names ...string) ([]map[string]int, error) {
	out := make([]map[string]int, len(names))
	for i, name := range names {
		out[i] = map[string]int{}
		for _, ls := range s {
			out[i][ls.Get(name)]++
		}
	}
	return out, nil
}

// LabelNames lists the label names of the sets, sorted.
func (s Sets) LabelNames(context.Context) ([]string, error) {
	seen := map[string]struct{}{}
	for _, ls := range s {
		ls.Range(func(l labels.Label) { seen[l.Name] = struct{}{} })
	}
	return slices.Sorted(maps.Keys(seen)), nil
}

// Narrow is the census of the sets whose label name equals value.
func (s Sets) Narrow(name, value string) Census { return s.Where(name, value) }

// Where is the sets whose label name equals value; nil when none does.
func (s Sets) Where(name, value string) Sets {
	var out Sets
	for _, ls := range s {
		if ls.Get(name) == value {
			out = append(out, ls)
		}
	}
	return out
}
