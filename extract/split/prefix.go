package split

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// Splitting by prefixes. Where no lookup can say which values a label
// has (the label and series API refused, count queries over the same
// series limit as the query), a part is cut by regular expressions on the
// values' prefixes instead: a cell is the values that start with a prefix
// and go on with a rune of a range, and with it, when exact, the prefix
// itself. Halving a cell's range, then lengthening its prefix by the one
// rune left, makes two cells that are disjoint and together the cell, by
// construction: nothing has to be known of the values first, and a cell
// is refined only where the datasource refuses it.

// cell is a set of a label's values: those that start with prefix and go
// on with a rune in [lo, hi], and prefix itself when exact. lo > hi is no
// rune: the cell is prefix alone.
type cell struct {
	prefix string
	lo, hi rune
	exact  bool
}

// rootCell is every value of a label, the empty one (no label) included;
// every series has a metric name, so the name's root leaves "" out.
func rootCell(label string) cell {
	return cell{lo: 0, hi: unicode.MaxRune, exact: label != model.MetricNameLabel}
}

func (c cell) full() bool { return c.lo == 0 && c.hi == unicode.MaxRune }

// split cuts c into two disjoint cells whose union is c; nil when c is a
// single value. The first holds the values a datasource more likely has
// many of, so that when it comes back empty the second is known to be as
// big as c without asking (see run.solve).
func (c cell) split() []cell {
	switch {
	case c.lo > c.hi:
		return nil
	case c.exact && c.full() && c.prefix == "":
		// The series with the label first: without it, they are all in
		// the second cell, and one query shows the label is not there.
		return []cell{{lo: 0, hi: unicode.MaxRune}, {lo: 1, hi: 0, exact: true}}
	case c.lo == c.hi && c.exact:
		longer := c.prefix + string(c.lo)
		return []cell{{prefix: longer, lo: 0, hi: unicode.MaxRune, exact: true}, {prefix: c.prefix, lo: 1, hi: 0, exact: true}}
	case c.lo == c.hi:
		return cell{prefix: c.prefix + string(c.lo), lo: 0, hi: unicode.MaxRune, exact: true}.split()
	}
	mid := splitPoint(c.lo, c.hi)
	return []cell{{prefix: c.prefix, lo: c.lo, hi: mid, exact: c.exact}, {prefix: c.prefix, lo: mid + 1, hi: c.hi}}
}

// runeWeight is how often a rune starts the rest of a label value, roughly:
// metric names and label values are mostly lowercase words, digits and
// underscores. Halving a range at its weighted middle finds the rune a
// crowded cell goes on with in fewer refusals.
func runeWeight(r rune) int {
	switch {
	case 'a' <= r && r <= 'z', r == '_':
		return 8
	case '0' <= r && r <= '9':
		return 4
	case 'A' <= r && r <= 'Z':
		return 2
	case strings.ContainsRune(":-./", r):
		return 1
	}
	return 0
}

// splitPoint is where [lo, hi] (lo < hi) is halved: the last rune of the
// first half, at the weighted middle, or the middle of a range no rune of
// which is weighed.
func splitPoint(lo, hi rune) rune {
	total := 0
	for r := lo; r <= min(hi, utf8.RuneSelf); r++ {
		total += runeWeight(r)
	}
	if total == 0 {
		return lo + (hi-lo)/2
	}
	sum := 0
	for r := lo; r < hi; r++ {
		if sum += runeWeight(r); 2*sum >= total {
			return r
		}
	}
	return hi - 1
}

// matcher is the matcher on label that selects the values of c.
func (c cell) matcher(label string) *labels.Matcher {
	if c.lo > c.hi {
		return labels.MustNewMatcher(labels.MatchEqual, label, c.prefix)
	}
	var next string
	switch {
	case c.full() && c.exact:
		return labels.MustNewMatcher(labels.MatchRegexp, label, regexp.QuoteMeta(c.prefix)+".*")
	case c.full():
		return labels.MustNewMatcher(labels.MatchRegexp, label, regexp.QuoteMeta(c.prefix)+".+")
	case c.lo == c.hi:
		next = classRune(c.lo) + ".*"
	default:
		next = "[" + classRune(c.lo) + "-" + classRune(c.hi) + "].*"
	}
	if c.exact {
		next = "(?:" + next + ")?"
	}
	return labels.MustNewMatcher(labels.MatchRegexp, label, regexp.QuoteMeta(c.prefix)+next)
}

// classRune writes r for a character class, and alone: letters, digits and
// the usual punctuation of names as they are, anything else escaped.
func classRune(r rune) string {
	if r < utf8.RuneSelf && (runeWeight(r) > 0 && r != '-' && r != '.') {
		return string(r)
	}
	return fmt.Sprintf(`\x{%x}`, r)
}

