package sim

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// What promlib (the Prometheus datasource) does with one query: parse the
// model, work out the step, call Prometheus for the instant and/or range
// part, and turn each answer into frames (converter/prom.go and
// querydata/response.go).

// promQuery is promlib's models.Query.
type promQuery struct {
	refID        string
	expr         string
	legendFormat string
	step         time.Duration
	start, end   time.Time
	instant      bool
	rangeQ       bool
	exemplar     bool
	utcOffsetSec int64
}

// runQuery answers one refId. The returned closers release engine memory
// the frames still point into; call them once the response is written.
func (s *Server) runQuery(ctx context.Context, ds Datasource, dq dsQuery, from, to time.Time) (result, []func()) {
	s.queries.Add(1)
	r, closers := s.promlib(ctx, ds, dq, from, to)
	if r.err != "" {
		s.failed.Add(1)
	}
	return r, closers
}

func (s *Server) promlib(ctx context.Context, ds Datasource, dq dsQuery, from, to time.Time) (result, []func()) {
	m, err := parseModel(dq.raw)
	if err != nil {
		return result{refID: dq.refID, err: err.Error(), errSource: "plugin"}, nil
	}
	step, err := calculateStep(stepInput{
		interval: m.Interval, intervalMs: int64(m.IntervalMS), dsInterval: ds.TimeInterval,
		maxDataPoints: dq.maxDataPoints, intervalFactor: m.IntervalFactor,
		from: from, to: to, queryInterval: dq.interval,
	})
	if err != nil {
		// gtime marks interval parse errors as downstream errors.
		return result{refID: dq.refID, err: err.Error(), errSource: "downstream"}, nil
	}
	q := promQuery{
		refID: dq.refID, legendFormat: m.LegendFormat, step: step,
		expr:  interpolate(m.Expr, dq.interval, step, m.Interval, ds.TimeInterval, to.Sub(from)),
		start: from, end: to,
		instant: m.Instant, rangeQ: m.Range || !m.Instant, exemplar: m.Exemplar,
		utcOffsetSec: m.UtcOffsetSec,
	}

	// promlib runs the two parts concurrently and appends whichever ends
	// first; instant before range keeps the simulator deterministic.
	r := result{refID: dq.refID, hasFrames: true, frames: []frame{}}
	var closers []func()
	var errs []string
	for _, instant := range []bool{true, false} {
		if (instant && !q.instant) || (!instant && !q.rangeQ) {
			continue
		}
		start, end, pstep := callTimes(&q, instant)
		ans := s.callProm(ctx, PromCall{
			RefID: q.refID, Datasource: ds.UID, Expr: q.expr, Instant: instant,
			Start: start, End: end, Step: pstep,
		})
		if ans.close != nil {
			closers = append(closers, ans.close)
		}
		frames, errText, status := parseResponse(&q, ans)
		if errText != "" {
			errs = append(errs, errText)
			r.status = status
		}
		r.frames = append(r.frames, frames...)
	}
	// Exemplar queries find no exemplars here and add nothing.
	if len(errs) > 0 {
		r.err = strings.Join(errs, " ")
		// Every status promlib passes here maps to a downstream source.
		r.errSource = "downstream"
	}
	for i := range r.frames {
		r.frames[i].refID = dq.refID
	}
	return r, closers
}

// parseResponse is promlib's parseResponse for one part: the frames, the
// error text and the status the DataResponse gets.
func parseResponse(q *promQuery, ans promAnswer) ([]frame, string, int) {
	if ans.unexpected != "" || (!statusParsed(ans.status) && ans.err == "") {
		body := ans.unexpected
		if len(body) > 1024 {
			body = body[:1024]
		}
		f := frame{meta: frameMeta{executed: executedQueryString(q)}}
		// No status is set on this path; the SDK later reports it as 500.
		return []frame{f}, fmt.Sprintf("unexpected response with status code %d: %s", ans.status, body), 0
	}
	var frames []frame
	if ans.err == "" {
		frames = convertAnswer(ans, q.expr)
	}
	if len(frames) == 0 && !q.exemplar {
		frames = append(frames, frame{}) // promlib's frame to carry the metadata
	}
	for i := range frames {
		addMetadata(q, &frames[i])
		if i == 0 {
			frames[i].meta.executed = executedQueryString(q)
			frames[i].meta.hasMinStep = true
			frames[i].meta.minStep = q.step.Milliseconds()
		}
	}
	return frames, ans.err, ans.status
}

// convertAnswer is promlib's converter for a successful answer: the value's
// frames, with Prometheus's warnings and infos as notices on every frame (on
// a "Warnings" frame when there is no data).
func convertAnswer(ans promAnswer, expr string) []frame {
	var frames []frame
	if ans.stream != nil {
		frames = ans.stream.frames()
	} else {
		frames = valueFrames(ans.value)
	}
	if notices := annotationNotices(ans, expr); len(notices) > 0 {
		if len(frames) == 0 {
			frames = append(frames, frame{name: "Warnings"})
		}
		for i := range frames {
			frames[i].meta.notices = notices
		}
	}
	return frames
}

