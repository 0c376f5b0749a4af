package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unsafe"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/grafana/frames"
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
	return queryError(expr, &frames.Result{Status: status, Error: msg})
}

// decodePromMatrix reads Prometheus's answer to a query whose result is a
// matrix, handing each series to add as soon as it is decoded, so memory
// holds one series, not the answer; the series is valid only during the
// call. Values keep Prometheus's text exactly ("NaN", "+Inf" and shortest
// round-trip digits parse back to the same float64), timestamps come back
// as the exact millisecond, and native histograms are rebuilt with
// nativehist.FromAPI (one it cannot rebuild exactly fails the query, naming
// the series). It returns Prometheus's warnings and infos.
//
// It walks the answer with jsoniter's iterator, allocating per series, not
// per sample: 13-16M samples/s on one core here, against 36-40M for the
// /api/ds/query frame decoder on the same data in the same run
// (BenchmarkDecodeProxy, BenchmarkDecodeStream). Decoding into
// prometheus/common/model's types with encoding/json, as a first version
// did, read about 0.6M samples/s: every value pair goes through its own
// json.Unmarshal.
func decodePromMatrix(r io.Reader, add func(extract.Series) error) ([]string, error) {
	cr := &readCounter{r: r}
	it := jsoniter.Parse(jsoniter.ConfigCompatibleWithStandardLibrary, cr, 64<<10)
	d := &promDecoder{it: it, read: cr}
	var status, resultType string
	var notes []string
	sawResult := false
	for key := it.ReadObject(); key != "" && it.Error == nil; key = it.ReadObject() {
		switch key {
		case "status":
			status = it.ReadString()
		case "warnings", "infos":
			for it.ReadArray() {
				notes = append(notes, it.ReadString())
			}
		case "data":
			for k := it.ReadObject(); k != "" && it.Error == nil; k = it.ReadObject() {
				if k == "resultType" {
					resultType = it.ReadString()
					continue
				}
				if k != "result" {
					it.Skip()
					continue
				}
				if resultType != "matrix" {
					return nil, fmt.Errorf("result of type %q; a range selector or range query answers a matrix", resultType)
				}
				sawResult = true
				for it.ReadArray() {
					ser, err := d.series()
					if err != nil {
						return nil, err
					}
					if it.Error != nil {
						break
					}
					if err := add(ser); err != nil {
						return nil, err
					}
				}
			}
		default:
			it.Skip()
		}
	}
	switch {
	case it.Error != nil && it.Error != io.EOF:
		return nil, d.syntaxError("")
	case status != "success":
		return nil, fmt.Errorf("status %q in a 2xx answer", status)
	case !sawResult:
		return nil, errors.New("no data.result in the answer")
	}
	return notes, nil
}

// promDecoder reads series of a matrix, reusing its buffers from one
// series to the next.
type promDecoder struct {
	it      *jsoniter.Iterator
	read    *readCounter
	lb      labels.ScratchBuilder
	samples []extract.Sample
	hists   []extract.HistogramSample
}

// series reads {"metric":{...},"values":[[t,"v"],...],"histograms":[[t,{...}],...]}.
func (d *promDecoder) series() (extract.Series, error) {
	it := d.it
	d.lb.Reset()
	d.samples, d.hists = d.samples[:0], d.hists[:0]
	var pairs []model.SampleHistogramPair
	for k := it.ReadObject(); k != "" && it.Error == nil; k = it.ReadObject() {
		switch k {
		case "metric":
			for name := it.ReadObject(); name != "" && it.Error == nil; name = it.ReadObject() {
				d.lb.Add(name, it.ReadString())
			}
		case "values":
			for it.ReadArray() {
				it.ReadArray()
				// Seconds with three decimals are read into the nearest
				// float64, within a ten-thousandth of a millisecond for
				// any date: rounding gives the exact millisecond.
				t := int64(math.Round(it.ReadFloat64() * 1000))
				it.ReadArray()
				text := it.ReadStringAsSlice() // valid until the next read
				v, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(text), len(text)), 64)
				if err != nil {
					err = fmt.Errorf("sample value %q: %w", string(text), errors.Unwrap(err))
				}
				if it.ReadArray() || it.Error != nil {
					return extract.Series{}, d.syntaxError(`a sample is not a [time, "value"] pair`)
				}
				if err != nil {
					return extract.Series{}, err
				}
				d.samples = append(d.samples, extract.Sample{T: t, V: v})
			}
		case "histograms":
			// Histograms are few beside floats: model's own decoding is
			// fast enough for them.
			it.ReadVal(&pairs)
		default:
			it.Skip()
		}
	}
	d.lb.Sort()
	out := extract.Series{Labels: d.lb.Labels(), Samples: d.samples}
	for _, p := range pairs {
		if p.Histogram == nil {
			return out, d.syntaxError("a histogram sample without its histogram")
		}
		h, fh, err := nativehist.FromAPI(p.Histogram)
		if err != nil {
			return out, fmt.Errorf("series %s at %s: %w", out.Labels, p.Timestamp.Time().UTC().Format("2006-01-02T15:04:05.000Z"), err)
		}
		d.hists = append(d.hists, extract.HistogramSample{T: int64(p.Timestamp), H: h, FH: fh})
	}
	// What the API form does not show (an empty zero bucket's threshold, a
	// bucketless histogram's schema) is taken from the series' neighbouring
	// samples, as the original most likely had it.
	nativehist.FillSeries(d.hists)
	out.Histograms = d.hists
	return out, nil
}

// syntaxError is a body that is not the JSON expected: the iterator's own
// error when it has one (a body cut short says EOF), else msg.
func (d *promDecoder) syntaxError(msg string) *frames.SyntaxError {
	if d.it.Error != nil && d.it.Error != io.EOF {
		msg = d.it.Error.Error()
	}
	return &frames.SyntaxError{Msg: msg, Offset: d.read.n}
}

// readCounter counts the bytes read, for where a syntax error was found.
type readCounter struct {
	r io.Reader
	n int64
}

func (c *readCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