// cut is how a part was cut by prefixes: the cell of each label's values
// it holds, the matchers it was cut from, and the label it was cut by
// last.
type cut struct {
	base  []*labels.Matcher
	cells map[string]cell
	last  string
}

// prefixParts cuts p, which the datasource refused, by the prefixes of
// one of labels' values (the metric name first): the label it was cut by
// last, unless that cut found p's series all in one cell (crowded: they
// likely share that label's value), then the next label that can still
// cut it, in turn. Cutting by several labels in turn is as disjoint and
// complete as by one, and gets through values that share long prefixes
// without spelling them out a rune at a time. Nil when no label can cut
// p further.
func prefixParts(p part, labels []string) ([]part, string) {
	c := cut{base: p.ms, cells: map[string]cell{}}
	if p.cut != nil {
		c = *p.cut
	}
	start := slices.Index(labels, c.last)
	if start >= 0 && p.crowded >= crowdedCuts {
		start++
	}
	for i := range labels {
		l := labels[(max(start, 0)+i)%len(labels)]
		if slices.Contains(p.tried, l) || (p.pinned(l) && !c.has(l)) {
			continue
		}
		cl, ok := c.cells[l]
		if !ok {
			cl = rootCell(l)
		}
		cells := cl.split()
		if cells == nil {
			continue
		}
		parts := p.cells(c, l, cells)
		if !ok && cl.exact {
			// The second part, the series without the label, are all of
			// p when the first comes back empty: p again, with the label
			// tried, so that its selector stays as it was.
			twin := p
			twin.tried = append(slices.Clone(p.tried), l)
			parts[1].twin = &twin
		}
		return parts, "prefix of " + l
	}
	return nil, ""
}

// crowdedCuts is how many cuts by one label in a row may find all of a
// part's series on one side before the next label takes its turn: about
// eight runes' worth. Values that share a prefix (node_...) are best told
// apart by that label, since a turn of another label multiplies the parts,
// but a single long value is not spelled out to its end.
const crowdedCuts = 40

// has reports whether c cuts label l to a cell of more than one value.
func (c cut) has(l string) bool {
	cl, ok := c.cells[l]
	return ok && cl.lo <= cl.hi
}

// cells are the parts of p that cut it by label l into cells.
func (p part) cells(c cut, l string, cells []cell) []part {
	out := make([]part, len(cells))
	for i, cl := range cells {
		sub := cut{base: c.base, cells: maps.Clone(c.cells), last: l}
		sub.cells[l] = cl
		ms := slices.Clone(c.base)
		for _, name := range slices.Sorted(maps.Keys(sub.cells)) {
			ms = append(ms, sub.cells[name].matcher(name))
		}
		out[i] = part{ms: ms, sel: extract.Canonical(ms), from: p.from, to: p.to, cut: &sub, tried: p.tried}
		if l == c.last {
			out[i].crowded = p.crowded
		}
	}
	return out
}

// seenValues bounds the values see keeps of a label: enough to tell a
// label that divides series from one that names them all alike.
const seenValues = 64

// see keeps the labels of series a part fetched, for prefixLabels.
func (r *run) see(series []extract.Series) {
	for _, s := range series {
		s.Labels.Range(func(l labels.Label) {
			vs := r.seen[l.Name]
			if vs == nil {
				vs = map[string]struct{}{}
				r.seen[l.Name] = vs
			}
			if len(vs) < seenValues {
				vs[l.Value] = struct{}{}
			}
		})
	}
}

// prefixLabels are the labels to cut a refused part by, in order: the
// metric name; the labels of the series fetched so far that had several
// values, those with the most first; the labels that usually have many
// values; the labels fetched with one value only. After the name, at most
// Options.MaxLabelLookups of them: a label the part's series lack costs a
// query to find out.
func (r *run) prefixLabels() []string {
	var many, one []string
	for _, name := range splitCandidates(slices.Sorted(maps.Keys(r.seen)), nil) {
		if len(r.seen[name]) > 1 {
			many = append(many, name)
		} else {
			one = append(one, name)
		}
	}
	slices.SortStableFunc(many, func(a, b string) int { return cmp.Compare(len(r.seen[b]), len(r.seen[a])) })
	out := many
	for _, name := range preferredSplitLabels {
		if _, ok := r.seen[name]; !ok {
			out = append(out, name)
		}
	}
	out = append(out, one...)
	return append([]string{model.MetricNameLabel}, out[:min(len(out), r.opts.MaxLabelLookups)]...)
}
