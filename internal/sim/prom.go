package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/annotations"
)

// The Prometheus side of a call: what /api/v1/query and /api/v1/query_range
// (web/api/v1) would answer for the parameters promlib sends.

// promAnswer is Prometheus's reply to one call.
type promAnswer struct {
	status     int    // HTTP status; 200 with value set on success
	err        string // the error as promlib words it, e.g. "bad_data: ..."
	unexpected string // body of a reply whose status promlib does not parse
	value      parser.Value
	stream     *streamMatrix // instead of value, for a streamed range selector
	// reply is an intercepted reply as it came, for the datasource proxy,
	// which hands it on unchanged.
	reply    *PromReply
	warnings annotations.Annotations
	close    func() // returns the result's memory to the engine
}

// statusParsed lists the statuses whose bodies promlib parses as Prometheus
// JSON; any other becomes "unexpected response".
func statusParsed(code int) bool {
	return (code >= 200 && code < 300) || code == http.StatusBadRequest ||
		code == http.StatusUnprocessableEntity || code == http.StatusServiceUnavailable
}

func badData(format string, a ...any) promAnswer {
	return promAnswer{status: http.StatusBadRequest, err: "bad_data: " + fmt.Sprintf(format, a...)}
}

// callProm runs one call through the interceptor and then the engine.
func (s *Server) callProm(ctx context.Context, call PromCall) promAnswer {
	s.promCalls.Add(1)
	if call.Path == "" {
		call.Path = "/api/v1/query_range"
		if call.Instant {
			call.Path = "/api/v1/query"
		}
	}
	if s.cfg.Intercept != nil {
		if r := s.cfg.Intercept(call); r != nil && (r.Status < 200 || r.Status >= 300) {
			return injected(r)
		}
	}
	if call.Instant && s.stream && s.cfg.MaxSeriesPerQuery <= 0 {
		if ans, ok := s.streamSelector(ctx, call); ok {
			return ans
		}
	}
	if call.Instant {
		qry, err := s.engine.NewInstantQuery(ctx, s.queryable(), promql.NewPrometheusQueryOpts(false, 0), call.Expr, call.End)
		if err != nil {
			return badData("invalid parameter %q: %s", "query", err)
		}
		return exec(ctx, qry)
	}
	if call.End.Before(call.Start) {
		return badData("invalid parameter %q: end timestamp must not be before start time", "end")
	}
	if call.Step <= 0 {
		return badData("invalid parameter %q: zero or negative query resolution step widths are not accepted. Try a positive integer", "step")
	}
	if call.End.Sub(call.Start)/call.Step > safeResolution {
		return badData("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
	}
	qry, err := s.engine.NewRangeQuery(ctx, s.queryable(), promql.NewPrometheusQueryOpts(false, 0), call.Expr, call.Start, call.End, call.Step)
	if err != nil {
		return badData("invalid parameter %q: %s", "query", err)
	}
	return exec(ctx, qry)
}

func exec(ctx context.Context, qry promql.Query) promAnswer {
	res := qry.Exec(ctx)
	if res.Err != nil {
		qry.Close()
		return apiError(res.Err)
	}
	return promAnswer{status: http.StatusOK, value: res.Value, warnings: res.Warnings, close: qry.Close}
}

// apiError is Prometheus's returnAPIError plus the status code each class
// gets. Statuses promlib does not parse arrive as the raw JSON body.
func apiError(err error) promAnswer {
	typ, code := "execution", http.StatusUnprocessableEntity
	var (
		canceled promql.ErrQueryCanceled
		timeout  promql.ErrQueryTimeout
		storage  promql.ErrStorage
	)
	switch {
	case errors.As(err, &canceled), errors.Is(err, context.Canceled):
		typ, code = "canceled", 499
	case errors.As(err, &timeout):
		typ, code = "timeout", http.StatusServiceUnavailable
	case errors.As(err, &storage):
		typ, code = "internal", http.StatusInternalServerError
	}
	if !statusParsed(code) {
		body, _ := json.Marshal(struct {
			Status    string `json:"status"`
			ErrorType string `json:"errorType"`
			Error     string `json:"error"`
		}{"error", typ, err.Error()})
		return promAnswer{status: code, unexpected: string(body)}
	}
	return promAnswer{status: code, err: typ + ": " + err.Error()}
}

// injected turns an intercepted reply into what promlib would make of it.
func injected(r *PromReply) promAnswer {
	if !statusParsed(r.Status) {
		return promAnswer{status: r.Status, unexpected: r.Body, reply: r}
	}
	var body struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		return promAnswer{status: r.Status, err: "response from prometheus couldn't be parsed. it is non-json: " + err.Error(), reply: r}
	}
	if body.Status != "error" {
		// promlib reads the error from the body, not the status: an error
		// status with a body that is no error leaves an empty result.
		return promAnswer{status: r.Status, value: promql.Matrix{}, reply: r}
	}
	return promAnswer{status: r.Status, err: body.ErrorType + ": " + body.Error, reply: r}
}

// callTimes gives the start and end Prometheus reads for a promlib query:
// the range aligned to the step, or the unaligned end for an instant query.
func callTimes(q *promQuery, instant bool) (start, end time.Time, step time.Duration) {
	if instant {
		t := time.UnixMilli(promTime(q.end)).UTC()
		return t, t, 0
	}
	start = time.UnixMilli(promTime(alignTime(q.start, q.step, q.utcOffsetSec))).UTC()
	end = time.UnixMilli(promTime(alignTime(q.end, q.step, q.utcOffsetSec))).UTC()
	return start, end, promStep(q.step)
}

// streamSelector answers an instant query of a plain range selector
// (sel[r], no offset or @) without the engine: the engine would hold every
// point of the answer at once, which for a big synthetic data set is
// hundreds of MB. It finds the matching series and counts their points in
// (t-r, t], failing as the engine would when there are more than its
// MaxSamples, and leaves the points in storage until each series' frame is
// written. The answer is the engine's, byte for byte (see
// TestStreamedAnswerIsTheEngines): series sorted by labels, those without
// points left out, stale markers skipped. It reports false for any other
// query.
func (s *Server) streamSelector(ctx context.Context, call PromCall) (promAnswer, bool) {
	expr, err := s.parser.ParseExpr(call.Expr)
	if err != nil {
		return promAnswer{}, false
	}
	ms, ok := expr.(*parser.MatrixSelector)
	if !ok || ms.RangeExpr != nil {
		return promAnswer{}, false
	}
	vs, ok := ms.VectorSelector.(*parser.VectorSelector)
	if !ok || vs.OriginalOffset != 0 || vs.OriginalOffsetExpr != nil || vs.Offset != 0 ||
		vs.Timestamp != nil || vs.StartOrEnd != 0 || vs.Anchored || vs.Smoothed {
		return promAnswer{}, false
	}
	maxt := call.End.UnixNano() / int64(time.Millisecond)
	mint := maxt - int64(ms.Range/time.Millisecond)
	q := &querier{st: s.store, mint: mint + 1, maxt: maxt}
	sm := &streamMatrix{}
	var total int64
	q.matching(vs.LabelMatchers, func(i int) {
		sm.series = append(sm.series, s.store.src.series(i, mint+1, maxt))
	})
	kept := sm.series[:0]
	for _, ser := range sm.series {
		if err := ctx.Err(); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return apiError(promql.ErrQueryTimeout("expression evaluation")), true
			}
			return apiError(promql.ErrQueryCanceled("expression evaluation")), true
		}
		n := countPoints(ser)
		if total += n; total > int64(s.maxSamples) {
			return apiError(promql.ErrTooManySamples("query execution")), true
		}
		if n > 0 {
			kept = append(kept, ser)
		}
	}
	sm.series = kept
	return promAnswer{status: http.StatusOK, stream: sm}, true
}

// streamMatrix is a range selector's answer left in storage: the series,
// sorted by labels, each with its points in the range the querier was
// given.
type streamMatrix struct {
	series []storage.Series
}

// countPoints is the number of points a series gives a range selector.
func countPoints(ser storage.Series) int64 {
	if c, ok := ser.(interface{ count() int64 }); ok {
		return c.count()
	}
	var n int64
	it := ser.Iterator(nil)
	for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
		if _, v := it.At(); vt == chunkenc.ValFloat && !value.IsStaleNaN(v) {
			n++
		}
	}
	return n
}

// appendPoints appends the points a series gives a range selector.
func appendPoints(dst []promql.FPoint, ser storage.Series) []promql.FPoint {
	it := ser.Iterator(nil)
	for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
		if t, v := it.At(); vt == chunkenc.ValFloat && !value.IsStaleNaN(v) {
			dst = append(dst, promql.FPoint{T: t, F: v})
		}
	}
	return dst
}

// frames is one frame per series, as valueFrames makes them for a matrix,
// whose points are read as the frame is written.
func (sm *streamMatrix) frames() []frame {
	multi := frameMeta{typ: "timeseries-multi", typeVersion: [2]int{0, 1}, resultType: "matrix"}
	out := make([]frame, 0, len(sm.series))
	for _, ser := range sm.series {
		out = append(out, frame{meta: multi, fields: true, valueName: "Value", labels: ser.Labels(),
			fill: func(dst []promql.FPoint) []promql.FPoint { return appendPoints(dst, ser) }})
	}
	return out
}
