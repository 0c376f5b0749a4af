package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/split"
	"github.com/promrecover/promrecover/format/promjson"
	"github.com/promrecover/promrecover/grafana/frames"
)

// Transport says which of Grafana's APIs a Source reads through.
type Transport int

const (
	// DSQuery is POST /api/ds/query: data frames, up to 8 queries a
	// request, float samples only (native histograms arrive as heatmap
	// cells without count and sum).
	DSQuery Transport = iota
	// Proxy is the datasource proxy,
	// /api/datasources/proxy/uid/UID/api/v1/query and query_range:
	// Prometheus's own JSON, one query a request, native histograms whole.
	// Grafana must allow it (the datasource's access is "Server", and the
	// credentials may query the datasource).
	Proxy
)

func (t Transport) String() string {
	if t == Proxy {
		return "proxy"
	}
	return "ds"
}

// ParseTransport reads a transport's name; the error names the value and
// the choices, for the caller to prefix with its flag.
func ParseTransport(v string) (Transport, error) {
	switch v {
	case "ds", "":
		return DSQuery, nil
	case "proxy":
		return Proxy, nil
	}
	return DSQuery, fmt.Errorf("%q: use ds (Grafana's /api/ds/query), proxy (the datasource proxy, for native histograms), prometheus (a Prometheus API read directly, without Grafana) or remote-read (its remote read, the stored chunks)", v)
}

// promAnswerStatuses are the error statuses whose bodies Prometheus fills
// with {"status":"error","errorType":...,"error":...} and promlib parses:
// read them here too, so both transports judge the same text the same way.
// Other statuses (401 from Grafana, 403, 404, 429, 5xx) are the client's
// to classify, as over /api/ds/query.
var promAnswerStatuses = []int{http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusServiceUnavailable}

// proxyStream asks the unit as one query through the datasource proxy:
// the same range selector at the same time in raw mode, the same step
// multiples in step mode, as over /api/ds/query (see split.UnitQuery), POSTed as
// a form like Grafana's own Prometheus client does.
func (s *Source) proxyStream(ctx context.Context, u extract.Unit, add func([]extract.Series) error) error {
	q, ok := split.UnitQuery(u)
	if !ok {
		return nil
	}
	form := url.Values{"query": {q.Expr}}
	endpoint := "query_range"
	if q.Instant {
		endpoint = "query"
		form.Set("time", promTime(q.To))
	} else {
		form.Set("start", promTime(q.From))
		form.Set("end", promTime(q.To))
		form.Set("step", promTime(u.Step.Milliseconds()))
	}
	path := "/api/datasources/proxy/uid/" + url.PathEscape(s.Datasource.UID) + "/api/v1/" + endpoint
	var one [1]extract.Series
	return s.Client.call(ctx, http.MethodPost, path, form, promAnswerStatuses, func(status int, body io.Reader) error {
		if status/100 != 2 {
			return proxyError(q.Expr, status, body)
		}
		warnings, err := decodePromMatrix(body, maxPoints(u, q), func(ser extract.Series) error {
			one[0] = ser
			return add(one[:])
		})
		if err != nil {
			return decodeFailure(fmt.Errorf("decoding the answer to %s: %w", q.Expr, err))
		}
		for _, w := range warnings {
			s.Client.opts.Log.Warn("Prometheus warning", "query", q.Expr, "text", w)
		}
		return nil
	})
}

// proxyError classifies an error answer exactly as /api/ds/query's refId
// errors are (queryError): promlib words Prometheus's error body as
// "<errorType>: <error>", and so is it worded here. A body that is not
// Prometheus's JSON, such as Grafana's "Authentication to data source
// failed" (the datasource refused Grafana), is taken as it is.
func proxyError(expr string, status int, body io.Reader) error {
	raw, _ := io.ReadAll(io.LimitReader(body, 4096))
	msg := strings.TrimSpace(string(raw))
	var pe struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
	}
	if json.Unmarshal(raw, &pe) == nil && pe.Status == "error" {
		msg = pe.ErrorType + ": " + pe.Error
	}
	return queryError(expr, &frames.Result{Status: status, Error: msg})
}

// decodePromMatrix reads Prometheus's answer to a query whose result is a
// matrix with promjson.ReadBounded (maxPoints a series), handing each
// series to add as it is decoded, and words what is wrong with an answer
// for a query's error.
func decodePromMatrix(r io.Reader, maxPoints int, add func(extract.Series) error) ([]string, error) {
	notes, err := promjson.ReadBounded(r, maxPoints, add)
	var (
		st  *promjson.StatusError
		rte *promjson.ResultTypeError
	)
	switch {
	case errors.As(err, &st):
		return nil, fmt.Errorf("status %q in a 2xx answer", st.Status)
	case errors.As(err, &rte):
		return nil, fmt.Errorf("result of type %q; a range selector or range query answers a matrix", rte.Type)
	case errors.Is(err, promjson.ErrNoData), errors.Is(err, promjson.ErrNoResult):
		return nil, promjson.ErrNoResult
	}
	return notes, err
}