// valueFrames is the converter: one frame per series or sample.
func valueFrames(v parser.Value) []frame {
	multi := frameMeta{typ: "timeseries-multi", typeVersion: [2]int{0, 1}, resultType: "matrix"}
	switch v := v.(type) {
	case promql.Matrix:
		out := make([]frame, 0, len(v))
		for _, s := range v {
			if len(s.Histograms) > 0 {
				// promlib makes one heatmap-cells frame of a series with
				// histograms, and drops its floats if it has both.
				out = append(out, heatmapFrame(s.Metric, s.Histograms))
				continue
			}
			out = append(out, frame{meta: multi, fields: true, valueName: "Value", labels: s.Metric, points: s.Floats})
		}
		return out
	case promql.Vector:
		out := make([]frame, 0, len(v))
		m := frameMeta{typ: "numeric-multi", typeVersion: [2]int{0, 1}, resultType: "vector"}
		for _, s := range v {
			if s.H != nil {
				out = append(out, heatmapFrame(s.Metric, []promql.HPoint{{T: s.T, H: s.H}}))
				continue
			}
			out = append(out, frame{meta: m, fields: true, valueName: "Value", labels: s.Metric,
				points: []promql.FPoint{{T: s.T, F: s.F}}})
		}
		return out
	case promql.Scalar:
		m := frameMeta{typ: "numeric-multi", typeVersion: [2]int{0, 1}, resultType: "scalar"}
		return []frame{{meta: m, fields: true, valueName: "Value", labels: labels.EmptyLabels(),
			points: []promql.FPoint{{T: v.T, F: v.V}}}}
	case promql.String:
		m := frameMeta{typ: "timeseries-multi", resultType: "string"}
		return []frame{{meta: m, fields: true, valueName: "Value", labels: labels.EmptyLabels(),
			points: []promql.FPoint{{T: v.T}}, isString: true, str: v.V}}
	}
	return nil
}

// heatmapFrame is promlib's frame for a native histogram series
// (converter/prom.go, readMatrixOrVectorMulti and readHistogram): a
// "heatmap-cells" frame with a row per bucket that Prometheus's JSON lists
// (it leaves empty buckets out), in its order: negative buckets, the zero
// bucket, positive buckets.
func heatmapFrame(lset labels.Labels, points []promql.HPoint) frame {
	var cells []cell
	for _, p := range points {
		it := p.H.AllBucketIterator()
		for it.Next() {
			b := it.At()
			if b.Count == 0 {
				continue
			}
			cells = append(cells, cell{t: p.T, layout: boundaryRule(b), yMin: b.Lower, yMax: b.Upper, count: b.Count})
		}
	}
	return frame{meta: frameMeta{typ: "heatmap-cells"}, fields: true, labels: lset, cells: cells}
}

// boundaryRule is the first element of a bucket in Prometheus's JSON: 0
// open left, closed right; 1 closed left, open right; 2 open; 3 closed.
func boundaryRule(b histogram.Bucket[float64]) int8 {
	switch {
	case b.LowerInclusive && b.UpperInclusive:
		return 3
	case b.LowerInclusive:
		return 1
	case b.UpperInclusive:
		return 0
	}
	return 2
}

// annotationNotices is Prometheus's warnings and infos (at most 10 each)
// as promlib turns them into notices, warnings first.
func annotationNotices(ans promAnswer, expr string) []notice {
	if len(ans.warnings) == 0 {
		return nil
	}
	warns, infos := ans.warnings.AsStrings(expr, 10, 10)
	// Prometheus lists them in map order; sorted, answers are repeatable.
	// A trailing "N more ... omitted" line stays last.
	for _, list := range [][]string{warns, infos} {
		n := len(list)
		if n > 0 && strings.HasSuffix(list[n-1], "annotations omitted") {
			n--
		}
		sort.Strings(list[:n])
	}
	var out []notice
	for _, w := range warns {
		out = append(out, notice{severity: "warning", text: w})
	}
	for _, i := range infos {
		out = append(out, notice{severity: "info", text: i})
	}
	return out
}

// addMetadata is promlib's addMetadataToMultiFrame.
func addMetadata(q *promQuery, f *frame) {
	if !f.fields {
		return
	}
	f.interval = q.step.Milliseconds()
	f.displayName = displayName(q, f.labels)
	if name := f.labels.Get(model.MetricNameLabel); name != "" {
		f.valueName = name
	}
}

func executedQueryString(q *promQuery) string {
	return "Expr: " + q.expr + "\n" + "Step: " + q.step.String()
}

var legendFormatRegexp = regexp.MustCompile(`\{\{\s*(.+?)\s*\}\}`)

// displayName is promlib's getName: the legend format, or the series in
// Prometheus's text form, or the expression for a series without labels.
func displayName(q *promQuery, lset labels.Labels) string {
	legend := metricNameFromLabels(lset)
	switch {
	case q.legendFormat == "__auto":
		if lset.Len() > 0 {
			legend = ""
		}
	case q.legendFormat != "":
		legend = legendFormatRegexp.ReplaceAllStringFunc(q.legendFormat, func(in string) string {
			name := strings.TrimSpace(strings.Replace(strings.Replace(in, "{{", "", 1), "}}", "", 1))
			return lset.Get(name)
		})
	}
	if legend == "{}" {
		return q.expr
	}
	return legend
}

// metricNameFromLabels mirrors promlib's copy of common/model's String():
// the pairs are formatted with %q and then sorted as strings.
func metricNameFromLabels(lset labels.Labels) string {
	name := lset.Get(model.MetricNameLabel)
	var pairs []string
	lset.Range(func(l labels.Label) {
		if l.Name != model.MetricNameLabel {
			pairs = append(pairs, l.Name+"="+strconv.Quote(l.Value))
		}
	})
	if len(pairs) == 0 {
		if lset.Has(model.MetricNameLabel) {
			return name
		}
		return "{}"
	}
	sort.Strings(pairs)
	return name + "{" + strings.Join(pairs, ", ") + "}"
}
