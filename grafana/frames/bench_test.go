package frames

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/simtest"
)

// Benchmark bodies are real /api/ds/query answers of the built-in server,
// the same data as the datasource proxy's benchmark reads (see
// internal/simtest).

type benchBody struct {
	name    string
	body    []byte
	samples int // what Decode finds in it
}

var (
	benchOnce   sync.Once
	benchBodies []benchBody
)

// bodies counts, once, the samples of simtest's raw and step answers for
// about 2,000 series.
func bodies(b *testing.B) []benchBody {
	benchOnce.Do(func() {
		for _, sb := range simtest.DSQuery(b) {
			bb := benchBody{name: sb.Name, body: sb.Body}
			resp, err := decodeAll(bytes.NewReader(bb.body))
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

func BenchmarkDecodeCollect(b *testing.B) { runDecodeBench(b, collecting(decodeAll)) }

// collecting benchmarks a decoder that returns the whole response.
func collecting(decode func(io.Reader) (*response, error)) func(testing.TB, []byte) int {
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

// BenchmarkDecodeStream is Decode, which was DecodeStream, with a handler
// that only counts.
func BenchmarkDecodeStream(b *testing.B) { runDecodeBench(b, decodeCounting(false)) }

// boundedHandler is a countingHandler that bounds the rows of every refId
// as grafana's source does, so that the column loops check them.
type boundedHandler struct{ *countingHandler }

func (h boundedHandler) MaxRows(string) int { return 7_200_001 } // a 2h raw window

// BenchmarkDecodeStreamBounded is BenchmarkDecodeStream with the row bound
// on.
func BenchmarkDecodeStreamBounded(b *testing.B) { runDecodeBench(b, decodeCounting(true)) }

// decodeCounting decodes with a countingHandler, bounded or not.
func decodeCounting(bounded bool) func(tb testing.TB, body []byte) int {
	return func(tb testing.TB, body []byte) int {
		c := &countingHandler{}
		var h Handler = c
		if bounded {
			h = boundedHandler{c}
		}
		if err := Decode(bytes.NewReader(body), h); err != nil {
			tb.Fatal(err)
		}
		return c.samples
	}
}

// BenchmarkDecodePrevious is the encoding/json-based decoder Decode
// replaced (ref_test.go).
func BenchmarkDecodePrevious(b *testing.B) { runDecodeBench(b, collecting(refDecode)) }
