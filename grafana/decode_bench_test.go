package grafana

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/sim"
)

// Benchmark bodies are real /api/ds/query answers of the built-in server:
// its demo data set (counters, gauges with full-precision floats, a classic
// histogram, NaN and +Inf samples, jittered timestamps) copied replicas
// times under a "replica" label, two hours of 15s scrapes, so about 480
// samples per series.

var benchT0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// benchSeries is replicas copies of the demo data set over [benchT0,
// benchT0+2h), each from its own seed.
func benchSeries(replicas int) []extract.Series {
	var out []extract.Series
	for r := range replicas {
		for _, s := range sim.DemoSeries(benchT0, benchT0.Add(2*time.Hour), int64(r+1)) {
			b := labels.NewBuilder(s.Labels)
			b.Set("replica", strconv.Itoa(r))
			out = append(out, extract.Series{Labels: b.Labels(), Samples: s.Samples})
		}
	}
	return out
}

// simBody asks the built-in server the query q (a JSON object without refId
// and datasource) over [from, to] and returns the answer's body.
func simBody(tb testing.TB, series []extract.Series, from, to time.Time, q string) []byte {
	tb.Helper()
	srv := sim.New(sim.Config{Series: series, Tokens: []string{token}, Now: func() time.Time { return to.Add(time.Hour) }})
	req := fmt.Sprintf(`{"from":"%d","to":"%d","queries":[{"refId":"A","datasource":{"uid":"grafanacloud-prom","type":"prometheus"},%s}]}`,
		from.UnixMilli(), to.UnixMilli(), q)
	return simPost(tb, srv, "/api/ds/query", "application/json", req)
}

// simPost POSTs body to the built-in server with the test token and returns
// the answer's body, which must be a 200.
func simPost(tb testing.TB, srv *sim.Server, path, contentType, body string) []byte {
	tb.Helper()
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+token)
	r.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		tb.Fatalf("the server answered %d: %.300s", rec.Code, rec.Body.Bytes())
	}
	return rec.Body.Bytes()
}

type benchBody struct {
	name    string
	body    []byte
	samples int // what Decode finds in it
}

var (
	benchOnce   sync.Once
	benchBodies []benchBody
)

// bodies builds, once, a raw answer (what promrecover asks by default: an
// instant query of a range selector one millisecond longer than the window)
// and a step answer (a range query at 15s) for about 2,000 series.
func bodies(b *testing.B) []benchBody {
	benchOnce.Do(func() {
		series := benchSeries(6)
		from, to := benchT0, benchT0.Add(2*time.Hour)
		raw := simBody(b, series, from, to, `"expr":"{__name__=~\".+\"}[7200001ms]","instant":true,"range":false,"maxDataPoints":11000,"intervalMs":1000,"format":"time_series"`)
		step := simBody(b, series, from, to.Add(-15*time.Second), `"expr":"{__name__=~\".+\"}","instant":false,"range":true,"interval":"15s","maxDataPoints":11000,"intervalMs":15000,"format":"time_series"`)
		for _, bb := range []benchBody{{name: "raw", body: raw}, {name: "step", body: step}} {
			resp, err := Decode(bytes.NewReader(bb.body))
			if err != nil {
				b.Fatal(err)
			}
			for _, s := range resp.Results[0].Series {
				bb.samples += len(s.Samples)
			}
			benchBodies = append(benchBodies, bb)
		}
	})
	if benchBodies == nil {
		b.Fatal("no benchmark bodies")
	}
	return benchBodies
}

// runDecodeBench runs decode over every body and reports samples/s beside
// MB/s; every decoder must find the same number of samples.
func runDecodeBench(b *testing.B, decode func(tb testing.TB, body []byte) int) {
	for _, bb := range bodies(b) {
		b.Run(bb.name, func(b *testing.B) {
			if n := decode(b, bb.body); n != bb.samples {
				b.Fatalf("%d samples, want %d", n, bb.samples)
			}
			b.SetBytes(int64(len(bb.body)))
			b.ReportAllocs()
			for b.Loop() {
				decode(b, bb.body)
			}
			b.ReportMetric(float64(bb.samples)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

func BenchmarkDecodeCollect(b *testing.B) { runDecodeBench(b, collecting(Decode)) }

// collecting benchmarks a decoder that returns the whole response.
func collecting(decode func(io.Reader) (*Response, error)) func(testing.TB, []byte) int {
	return func(tb testing.TB, body []byte) int {
		resp, err := decode(bytes.NewReader(body))
		if err != nil {
			tb.Fatal(err)
		}
		n := 0
		for _, s := range resp.Results[0].Series {
			n += len(s.Samples)
		}
		return n
	}
}

// BenchmarkSDKDecode is how Grafana's plugin SDK reads the same body: its
// QueryDataResponse and data.Frame JSON decoders, through json.Unmarshal.
func BenchmarkSDKDecode(b *testing.B) {
	runDecodeBench(b, func(tb testing.TB, body []byte) int {
		var resp backend.QueryDataResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			tb.Fatal(err)
		}
		n := 0
		for _, f := range resp.Responses["A"].Frames {
			for _, fl := range f.Fields[1:] {
				n += fl.Len() // the server writes no missing values
			}
		}
		return n
	})
}

// countingHandler counts the samples it is given and keeps nothing.
type countingHandler struct{ samples int }

func (h *countingHandler) Series(_ string, s extract.Series) error {
	h.samples += len(s.Samples)
	return nil
}

func (h *countingHandler) Result(*Result) error { return nil }

// BenchmarkDecodeStream is DecodeStream with a handler that only counts.
func BenchmarkDecodeStream(b *testing.B) {
	runDecodeBench(b, func(tb testing.TB, body []byte) int {
		var h countingHandler
		if err := DecodeStream(bytes.NewReader(body), &h); err != nil {
			tb.Fatal(err)
		}
		return h.samples
	})
}

// BenchmarkDecodePrevious is the encoding/json-based decoder DecodeStream
// replaced (decode_ref_test.go).
func BenchmarkDecodePrevious(b *testing.B) { runDecodeBench(b, collecting(refDecode)) }
