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

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/nativehist"
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

// ParseTransport reads --via.
func ParseTransport(v string) (Transport, error) {
	switch v {
	case "ds", "":
		return DSQuery, nil
	case "proxy":
		return Proxy, nil
	}
	return DSQuery, fmt.Errorf("--via %q: use ds (Grafana's /api/ds/query) or proxy (the datasource proxy, for native histograms)", v)
}

// promAnswerStatuses are the error statuses whose bodies Prometheus fills
// with {"status":"error","errorType":...,"error":...} and promlib parses:
// read them here too, so both transports judge the same text the same way.
// Other statuses (401 from Grafana, 403, 404, 429, 5xx) are the client's
// to classify, as over /api/ds/query.
var promAnswerStatuses = []int{http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusServiceUnavailable}

// proxyStream asks the unit as one query through the datasource proxy:
// the same range selector at the same time in raw mode, the same step
// multiples in step mode, as over /api/ds/query (see unitQuery), POSTed as
// a form like Grafana's own Prometheus client does.
func (s *Source) proxyStream(ctx context.Context, u extract.Unit, add func([]extract.Series) error) error {
	q, ok := unitQuery(u)
	if !ok {
		return nil
	}
	form := url.Values{"query": {q.expr}}
	endpoint := "query_range"
	if q.instant {
		endpoint = "query"
		form.Set("time", promTime(q.to))
	} else {
		form.Set("start", promTime(q.from))
		form.Set("end", promTime(q.to))
		form.Set("step", promTime(u.Step.Milliseconds()))
	}
	path := "/api/datasources/proxy/uid/" + url.PathEscape(s.Datasource.UID) + "/api/v1/" + endpoint
	var one [1]extract.Series
	return s.Client.call(ctx, http.MethodPost, path, form, promAnswerStatuses, func(status int, body io.Reader) error {
		if status/100 != 2 {
			return proxyError(q.expr, status, body)
		}
		warnings, err := decodePromMatrix(body, func(ser extract.Series) error {
			one[0] = ser
			return add(one[:])
		})
		if err != nil {
			return decodeFailure(fmt.Errorf("decoding the answer to %s: %w", q.expr, err))
		}
		for _, w := range warnings {
			s.Client.opts.Log.Warn("Prometheus warning", "query", q.expr, "text", w)
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
	return queryError(expr, &Result{Status: status, Error: msg})
}

// decodePromMatrix reads Prometheus's answer to a query whose result is a
// matrix, handing each series to add as soon as it is decoded, so memory
// holds one series, not the answer. Values keep Prometheus's text exactly
// ("NaN", "+Inf" and shortest round-trip digits parse back to the same
// float64); native histograms are rebuilt with nativehist.FromAPI. It
// returns Prometheus's warnings and infos.
//
// It uses encoding/json with prometheus/common/model's types: simple and
// exact, but several times slower than the /api/ds/query frame decoder
// (see BenchmarkDecodeProxy).
func decodePromMatrix(r io.Reader, add func(extract.Series) error) ([]string, error) {
	dec := json.NewDecoder(r)
	var status, resultType string
	var notes []string
	sawResult := false
	err := walkObject(dec, func(key string) error {
		switch key {
		case "status":
			return dec.Decode(&status)
		case "warnings", "infos":
			var list []string
			err := dec.Decode(&list)
			notes = append(notes, list...)
			return err
		case "data":
			return walkObject(dec, func(key string) error {
				switch key {
				case "resultType":
					return dec.Decode(&resultType)
				case "result":
					if resultType != "matrix" {
						return fmt.Errorf("result of type %q before a matrix resultType; a range selector or range query answers a matrix", resultType)
					}
					sawResult = true
					return walkArray(dec, func() error {
						var ss model.SampleStream
						if err := dec.Decode(&ss); err != nil {
							return err
						}
						ser, err := fromStream(&ss)
						if err != nil {
							return err
						}
						return add(ser)
					})
				}
				return dec.Decode(&json.RawMessage{})
			})
		}
		return dec.Decode(&json.RawMessage{})
	})
	switch {
	case err != nil:
		return nil, err
	case status != "success":
		return nil, fmt.Errorf("status %q in a 2xx answer", status)
	case !sawResult:
		return nil, errors.New("no data.result in the answer")
	}
	return notes, nil
}

// walkObject reads an object, calling member for each key with the decoder
// before the key's value, which member must consume.
func walkObject(dec *json.Decoder, member func(key string) error) error {
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if err := member(tok.(string)); err != nil {
			return err
		}
	}
	return expectDelim(dec, '}')
}

// walkArray reads an array, calling elem for each element, which elem must
// consume.
func walkArray(dec *json.Decoder, elem func() error) error {
	if err := expectDelim(dec, '['); err != nil {
		return err
	}
	for dec.More() {
		if err := elem(); err != nil {
			return err
		}
	}
	return expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, found %v", want, tok)
	}
	return nil
}

// fromStream converts one series of the answer.
func fromStream(ss *model.SampleStream) (extract.Series, error) {
	b := labels.NewScratchBuilder(len(ss.Metric))
	for k, v := range ss.Metric {
		b.Add(string(k), string(v))
	}
	b.Sort()
	out := extract.Series{Labels: b.Labels()}
	if len(ss.Values) > 0 {
		out.Samples = make([]extract.Sample, len(ss.Values))
		for i, p := range ss.Values {
			out.Samples[i] = extract.Sample{T: int64(p.Timestamp), V: float64(p.Value)}
		}
	}
	for _, p := range ss.Histograms {
		h, fh, err := nativehist.FromAPI(p.Histogram)
		if err != nil {
			return out, fmt.Errorf("series %s at %s: %w", out.Labels, p.Timestamp.Time().UTC().Format("2006-01-02T15:04:05.000Z"), err)
		}
		out.Histograms = append(out.Histograms, extract.HistogramSample{T: int64(p.Timestamp), H: h, FH: fh})
	}
	return out, nil
}
