package grafana

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/promrecover/promrecover/extract"
)

// Adaptive splitting. A unit that the datasource refuses as too big, or that
// still times out after the client's retries, is cut into parts that are
// fetched one after the other and put back together, so the unit still
// returns each of its series once, with every sample of [From, To) in time
// order:
//
//  1. by metric name, when the selector does not pin __name__ with "=": one
//     part per name the selector covers in the part's range;
//  2. by the values of one label (the one with the most values among the
//     first few looked up): one part per value, plus one part for the series
//     without that label;
//  3. by time, in halves (on a step multiple in step mode), down to
//     SplitOptions.MinRange (and at least one step).
//
// Over a limit on series, chunks or samples the order is 1, 2, 3. Over a
// query-length limit or Prometheus's 11,000 points per series only a
// shorter range helps, so time comes first and series only once the range
// is as short as it goes. On a timeout a shorter range helps most too: time
// comes first while the part is longer than SplitOptions.SlowRange, then
// 1, 2, 3. Each part that fails again is split again the same way (by what
// its own failure was). A part that fails at the smallest size becomes an extract.Gap naming
// its selector and range, and Fetch returns what it fetched beside an
// *extract.PartialError listing the gaps. A query is never sent again
// unchanged after a too-big answer: every part is narrower than its parent.

// SplitOptions bound adaptive splitting; zero values take the defaults.
type SplitOptions struct {
	// MinRange is the shortest range a part is split down to: halves are
	// never shorter (default 1m), and in step mode each holds a step at
	// least. A part this short that still fails is a gap.
	MinRange time.Duration
	// SlowRange: a part that still times out after the client's retries
	// is halved by time while longer than this (default 15m), and split by
	// series first once shorter: a shorter range speeds up a slow query
	// most, but halving one series that never answers down to MinRange
	// for every part would cost far more queries.
	SlowRange time.Duration
	// MaxDepth bounds how many times a part may be split in a row
	// (default 32).
	MaxDepth int
	// MaxLabelLookups bounds the labels whose values are looked up when
	// choosing the label to split on (default 8).
	MaxLabelLookups int
	// MaxQueries bounds the queries one unit may spend on its parts
	// (default 20000); parts beyond it become gaps.
	MaxQueries int
}

func (o SplitOptions) withDefaults() SplitOptions {
	if o.MinRange <= 0 {
		o.MinRange = time.Minute
	}
	if o.SlowRange <= 0 {
		o.SlowRange = 15 * time.Minute
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = 32
	}
	if o.MaxLabelLookups <= 0 {
		o.MaxLabelLookups = 8
	}
	if o.MaxQueries <= 0 {
		o.MaxQueries = 20000
	}
	return o
}

// splitKind says whether, and how first, a failed query is worth splitting.
type splitKind int

const (
	noSplit     splitKind = iota
	seriesFirst           // over a limit on series, chunks or samples
	timeFirst             // over a limit on the range or on points per series
	slow                  // timed out after the client's retries
)

// splitKindOf classifies the error of one query.
func splitKindOf(ctx context.Context, err error) splitKind {
	if err == nil || ctx.Err() != nil {
		return noSplit
	}
	var ae *extract.AbortError
	if errors.As(err, &ae) {
		return noSplit
	}
	var tb *tooBigError
	if errors.As(err, &tb) {
		switch tb.limit {
		case "err-mimir-max-total-query-length", "exceeded maximum resolution":
			return timeFirst
		}
		return seriesFirst
	}
	if timedOut(err) {
		return slow
	}
	return noSplit
}

