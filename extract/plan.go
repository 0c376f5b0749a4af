package extract

import (
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// WindowMs is the length of a window: Prometheus's smallest block range, so
// recovered blocks line up with, and compact like, the ones Prometheus wrote.
const WindowMs = int64(2 * time.Hour / time.Millisecond)

// AllSeries is the selector used when the user names none.
const AllSeries = `{__name__=~".+"}`

// Window is a block range [Start, End) in epoch milliseconds, aligned to a
// multiple of WindowMs. It is the unit of output and of verification: a
// window is installed whole or not at all.
type Window struct {
	Start, End int64
}

func (w Window) String() string {
	return fmt.Sprintf("%s..%s", msTime(w.Start).Format(time.RFC3339), msTime(w.End).Format(time.RFC3339))
}

// Unit is one query: one selector over the part of one window that the plan
// covers. It always holds whole series for that part, so a sink can append a
// unit's series without waiting for the rest of the window.
type Unit struct {
	Window   Window
	From, To int64 // [From, To) within Window, in ms
	Selector string
	Step     time.Duration // 0 means raw samples
}

// Plan is what a run will fetch. Building it does no I/O.
type Plan struct {
	From, To  int64 // [From, To) in ms
	Step      time.Duration
	Selectors []string
	Windows   []Window
}

// MaxPointsPerSeries is the most points Prometheus returns for one series of
// a range query.
const MaxPointsPerSeries = 11000

// NewPlan checks the selection and cuts [from, to) into windows. Selectors
// are checked with Prometheus's own parser and kept in its canonical form.
func NewPlan(from, to time.Time, step time.Duration, selectors []string) (*Plan, error) {
	if !from.Before(to) {
		return nil, Usage(ParamErrorf("the range's start (%s) must be before its end (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339)))
	}
	if step < 0 {
		return nil, Usage(ParamErrorf("the step must be positive"))
	}
	if step > 0 && step%time.Millisecond != 0 {
		return nil, Usage(ParamErrorf("the step %s: Prometheus steps are whole milliseconds", step))
	}
	// A window's worth of steps must fit Prometheus's per-series limit, so
	// that one unit per window never needs splitting by time.
	if step > 0 && WindowMs/step.Milliseconds() >= MaxPointsPerSeries {
		return nil, Usage(ParamErrorf("the step %s is too fine: a 2h window would need more than %d points a series; use 1s or more", step, MaxPointsPerSeries))
	}
	p := &Plan{From: from.UnixMilli(), To: to.UnixMilli(), Step: step}
	if len(selectors) == 0 {
		selectors = []string{AllSeries}
	}
	seen := map[string]bool{}
	for _, s := range selectors {
		ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(s)
		if err != nil {
			return nil, Usage(ParamErrorf("the selector %q is not a series selector (%v); write one like 'up' or '{job=\"node\"}'", s, err))
		}
		if len(ms) == 0 {
			return nil, Usage(ParamErrorf("the selector %q has no matcher; give at least one, e.g. '{job=\"node\"}', or no selector for every series", s))
		}
		if !slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return !m.Matches("") }) {
			return nil, Usage(ParamErrorf("the selector %q is not a series selector Prometheus accepts: it needs at least one matcher that does not match the empty string, e.g. '{job=\"node\"}' or '{job=~\".+\"}'", s))
		}
		canon := Canonical(ms)
		if !seen[canon] {
			seen[canon] = true
			p.Selectors = append(p.Selectors, canon)
		}
	}
	for start := floorDiv(p.From, WindowMs) * WindowMs; start < p.To; start += WindowMs {
		p.Windows = append(p.Windows, Window{Start: start, End: start + WindowMs})
	}
	return p, nil
}

// Units lists the queries of the plan, window by window, so that windows
// complete roughly in order and few are open at once.
func (p *Plan) Units() []Unit {
	units := make([]Unit, 0, len(p.Windows)*len(p.Selectors))
	for _, w := range p.Windows {
		from, to := max(w.Start, p.From), min(w.End, p.To)
		for _, sel := range p.Selectors {
			units = append(units, Unit{Window: w, From: from, To: to, Selector: sel, Step: p.Step})
		}
	}
	return units
}

// Canonical writes a selector the way Prometheus prints it, with the metric
// name in front when it is pinned and a plain identifier, so that equal
// selectors compare equal and read naturally in logs. With more than one
// matcher on __name__ all stay in the braces: PromQL refuses a name in front
// beside another __name__ matcher.
func Canonical(ms []*labels.Matcher) string {
	vs := &parser.VectorSelector{LabelMatchers: ms}
	var names []*labels.Matcher
	for _, m := range ms {
		if m.Name == model.MetricNameLabel {
			names = append(names, m)
		}
	}
	if len(names) == 1 && names[0].Type == labels.MatchEqual && model.LegacyValidation.IsValidMetricName(names[0].Value) {
		vs.Name = names[0].Value
	}
	return vs.String()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
