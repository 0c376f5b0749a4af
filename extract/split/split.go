// Package split fetches a unit that is too big for its source, or too slow,
// in smaller parts, and shards a selector too big to fetch whole before
// anything is fetched. It is pure selector logic: what it needs of a
// source (a query, label lookups, series counts, a verdict on an error) it
// asks through the small interfaces and functions here, so every source
// splits and shards the same way.
//
// Adaptive splitting. A unit that the source refuses as too big, or that
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
//     Options.MinRange (and at least one step).
//
// Where the lookups fail, 1 and 2 are done by the prefixes of the values
// instead (prefix.go), after time. Over a limit on series, time never
// helps: the order is 1, 2. Over a limit on chunks or samples it is 1, 2,
// 3. Over a
// query-length limit or Prometheus's 11,000 points per series only a
// shorter range helps, so time comes first and series only once the range
// is as short as it goes. On a timeout a shorter range helps most too: time
// comes first while the part is longer than Options.SlowRange, then
// 1, 2, 3. Each part that fails again is split again the same way (by what
// its own failure was). A part that fails at the smallest size becomes an
// extract.Gap naming its selector and range, and Split returns what it
// fetched beside an *extract.PartialError listing the gaps. A query is
// never sent again unchanged after a too-big answer: every part is
// narrower than its parent.
package split

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/promrecover/promrecover/extract"
)

