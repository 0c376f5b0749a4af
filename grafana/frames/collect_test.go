package frames

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/promrecover/promrecover/extract"
)

// response is a whole decoded body, what most tests compare: Decode with a
// handler that keeps everything (decodeAll).
type response struct {
	Results []result // sorted by RefID
}

// result is one refId's Result with its series: one per number field of
// every time series frame, samples in the order received. A refId with an
// Error may have some.
type result struct {
	Result
	Series []extract.Series
}

// decodeAll reads a body whole: Decode with a collector. Its errors are
// Decode's.
func decodeAll(r io.Reader) (*response, error) {
	c := &collector{resp: &response{}}
	if err := Decode(r, c); err != nil {
		return nil, err
	}
	slices.SortStableFunc(c.resp.Results, func(a, b result) int { return strings.Compare(a.RefID, b.RefID) })
	return c.resp, nil
}

// collector is decodeAll's Handler. It copies samples into shared chunks,
// so a response costs a few large allocations rather than one per series
// (BenchmarkDecodeCollect measures it).
type collector struct {
	resp   *response
	series []extract.Series
	chunk  []extract.Sample
}

const collectChunk = 64 << 10 // samples

func (c *collector) Series(_ string, s extract.Series) error {
	n := len(s.Samples)
	if cap(c.chunk)-len(c.chunk) < n {
		c.chunk = make([]extract.Sample, 0, max(collectChunk, n))
	}
	start := len(c.chunk)
	c.chunk = append(c.chunk, s.Samples...)
	c.series = append(c.series, extract.Series{Labels: s.Labels, Samples: c.chunk[start:len(c.chunk):len(c.chunk)]})
	return nil
}

func (c *collector) Result(r *Result) error {
	c.resp.Results = append(c.resp.Results, result{Result: *r, Series: c.series})
	c.series = nil
	return nil
}

func decodeBody(t testing.TB, body []byte) *response {
	t.Helper()
	resp, err := decodeAll(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return resp
}
