package crosscheck

import (
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/extract"
)

// pass compares one fetch of a unit with the source's counts as its
// series go by: one that matches goes on to add, one that differs is held.
type pass struct {
	u    extract.Unit
	span extract.Counted // what of the fetch is counted
	want *counts
	add  func([]extract.Series) error
	// sent is the full label set's hash of each key handed on, by this
	// pass or an earlier one of the unit.
	sent map[uint64]uint64
	held map[uint64]held // by the full label set's hash
	out  []extract.Series
}

type held struct {
	s extract.Series
	k uint64 // its key in the counts
	n int
}

func newPass(u extract.Unit, span extract.Counted, want *counts, add func([]extract.Series) error, sent map[uint64]uint64) *pass {
	if sent == nil {
		sent = map[uint64]uint64{}
	}
	return &pass{u: u, span: span, want: want, add: add, sent: sent, held: map[uint64]held{}}
}

// inRange counts s's samples that the source counts, stale markers aside.
func (p *pass) inRange(s *extract.Series) int {
	n := 0
	for _, x := range s.Samples {
		if x.T >= p.span.Lo && x.T <= p.span.Hi && !value.IsStaleNaN(x.V) {
			n++
		}
	}
	for _, h := range s.Histograms {
		if h.T >= p.span.Lo && h.T <= p.span.Hi && !h.IsStale() {
			n++
		}
	}
	return n
}

// take is the source's add.
func (p *pass) take(ss []extract.Series) error {
	if p.want.err != nil {
		return p.add(ss)
	}
	p.out = p.out[:0]
	for i := range ss {
		s := &ss[i]
		k, full := p.want.key(s.Labels), s.Labels.Hash()
		if f, ok := p.sent[k]; ok && f == full {
			continue // a repeat of a series already handed on
		}
		n := p.inRange(s)
		// A second series of a key already handed on is one the source
		// did not count: its count is 0.
		e, ok := p.want.m[k]
		if _, taken := p.sent[k]; !taken && (ok && e.n == n || !ok && n == 0) {
			p.sent[k] = full
			delete(p.held, full)
			p.out = append(p.out, *s)
			continue
		}
		// The source reuses the memory of what it hands over.
		p.held[full] = held{s: extract.Series{Labels: s.Labels, Samples: slices.Clone(s.Samples), Histograms: slices.Clone(s.Histograms)}, k: k, n: n}
	}
	if len(p.out) == 0 {
		return nil
	}
	return p.add(p.out)
}

// release hands on what was held, for a unit that is not judged.
func (p *pass) release() error {
	out := make([]extract.Series, 0, len(p.held))
	for _, h := range p.held {
		out = append(out, h.s)
	}
	p.held = nil
	if len(out) == 0 {
		return nil
	}
	return p.add(out)
}

// diffs lists the series whose counts differ, held ones and those the
// source counts but the fetch never brought, in the order of their labels.
func (p *pass) diffs() []Diff {
	var out []Diff
	seen := map[uint64]bool{}
	for _, h := range p.held {
		d := Diff{Series: h.s.Labels, Fetched: h.n}
		if _, taken := p.sent[h.k]; !taken {
			d.Source = p.want.m[h.k].n
		}
		seen[h.k] = true
		out = append(out, d)
	}
	for k, e := range p.want.m {
		if _, taken := p.sent[k]; !taken && !seen[k] && e.n > 0 {
			out = append(out, Diff{Series: e.lset, Source: e.n})
		}
	}
	slices.SortFunc(out, func(a, b Diff) int { return labels.Compare(a.Series, b.Series) })
	return out
}

// Diff is a series whose samples the source counts differently from what
// was fetched of it.
type Diff struct {
	Series          labels.Labels // without __name__ where the source's count drops it and nothing of it was fetched
	Source, Fetched int
}

func (d Diff) String() string {
	return fmt.Sprintf("%s: %d samples at the source, %d fetched", d.Series, d.Source, d.Fetched)
}

// namedDiffs is how many series a DiffError names: a NOT RECOVERED line
// must stay readable.
const namedDiffs = 5

// DiffError fails a unit whose fetch differed from the source's count
// twice, fetched and counted again in between.
type DiffError struct {
	Unit  extract.Unit
	Diffs []Diff
}

func (e *DiffError) Error() string {
	parts := make([]string, 0, namedDiffs)
	for _, d := range e.Diffs[:min(len(e.Diffs), namedDiffs)] {
		parts = append(parts, d.String())
	}
	text := strings.Join(parts, "; ")
	if more := len(e.Diffs) - namedDiffs; more > 0 {
		text += fmt.Sprintf("; and %d more series", more)
	}
	return fmt.Sprintf("the source counts other samples from %s to %s than it answered, also when fetched again, so the window is not installed: %s; %v",
		extract.FormatTime(e.Unit.From), extract.FormatTime(e.Unit.To), text, errDiffers)
}

// Unwrap returns the fix, which names a parameter.
func (e *DiffError) Unwrap() error { return errDiffers }

var errDiffers = extract.ParamErrorf("the source (or a proxy before it) cuts its answers short, or its data changed while it was read: run again, or check its logs; turning the check with the source's counts off installs what it answers unchecked")