// Options bound adaptive splitting; zero values take the defaults.
type Options struct {
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

// WithDefaults fills in the zero values.
func (o Options) WithDefaults() Options {
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

// Kind says whether, and how first, a failed query is worth splitting.
type Kind int

const (
	NoSplit     Kind = iota
	SeriesFirst      // over a limit on chunks or samples
	SeriesOnly       // over a limit on series: a shorter range holds the same series, so only fewer series help
	TimeFirst        // over a limit on the range or on points per series
	Slow             // timed out after the client's retries
)

// Failure is a source's verdict on the error of one query: how a split
// may mend it, and the words the log and a gap's reason use for it.
type Failure struct {
	Kind Kind
	// Limit names the limit a too-big query is over, as the answer names
	// it.
	Limit string
	// Msg is the error as a gap's reason quotes it; "" quotes the error
	// itself.
	Msg string
	// Hint ends the reason of a part still too big at the smallest size:
	// what the user may change to avoid the limit.
	Hint string
}

// tooBig reports whether the query was over a limit of the source.
func (f Failure) tooBig() bool {
	return f.Kind == SeriesFirst || f.Kind == SeriesOnly || f.Kind == TimeFirst
}

// Judge is the verdict on err of a query, which classify judges: no split
// for no error, a cancelled run or an *extract.AbortError, whatever the
// source says of them.
func Judge(ctx context.Context, err error, classify func(error) Failure) Failure {
	var ae *extract.AbortError
	if err == nil || ctx.Err() != nil || errors.As(err, &ae) {
		return Failure{}
	}
	return classify(err)
}

// Lookup is what splitting by series needs of discovery: the label names,
// and the values of labels, of the series that match a selector and have
// samples in [from, to] (epoch ms).
type Lookup interface {
	LabelNames(ctx context.Context, selector string, from, to int64) ([]string, error)
	LabelValues(ctx context.Context, names []string, selector string, from, to int64) ([][]string, error)
}

// Splitter fetches the units of one source in parts.
type Splitter struct {
	Lookup Lookup
	// Query asks one query for a unit, never split.
	Query func(ctx context.Context, u extract.Unit) ([]extract.Series, error)
	// Classify is the source's verdict on the error of a query (see Judge).
	Classify func(error) Failure
	// Brief says a failed lookup's error in a few words for a gap's
	// reason; nil quotes the error as it is.
	Brief   func(error) string
	Options Options
	Log     *slog.Logger
}

// Split fetches a unit whose query failed with cause in parts, when a split
// may mend cause; else the error is cause.
func (s *Splitter) Split(ctx context.Context, u extract.Unit, cause error) ([]extract.Series, error) {
	f := Judge(ctx, cause, s.Classify)
	if f.Kind == NoSplit {
		return nil, cause
	}
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(u.Selector)
	if err != nil {
		// The plan only makes selectors the parser accepts.
		return nil, cause
	}
	r := &run{Splitter: s, u: u, opts: s.Options.WithDefaults(), flat: map[string]bool{}, seen: map[string]map[string]struct{}{}}
	series, err := r.solve(ctx, part{ms: ms, sel: u.Selector, from: u.From, to: u.To}, f, cause, 0)
	if err != nil {
		return nil, err
	}
	series = mergeSeries(series)
	if len(r.gaps) > 0 {
		return series, &extract.PartialError{Gaps: coalesceGaps(r.gaps)}
	}
	return series, nil
}

// run is the splitting of one unit.
type run struct {
	*Splitter
	u       extract.Unit
	opts    Options
	queries int
	// noDiscovery, once set, says why label lookups failed; from then on
	// parts are split by time and by the prefixes of values (prefix.go).
	noDiscovery string
	// flat holds the selectors that series splitting found nothing to
	// divide on; a shorter range of them has no more names or values, so
	// their time halves are not looked up again.
	flat map[string]bool
	gaps []extract.Gap
	// seen holds the labels of the series fetched so far, with some of
	// their values: the labels worth cutting by prefixes.
	seen map[string]map[string]struct{}
}

// solve fetches part p, whose own query failed with cause (judged f), in
// smaller parts. Parts that cannot be fetched become gaps; the error is one
// that fails the whole unit (an abort, a cancelled run, an answer no split
// can help).
func (r *run) solve(ctx context.Context, p part, f Failure, cause error, depth int) ([]extract.Series, error) {
	if depth >= r.opts.MaxDepth {
		r.gap(p, f, cause, fmt.Sprintf("split %d times in a row, the most allowed", depth))
		return nil, nil
	}
	var (
		parts []part
		how   string
		err   error
	)
	order := f.Kind
	switch {
	case f.Kind == Slow && p.to-p.from > r.opts.SlowRange.Milliseconds():
		order = TimeFirst
	case f.Kind == Slow:
		order = SeriesFirst
	}
	if order == SeriesFirst || order == SeriesOnly {
		if p, parts, how, err = r.bySeries(ctx, p); err != nil {
			return nil, err
		}
	}
	if parts == nil && order != SeriesOnly {
		parts, how = byTime(p, r.u.Step, r.opts.MinRange)
	}
	if parts == nil && order == TimeFirst {
		if p, parts, how, err = r.bySeries(ctx, p); err != nil {
			return nil, err
		}
	}
	byPrefix := parts == nil && r.noDiscovery != ""
	if byPrefix {
		parts, how = prefixParts(p, r.prefixLabels())
	}
	if parts == nil {
		r.gap(p, f, cause, "")
		return nil, nil
	}
	r.Log.Info("splitting a query", "unit", r.u.Selector, "window", r.u.Window.String(),
		"part", p.sel, "from", msString(p.from), "to", msString(p.to),
		"reason", shortReason(f, cause), "by", how, "parts", len(parts))
	if byPrefix {
		// Each prefix part holds fewer values than p, and values are
		// finite: however long the chain, it ends, and MaxQueries bounds
		// what it costs.
		depth--
	}

	var out []extract.Series
	firstEmpty := false
	for i, c := range parts {
		if byPrefix && i == 1 && firstEmpty {
			// The first part holds none of p's series, so this one holds
			// them all and would be refused as p was: not worth a query.
			if c.twin != nil {
				c = *c.twin
			}
			c.crowded++
			series, err := r.solve(ctx, c, f, cause, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, series...)
			continue
		}
		if r.queries >= r.opts.MaxQueries {
			r.gap(c, f, cause, fmt.Sprintf("the unit used up the %d queries it may spend on parts", r.opts.MaxQueries))
			continue
		}
		r.queries++
		series, err := r.Query(ctx, r.unit(c))
		if err != nil {
			cf := Judge(ctx, err, r.Classify)
			if cf.Kind == NoSplit {
				return nil, fmt.Errorf("%s from %s to %s, a part of the split query: %w", c.sel, msString(c.from), msString(c.to), err)
			}
			if series, err = r.solve(ctx, c, cf, err, depth+1); err != nil {
				return nil, err
			}
		} else {
			series = trim(series, c.from, c.to)
			firstEmpty = i == 0 && len(series) == 0
			r.see(series)
		}
		out = append(out, series...)
	}
	return out, nil
}

func (r *run) unit(p part) extract.Unit {
	u := r.u
	u.From, u.To, u.Selector = p.from, p.to, p.sel
	return u
}

// bySeries splits p by metric name or, once the name is pinned, by the
// values of one label. A part that covers a single metric name comes back
// pinned to it (the same series, so not worth a query of its own) and is
// split by label. No parts come back when there is nothing to split on or
// the lookups fail; the error is only a cancelled run.
func (r *run) bySeries(ctx context.Context, p part) (part, []part, string, error) {
	if r.noDiscovery != "" || r.flat[p.sel] {
		return p, nil, "", nil
	}
	if !p.pinned(model.MetricNameLabel) {
		var lists [][]string
		err := r.discover(ctx, func() (err error) {
			lists, err = r.Lookup.LabelValues(ctx, []string{model.MetricNameLabel}, p.sel, p.from, p.to)
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
			r.flat[p.sel] = true
			return p, nil, "", nil
		case 1:
			p = parts[0]
		default:
			return p, parts, "metric name", nil
		}
	}

	var names []string
	err := r.discover(ctx, func() (err error) {
		names, err = r.Lookup.LabelNames(ctx, p.sel, p.from, p.to)
		return err
	})
	if err != nil {
		return p, nil, "", ignoreUndiscovered(err)
	}
	best, _, bestValues, err := bestLabel(names, p.ms, r.opts.MaxLabelLookups, func(c []string) ([][]string, error) {
		var lists [][]string
		err := r.discover(ctx, func() (err error) {
			lists, err = r.Lookup.LabelValues(ctx, c, p.sel, p.from, p.to)
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
		r.flat[p.sel] = true
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

// discover runs one lookup, which keeps its answer. When it fails (no path
// allowed, over a limit itself, an answer that is no label list),
// splitting goes on by time only, the gaps it may leave say why, and the
// error is errUndiscovered; a cancelled run is its own error.
func (r *run) discover(ctx context.Context, lookup func() error) error {
	err := lookup()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	why := err.Error()
	if r.Brief != nil {
		why = r.Brief(err)
	}
	r.noDiscovery = fmt.Sprintf("series discovery failed (%s), so no label's values were known to cut parts by, only the prefixes of values", why)
	r.Log.Info("series discovery failed; splitting by the prefixes of label values", "unit", r.u.Selector, "window", r.u.Window.String(), "err", err)
	return errUndiscovered
}

// byTime halves p, as long as both halves are at least minRange long: at
// its middle in raw mode (step 0); in step mode on a step multiple, as
// long as both halves also hold a step.
func byTime(p part, step, minRange time.Duration) ([]part, string) {
	minMs := minRange.Milliseconds()
	var mid int64
	if step == 0 {
		if p.to-p.from < 2*minMs {
			return nil, ""
		}
		mid = p.from + (p.to-p.from)/2
	} else {
		st := step.Milliseconds()
		first := CeilTo(p.from, st)
		n := (CeilTo(p.to, st) - first) / st // steps in [from, to)
		minSteps := max(1, (minMs+st-1)/st)
		if n < 2*minSteps {
			return nil, ""
		}
		mid = first + n/2*st
	}
	first, second := p, p
	first.to, second.from = mid, mid
	first.twin, second.twin, first.crowded, second.crowded = nil, nil, 0, 0
	return []part{first, second}, "time"
}

// CeilTo rounds t (epoch ms) up to a multiple of step (ms): the first point
// of a range query from t, as sources align a range query's points (Grafana
// to multiples of its step). Splitting halves on those points; a source
// builds its queries on them.
func CeilTo(t, step int64) int64 {
	r := t % step
	switch {
	case r == 0:
		return t
	case r > 0:
		return t - r + step
	}
	return t - r
}

// gap records p as not recovered.
func (r *run) gap(p part, f Failure, cause error, why string) {
	msg := f.Msg
	if msg == "" {
		msg = cause.Error()
	}
	size := (time.Duration(p.to-p.from) * time.Millisecond).String()
	var reason string
	switch {
	case why != "":
		reason = why + ": " + msg
	case f.tooBig():
		reason = fmt.Sprintf("still too big for the datasource's limits, split as far as it goes (down to %s): %s%s", size, msg, f.Hint)
	case f.Kind == Slow:
		reason = fmt.Sprintf("still timing out after every retry, split as far as it goes (down to %s): %s", size, msg)
	default:
		reason = fmt.Sprintf("still failing, split as far as it goes (down to %s): %s", size, msg)
	}
	if r.noDiscovery != "" {
		reason += "; " + r.noDiscovery
	}
	r.Log.Warn("part not recovered", "unit", r.u.Selector, "window", r.u.Window.String(),
		"part", p.sel, "from", msString(p.from), "to", msString(p.to), "reason", reason)
	r.gaps = append(r.gaps, extract.Gap{Selector: p.sel, From: p.from, To: p.to, Reason: reason})
}

// shortReason names why a part is split, for the log.
func shortReason(f Failure, cause error) string {
	switch {
	case f.tooBig():
		return "too big: " + f.Limit
	case f.Kind == Slow:
		return "timed out after retries"
	}
	return cause.Error()
}

func msString(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }
