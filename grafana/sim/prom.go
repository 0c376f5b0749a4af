package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
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
	warnings   annotations.Annotations
	close      func() // returns the result's memory to the engine
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
		return promAnswer{status: r.Status, unexpected: r.Body}
	}
	var body struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		return promAnswer{status: r.Status, err: "response from prometheus couldn't be parsed. it is non-json: " + err.Error()}
	}
	if body.Status != "error" {
		// promlib reads the error from the body, not the status: an error
		// status with a body that is no error leaves an empty result.
		return promAnswer{status: r.Status, value: promql.Matrix{}}
	}
	return promAnswer{status: r.Status, err: body.ErrorType + ": " + body.Error}
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
