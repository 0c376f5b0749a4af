package split

import (
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// part is a selector over a time range [from, to) inside the unit.
type part struct {
	ms       []*labels.Matcher
	sel      string
	from, to int64
	// cut is how the part was cut by prefixes (see prefixParts); tried
	// lists the labels such a cut found its series all lack.
	cut   *cut
	tried []string
	// twin, when set, is the part to solve in its place, without a
	// query, when the part before it came back empty; crowded counts the
	// cuts by one label in a row that made such second parts.
	twin    *part
	crowded int
}

// pin returns the part narrowed to the series whose label name equals value.
// The part's other matchers on name are dropped: value was found among the
// series the part selects (and checked against them by the caller), so they
// add nothing, and a pinned metric name printed before the braces must be
// the only __name__ matcher.
func (p part) pin(name, value string) part {
	ms := make([]*labels.Matcher, 0, len(p.ms)+1)
	for _, m := range p.ms {
		if m.Name != name {
			ms = append(ms, m)
		}
	}
	ms = append(ms, labels.MustNewMatcher(labels.MatchEqual, name, value))
	return part{ms: ms, sel: extract.Canonical(ms), from: p.from, to: p.to}
}

// except narrows the part to the series whose label name has none of values
// (which includes the series that lack the label).
func (p part) except(name string, values []string) part {
	ms := with(p.ms, noneOf(name, values))
	return part{ms: ms, sel: extract.Canonical(ms), from: p.from, to: p.to}
}

// pinned reports whether the part pins label name with "=".
func (p part) pinned(name string) bool {
	return slices.ContainsFunc(p.ms, func(m *labels.Matcher) bool { return m.Name == name && m.Type == labels.MatchEqual })
}

// admits reports whether every matcher of the part on label name accepts value.
func (p part) admits(name, value string) bool {
	for _, m := range p.ms {
		if m.Name == name && !m.Matches(value) {
			return false
		}
	}
	return true
}

func with(ms []*labels.Matcher, m *labels.Matcher) []*labels.Matcher {
	return append(slices.Clone(ms), m)
}

func oneOf(name string, values []string) *labels.Matcher {
	if len(values) == 1 {
		return labels.MustNewMatcher(labels.MatchEqual, name, values[0])
	}
	return labels.MustNewMatcher(labels.MatchRegexp, name, alternation(values))
}

func noneOf(name string, values []string) *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchNotRegexp, name, alternation(values))
}

func alternation(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = regexp.QuoteMeta(v)
	}
	return strings.Join(quoted, "|")
}
