// Package gaps finds where the data a Prometheus kept has holes, series by
// series, and limits a recovery to them: recovered samples are written only
// strictly inside a hole, so they never interleave with surviving samples
// (Prometheus merges overlapping blocks but deduplicates only equal
// timestamps, and resampled or shifted points would sit between its own).
package gaps

import (
	"cmp"
	"context"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// Range is a hole: [From, To) in ms holds no surviving sample of its series.
type Range struct{ From, To int64 }

// Index holds the holes of every local series within [From, To).
type Index struct {
	From, To int64
	minGap   int64
	series   map[uint64][]entry
}

type entry struct {
	labels labels.Labels
	holes  []Range
}

// New prepares an index for [from, to). A stretch without samples counts as
// a hole when it is longer than minGap and than three times the series' own
// median interval, so that a series scraped every 5 minutes is not seen as
// one hole between each pair of samples. At the range's edges only the part
// of a stretch inside the range counts: a series whose first sample is a few
// seconds after from lost those seconds to the choice of from, not to an
// incident.
func New(from, to int64, minGap time.Duration) *Index {
	return &Index{From: from, To: to, minGap: minGap.Milliseconds(), series: map[uint64][]entry{}}
}

// Margin is how far before From and after To the local samples should be
// read: a series' interval, and so its threshold, is better known from more
// samples than the range holds, and a series that stopped just before the
// range is then known to have lost all of it. An hour covers the thresholds
// of series scraped up to every 20 minutes.
func (ix *Index) Margin() int64 { return max(3*ix.minGap, int64(time.Hour/time.Millisecond)) }

// Add records one local series; its samples must be sorted and should cover
// [From - Margin, To + Margin). Samples of either kind fill a hole: a
// recovered float must not land among surviving histograms either.
func (ix *Index) Add(s extract.Series) {
	threshold := max(ix.minGap, 3*medianInterval(&s))
	// Only the part of a stretch inside the range is measured, as if
	// samples sat just outside its edges.
	prev := ix.From - 1
	var holes []Range
	add := func(a, b int64) {
		if min(b, ix.To)-max(a, ix.From) > threshold {
			holes = append(holes, Range{From: max(a+1, ix.From), To: min(b, ix.To)})
		}
	}
	for t := range s.Times() {
		add(prev, t)
		prev = t
	}
	add(prev, ix.To)
	h := s.Labels.Hash()
	ix.series[h] = append(ix.series[h], entry{labels: s.Labels, holes: holes})
}

// Holes returns the holes of a series, and whether the series is in the
// local data at all (a series that is not is one hole: the whole range).
func (ix *Index) Holes(ls labels.Labels) ([]Range, bool) {
	for _, e := range ix.series[ls.Hash()] {
		if labels.Equal(e.labels, ls) {
			return e.holes, true
		}
	}
	return []Range{{ix.From, ix.To}}, false
}

// Each calls f for every local series with its holes, in no fixed order.
func (ix *Index) Each(f func(labels.Labels, []Range)) {
	for _, es := range ix.series {
		for _, e := range es {
			f(e.labels, e.holes)
		}
	}
}

// Group is a hole several series share: their holes begin within the
// minimum gap of the first one's start and end within it of its end, as
// after one incident whose edges each series saw at its own scrape. Range
// spans them all.
type Group struct {
	Range
	Series []labels.Labels // sorted
}

// Groups returns the holes of the local series, those of one incident
// together, in order of time.
func (ix *Index) Groups() []Group {
	type hole struct {
		r  Range
		ls labels.Labels
	}
	var all []hole
	ix.Each(func(ls labels.Labels, holes []Range) {
		for _, r := range holes {
			all = append(all, hole{r, ls})
		}
	})
	slices.SortFunc(all, func(a, b hole) int {
		return cmp.Or(cmp.Compare(a.r.From, b.r.From), cmp.Compare(a.r.To, b.r.To), labels.Compare(a.ls, b.ls))
	})
	var groups []Group
	var firsts []Range // the first hole of each group
	open := 0          // groups[open:] began within the minimum gap of the hole at hand
	for _, h := range all {
		for open < len(groups) && h.r.From-firsts[open].From > ix.minGap {
			open++
		}
		i := open
		for i < len(groups) && abs(h.r.To-firsts[i].To) > ix.minGap {
			i++
		}
		if i == len(groups) {
			groups = append(groups, Group{Range: h.r})
			firsts = append(firsts, h.r)
		}
		groups[i].To = max(groups[i].To, h.r.To)
		groups[i].Series = append(groups[i].Series, h.ls)
	}
	for _, g := range groups {
		slices.SortFunc(g.Series, labels.Compare)
	}
	return groups
}

func abs(d int64) int64 { return max(d, -d) }

func medianInterval(s *extract.Series) int64 {
	if s.Len() < 2 {
		return 0
	}
	d := make([]int64, 0, s.Len()-1)
	var prev int64
	first := true
	for t := range s.Times() {
		if !first {
			d = append(d, t-prev)
		}
		prev, first = t, false
	}
	slices.Sort(d)
	return d[len(d)/2]
}

// Filter is a sink that passes on only the samples inside holes.
type Filter struct {
	extract.Sink
	ix      *Index
	dropped atomic.Int64
}

// NewFilter wraps sink.
func NewFilter(sink extract.Sink, ix *Index) *Filter { return &Filter{Sink: sink, ix: ix} }

// Add implements extract.Sink. The source lends the series for the call, so
// they are trimmed in place.
func (f *Filter) Add(ctx context.Context, w extract.Window, series []extract.Series) error {
	kept := series[:0]
	for _, s := range series {
		holes, known := f.ix.Holes(s.Labels)
		if known {
			n := s.Len()
			s.Samples = inside(s.Samples, holes)
			s.Histograms = inside(s.Histograms, holes)
			f.dropped.Add(int64(n - s.Len()))
		}
		if s.Len() > 0 {
			kept = append(kept, s)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return f.Sink.Add(ctx, w, kept)
}

// Dropped counts recovered samples left out because local data covers them.
func (f *Filter) Dropped() int64 { return f.dropped.Load() }

func inside[S interface{ Time() int64 }](samples []S, holes []Range) []S {
	out := samples[:0]
	i := 0
	for _, s := range samples {
		t := s.Time()
		for i < len(holes) && holes[i].To <= t {
			i++
		}
		if i < len(holes) && holes[i].From <= t {
			out = append(out, s)
		}
	}
	return out
}