// timedOut reports whether an error the client returned, after its retries,
// is a timeout: a 504 from Grafana or a proxy in front of it, a refId that
// failed with a timeout (Prometheus's "timeout" error type, a 504 upstream,
// a deadline exceeded), or a network timeout such as the client's own
// per-request timeout.
func timedOut(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status == http.StatusGatewayTimeout
	}
	var rq *retryQuery
	if errors.As(err, &rq) {
		msg := strings.ToLower(rq.Error())
		for _, s := range []string{"timeout", "timed out", "deadline exceeded", "status code 504"} {
			if strings.Contains(msg, s) {
				return true
			}
		}
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// part is a selector over a time range [from, to) inside the unit.
type part struct {
	ms       []*labels.Matcher
	sel      string
	from, to int64
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

// splitter fetches the parts of one unit.
type splitter struct {
	src     *Source
	u       extract.Unit
	opts    SplitOptions
	log     *slog.Logger
	queries int
	// noDiscovery, once set, says why label lookups failed; from then on
	// parts are split by time only.
	noDiscovery string
	// flat holds the selectors that series splitting found nothing to
	// divide on; a shorter range of them has no more names or values, so
	// their time halves are not looked up again.
	flat map[string]bool
	gaps []extract.Gap
}

// split fetches a unit whose query failed with cause, of the given kind, in
// parts.
func (s *Source) split(ctx context.Context, u extract.Unit, kind splitKind, cause error) ([]extract.Series, error) {
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(u.Selector)
	if err != nil {
		// The plan only makes selectors the parser accepts.
		return nil, cause
	}
	sp := &splitter{src: s, u: u, opts: s.Split.withDefaults(), log: s.Client.opts.Log, flat: map[string]bool{}}
	series, err := sp.solve(ctx, part{ms: ms, sel: u.Selector, from: u.From, to: u.To}, kind, cause, 0)
	if err != nil {
		return nil, err
	}
	series = mergeSeries(series)
	if len(sp.gaps) > 0 {
		return series, &extract.PartialError{Gaps: coalesceGaps(sp.gaps)}
	}
	return series, nil
}

// solve fetches part p, whose own query failed with cause, in smaller
// parts. Parts that cannot be fetched become gaps; the error is one that
// fails the whole unit (an abort, a cancelled run, an answer no split can
// help).
func (sp *splitter) solve(ctx context.Context, p part, kind splitKind, cause error, depth int) ([]extract.Series, error) {
	if depth >= sp.opts.MaxDepth {
		sp.gap(p, kind, cause, fmt.Sprintf("split %d times in a row, the most allowed", depth))
		return nil, nil
	}
	var (
		parts []part
		how   string
		err   error
	)
	order := kind
	switch {
	case kind == slow && p.to-p.from > sp.opts.SlowRange.Milliseconds():
		order = timeFirst
	case kind == slow:
		order = seriesFirst
	}
	if order == seriesFirst {
		if p, parts, how, err = sp.bySeries(ctx, p); err != nil {
			return nil, err
		}
	}
	if parts == nil {
		parts, how = sp.byTime(p)
	}
	if parts == nil && order == timeFirst {
		if p, parts, how, err = sp.bySeries(ctx, p); err != nil {
			return nil, err
		}
	}
	if parts == nil {
		sp.gap(p, kind, cause, "")
		return nil, nil
	}
	sp.log.Info("splitting a query", "unit", sp.u.Selector, "window", sp.u.Window.String(),
		"part", p.sel, "from", msString(p.from), "to", msString(p.to),
		"reason", shortReason(kind, cause), "by", how, "parts", len(parts))

	var out []extract.Series
	for _, c := range parts {
		if sp.queries >= sp.opts.MaxQueries {
			sp.gap(c, kind, cause, fmt.Sprintf("the unit used up the %d queries it may spend on parts", sp.opts.MaxQueries))
			continue
		}
		sp.queries++
		series, err := sp.src.fetch(ctx, sp.unit(c))
		if err != nil {
			k := splitKindOf(ctx, err)
			if k == noSplit {
				return nil, fmt.Errorf("%s from %s to %s, a part of the split query: %w", c.sel, msString(c.from), msString(c.to), err)
			}
			if series, err = sp.solve(ctx, c, k, err, depth+1); err != nil {
				return nil, err
			}
		} else {
			series = trim(series, c.from, c.to)
		}
		out = append(out, series...)
	}
	return out, nil
}

func (sp *splitter) unit(p part) extract.Unit {
	u := sp.u
	u.From, u.To, u.Selector = p.from, p.to, p.sel
	return u
}

// bySeries splits p by metric name or, once the name is pinned, by the
// values of one label. A part that covers a single metric name comes back
// pinned to it (the same series, so not worth a query of its own) and is
// split by label. No parts come back when there is nothing to split on or
// the lookups fail; the error is only a cancelled run.
func (sp *splitter) bySeries(ctx context.Context, p part) (part, []part, string, error) {
	if sp.noDiscovery != "" || sp.flat[p.sel] {
		return p, nil, "", nil
	}
	src := sp.src
	if !p.pinned(model.MetricNameLabel) {
		var lists [][]string
		err := sp.discover(ctx, func() (err error) {
			lists, _, err = src.LabelValues(ctx, []string{model.MetricNameLabel}, p.sel, p.from, p.to)
			return err
		})
		if err != nil {
			return p, nil, "", ignoreUndiscovered(err)
		}
		var parts []part
		for _, n := range lists[0] {
			if n != "" && p.admits(model.MetricNameLabel, n) {
				parts = append(parts, p.pin(model.MetricNameLabel, n))
			}
		}
		switch len(parts) {
		case 0:
			sp.flat[p.sel] = true
			return p, nil, "", nil
		case 1:
			p = parts[0]
		default:
			return p, parts, "metric name", nil
		}
	}

	var names []string
	err := sp.discover(ctx, func() (err error) {
		names, _, err = src.LabelNames(ctx, p.sel, p.from, p.to)
		return err
	})
	if err != nil {
		return p, nil, "", ignoreUndiscovered(err)
	}
	best, _, bestValues, err := bestLabel(names, p.ms, sp.opts.MaxLabelLookups, func(c []string) ([][]string, error) {
		var lists [][]string
		err := sp.discover(ctx, func() (err error) {
			lists, _, err = src.LabelValues(ctx, c, p.sel, p.from, p.to)
			return err
		})
		if err != nil {
			return nil, err
		}
		for j, name := range c {
			lists[j] = slices.DeleteFunc(lists[j], func(v string) bool { return v == "" || !p.admits(name, v) })
		}
		return lists, nil
	})
	if err != nil {
		return p, nil, "", ignoreUndiscovered(err)
	}
	if len(bestValues) < 2 {
		// One value, or none: that label does not make smaller parts.
		sp.flat[p.sel] = true
		return p, nil, "", nil
	}
	parts := make([]part, 0, len(bestValues)+1)
	for _, v := range bestValues {
		parts = append(parts, p.pin(best, v))
	}
	// The rest: series without the label, and any with a value the lookup
	// did not list (it may have missed some), so that discovery can never
	// make data go missing.
	parts = append(parts, p.except(best, bestValues))
	return p, parts, "label " + best, nil
}

// errUndiscovered stops series splitting after a failed lookup; the part
// is split by time.
var errUndiscovered = errors.New("series discovery failed")

// ignoreUndiscovered keeps only the errors that fail the unit: a cancelled
// run.
func ignoreUndiscovered(err error) error {
	if errors.Is(err, errUndiscovered) {
		return nil
	}
	return err
}

// discover runs one lookup (see labels.go: the label API through the
// resources or the proxy, else count queries), which keeps its answer.
// When it fails (no path allowed, over a limit itself, an answer that is
// no label list), splitting goes on by time only, the gaps it may leave say
// why, and the error is errUndiscovered; a cancelled run is its own error.
func (sp *splitter) discover(ctx context.Context, lookup func() error) error {
	err := lookup()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	why := err.Error()
	var se *StatusError
	if errors.As(err, &se) {
		// Without the path, which repeats the selector URL-encoded.
		why = fmt.Sprintf("HTTP %d", se.Status)
		if se.Message != "" {
			why += ": " + se.Message
		}
	}
	sp.noDiscovery = fmt.Sprintf("series discovery failed (%s), so parts were split by time only", why)
	sp.log.Info("series discovery failed; splitting by time only", "unit", sp.u.Selector, "window", sp.u.Window.String(), "err", err)
	return errUndiscovered
}

// bestLabel picks the label to cut a selection of matchers ms on: among the
// first limit of the candidates (splitCandidates of names), the one with
// the most values, as values lists them for all of those at once (the
// values that would cut nothing left out). It returns the label, its index
// among the candidates and its values; "" and -1 when none has a value.
func bestLabel(names []string, ms []*labels.Matcher, limit int, values func(candidates []string) ([][]string, error)) (string, int, []string, error) {
	candidates := splitCandidates(names, ms)
	candidates = candidates[:min(limit, len(candidates))]
	lists, err := values(candidates)
	if err != nil {
		return "", -1, nil, err
	}
	best := -1
	for i, vs := range lists {
		if len(vs) > 0 && (best < 0 || len(vs) > len(lists[best])) {
			best = i
		}
	}
	if best < 0 {
		return "", -1, nil, nil
	}
	return candidates[best], best, lists[best], nil
}

// preferredSplitLabels are looked up first when choosing a label to split
// on: labels that usually have many values.
var preferredSplitLabels = []string{"instance", "pod", "container", "le", "id", "device", "cpu", "path", "handler", "code", "method", "mode"}

// splitCandidates orders the label names worth cutting the selection of
// matchers ms on: neither the metric name nor a label ms already pins, the
// usual high-cardinality ones first, then the others alphabetically.
func splitCandidates(names []string, ms []*labels.Matcher) []string {
	p := part{ms: ms}
	var out []string
	for _, n := range names {
		if n != model.MetricNameLabel && !p.pinned(n) {
			out = append(out, n)
		}
	}
	rank := func(n string) int {
		if i := slices.Index(preferredSplitLabels, n); i >= 0 {
			return i
		}
		return len(preferredSplitLabels)
	}
	slices.SortStableFunc(out, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	return out
}

// byTime halves p, as long as both halves are at least MinRange long: at
// its middle in raw mode; in step mode on a step multiple, as long as both
// halves also hold a step.
func (sp *splitter) byTime(p part) ([]part, string) {
	minRange := sp.opts.MinRange.Milliseconds()
	var mid int64
	if sp.u.Step == 0 {
		if p.to-p.from < 2*minRange {
			return nil, ""
		}
		mid = p.from + (p.to-p.from)/2
	} else {
		step := sp.u.Step.Milliseconds()
		first := ceilTo(p.from, step)
		n := (ceilTo(p.to, step) - first) / step // steps in [from, to)
		minSteps := max(1, (minRange+step-1)/step)
		if n < 2*minSteps {
			return nil, ""
		}
		mid = first + n/2*step
	}
	return []part{
		{ms: p.ms, sel: p.sel, from: p.from, to: mid},
		{ms: p.ms, sel: p.sel, from: mid, to: p.to},
	}, "time"
}

// gap records p as not recovered.
func (sp *splitter) gap(p part, kind splitKind, cause error, why string) {
	msg := cause.Error()
	var tb *tooBigError
	if errors.As(cause, &tb) {
		msg = tb.err.Error()
	}
	size := (time.Duration(p.to-p.from) * time.Millisecond).String()
	var reason string
	switch {
	case why != "":
		reason = why + ": " + msg
	case tb != nil:
		reason = fmt.Sprintf("still too big for the datasource's limits, split as far as it goes (down to %s): %s%s", size, msg, limitHint(tb.limit))
	case kind == slow:
		reason = fmt.Sprintf("still timing out after every retry, split as far as it goes (down to %s): %s", size, msg)
	default:
		reason = fmt.Sprintf("still failing, split as far as it goes (down to %s): %s", size, msg)
	}
	if sp.noDiscovery != "" {
		reason += "; " + sp.noDiscovery
	}
	sp.log.Warn("part not recovered", "unit", sp.u.Selector, "window", sp.u.Window.String(),
		"part", p.sel, "from", msString(p.from), "to", msString(p.to), "reason", reason)
	sp.gaps = append(sp.gaps, extract.Gap{Selector: p.sel, From: p.from, To: p.to, Reason: reason})
}

// shortReason names why a part is split, for the log.
func shortReason(kind splitKind, cause error) string {
	var tb *tooBigError
	if errors.As(cause, &tb) {
		return "too big: " + tb.limit
	}
	if kind == slow {
		return "timed out after retries"
	}
	return cause.Error()
}

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

func msString(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }
