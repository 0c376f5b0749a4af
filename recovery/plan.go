package recovery

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/relabel"
)

// Report is what running a job would fetch and cost, found without writing
// anything: no state file, no staging directory, no block.
type Report struct {
	Origin  Origin
	Windows []extract.WindowInfo // every window of the plan
	Earlier Done                 // windows an earlier run recovered, skipped
	Todo    extract.Plan         // the plan without them
	Series  Series
	// PerRequest is how many selectors one request carries, Requests how
	// many requests the windows left take when none is retried or split.
	PerRequest, Requests int
	// Span is how much of the range the windows left cover (their pieces
	// summed), Samples and the bytes the estimate for it; known only when
	// Series.Total is.
	Span                 time.Duration
	Samples              int64
	JSONBytes, GzipBytes int64
}

// Series is what series discovery says about a plan's series.
type Series struct {
	Metrics []MetricCount // by name
	Total   int           // distinct series; -1 when unknown
	Refused error         // why the counts are unknown; nil when known
	Via     string        // which API counted them
	Merges  []string      // relabelling collisions among the series found
	// Unchecked: relabelling collisions could not be looked for (the API
	// gives no label sets).
	Unchecked bool
}

// MetricCount is the series of one metric name.
type MetricCount struct {
	Name   string
	Series int
}

// Report finds what running the job would fetch, leaving out earlier,
// and estimates its cost for series that have a sample every scrape (or
// every step of a plan that resamples).
func (j *Job) Report(ctx context.Context, earlier Done, scrape time.Duration) (*Report, error) {
	conn, err := j.connect(ctx)
	if err != nil {
		return nil, err
	}
	p := j.Plan
	r := &Report{Origin: conn.Origin, Earlier: earlier, Todo: remaining(p, earlier.Windows), PerRequest: 1}
	r.Windows = extract.ClassifyWindows(p, j.Now.Add(-HeadSpan).UnixMilli(), j.planCutoff(&r.Todo))
	if r.Series, err = j.discover(ctx, conn); err != nil {
		return nil, err
	}
	if bs, ok := conn.Source.(extract.BatchSource); ok {
		r.PerRequest = max(bs.MaxBatch(), 1)
	}
	r.Requests = extract.Requests(&r.Todo, r.PerRequest)
	if r.Series.Total >= 0 {
		r.Span = time.Duration(covered(&r.Todo)) * time.Millisecond
		r.Samples = samplesLeft(&r.Todo, r.Series.Total, scrape)
		r.JSONBytes, r.GzipBytes = extract.Bytes(r.Samples)
	}
	return r, nil
}

// planCutoff is the retention cutoff once todo's windows are written (their
// blocks assumed to reach their ends), for extract.ClassifyWindows: 0 when
// the retention is unknown.
func (j *Job) planCutoff(todo *extract.Plan) int64 {
	if cutoff, ok := j.retentionCutoff(windowEnds(todo)); ok {
		return cutoff
	}
	return 0
}

// samplesLeft estimates the samples of todo's windows for series scraped
// every scrape (see extract.Samples).
func samplesLeft(todo *extract.Plan, series int, scrape time.Duration) int64 {
	// The windows left cover this much of the range, in pieces: the
	// estimate is that of one range as long.
	left := extract.Plan{To: covered(todo), Step: todo.Step}
	return extract.Samples(&left, series, scrape)
}

// covered is how many milliseconds of p's range its windows cover.
func covered(p *extract.Plan) int64 {
	var ms int64
	for _, w := range p.Windows {
		ms += min(w.End, p.To) - max(w.Start, p.From)
	}
	return ms
}

// discover counts the series per metric name the selectors match in the
// plan's range, and says which API counted them. Where discovery fails the
// counts are unknown, which is said, not an error; only a cancelled context
// is.
func (j *Job) discover(ctx context.Context, conn Conn) (Series, error) {
	p := j.Plan
	from, to := p.From, p.To-1 // the API's end is inclusive
	cen, err := conn.Census(ctx, p.Selectors, from, to)
	var byName map[string]int
	if err == nil {
		var counts []map[string]int
		counts, err = cen.Count(ctx, model.MetricNameLabel)
		if err == nil {
			byName = counts[0]
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return Series{}, ctx.Err()
		}
		j.Log.Debug("series discovery failed", "err", err)
		return Series{Total: -1, Refused: err}, nil
	}
	s := Series{Via: cen.Via}
	names := make([]string, 0, len(byName))
	for n := range byName {
		if n != "" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		s.Metrics = append(s.Metrics, MetricCount{Name: n, Series: byName[n]})
		s.Total += byName[n]
	}
	switch {
	case j.Relabel.Empty():
	case cen.Sets == nil:
		s.Unchecked = true
	default:
		s.Merges = merges(cen.Sets, j.Relabel, 3)
	}
	return s, nil
}

// merges describes up to limit pairs of the series found that relabelling
// turns into one label set, and how many more there are.
func merges(found []labels.Labels, rules relabel.Rules, limit int) []string {
	seen := map[string]labels.Labels{}
	var out []string
	more := 0
	for _, ls := range found {
		res := rules.Apply(ls)
		key := res.String()
		if prev, ok := seen[key]; ok && !labels.Equal(prev, ls) {
			if len(out) < limit {
				out = append(out, fmt.Sprintf("%s and %s both become %s", prev, ls, res))
			} else {
				more++
			}
			continue
		}
		seen[key] = ls
	}
	if more > 0 {
		out = append(out, fmt.Sprintf("and %d more", more))
	}
	return out
}
