package faults

import (
	"bytes"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage/remote"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// Read matches the remote read requests with a query that q accepts.
func Read(q func(*prompb.Query) bool) Match {
	return func(_ *http.Request, body []byte) bool {
		raw, err := snappy.Decode(nil, body)
		var rr prompb.ReadRequest
		if err != nil || rr.Unmarshal(raw) != nil {
			return false
		}
		return slices.ContainsFunc(rr.Queries, q)
	}
}

// readRange is the time range a remote read request r asks (of its first
// query), with r's body kept for the server; every time where r is no
// remote read.
func readRange(r *http.Request) (start, end int64) {
	start, end = math.MinInt64, math.MaxInt64
	if r.Body == nil {
		return start, end
	}
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return start, end
	}
	raw, err := snappy.Decode(nil, body)
	var rr prompb.ReadRequest
	if err != nil || rr.Unmarshal(raw) != nil || len(rr.Queries) == 0 {
		return start, end
	}
	return rr.Queries[0].StartTimestampMs, rr.Queries[0].EndTimestampMs
}

// streamed says whether h is that of a STREAMED_XOR_CHUNKS answer.
func streamed(h http.Header) bool {
	return strings.HasPrefix(h.Get("Content-Type"), "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse")
}

// droppedRead is a streamed remote read answer with loss left out of its
// first series, re-framed; or body unchanged where it cannot be read. The
// tail left out is the last sample inside the asked range [start, end]:
// chunks reach past the range, and a sample beyond it is cut by the reader
// anyway, so leaving one of those out would lose nothing.
func droppedRead(body []byte, loss Loss, start, end int64) []byte {
	r := remote.NewChunkedReader(bytes.NewReader(body), uint64(len(body)), nil)
	var out bytes.Buffer
	w := remote.NewChunkedWriter(&out, noFlush{})
	done := false
	for {
		var res prompb.ChunkedReadResponse
		switch err := r.NextProto(&res); {
		case err == io.EOF:
			if !done {
				return body
			}
			return out.Bytes()
		case err != nil:
			return body
		}
		if !done && len(res.ChunkedSeries) > 0 {
			if done = dropFirst(&res, loss, start, end); done && len(res.ChunkedSeries) == 0 {
				continue // a frame of nothing is no frame
			}
		}
		b, err := res.Marshal()
		if err != nil {
			return body
		}
		if _, err := w.Write(b); err != nil {
			return body
		}
	}
}

// dropFirst leaves loss out of res's first series, saying whether it did:
// the series, or its last sample in [start, end] (XOR chunks only; the
// chunk itself where it holds that one sample alone).
func dropFirst(res *prompb.ChunkedReadResponse, loss Loss, start, end int64) bool {
	if loss == Whole {
		res.ChunkedSeries = res.ChunkedSeries[1:]
		return true
	}
	cs := res.ChunkedSeries[0]
	for i := len(cs.Chunks) - 1; i >= 0; i-- {
		if cs.Chunks[i].Type != prompb.Chunk_XOR {
			return false
		}
		kept, dropped, ok := withoutLast(cs.Chunks[i].Data, start, end)
		switch {
		case !ok:
			return false
		case !dropped:
			continue
		case kept == nil:
			cs.Chunks = slices.Delete(cs.Chunks, i, i+1)
		default:
			cs.Chunks[i].Data, cs.Chunks[i].MinTimeMs, cs.Chunks[i].MaxTimeMs = kept.Bytes(), kept.min, kept.max
		}
		return true
	}
	return false
}

// shortChunk is an XOR chunk re-encoded without one sample.
type shortChunk struct {
	*chunkenc.XORChunk
	min, max int64
}

// withoutLast re-encodes the XOR chunk data without its last sample in
// [start, end]: dropped says whether it had one, kept is nil where that
// was its only sample, and ok is false where the data does not decode.
func withoutLast(data []byte, start, end int64) (kept *shortChunk, dropped, ok bool) {
	c, err := chunkenc.FromData(chunkenc.EncXOR, data)
	if err != nil {
		return nil, false, false
	}
	var ts []int64
	var vs []float64
	it := c.Iterator(nil)
	for it.Next() == chunkenc.ValFloat {
		t, v := it.At()
		ts, vs = append(ts, t), append(vs, v)
	}
	if it.Err() != nil {
		return nil, false, false
	}
	k := -1
	for i, t := range ts {
		if t >= start && t <= end {
			k = i
		}
	}
	if k < 0 {
		return nil, false, true
	}
	if len(ts) == 1 {
		return nil, true, true
	}
	short := &shortChunk{XORChunk: chunkenc.NewXORChunk()}
	app, err := short.Appender()
	if err != nil {
		return nil, false, false
	}
	first := true
	for i := range ts {
		if i == k {
			continue
		}
		app.Append(0, ts[i], vs[i])
		if first {
			short.min, first = ts[i], false
		}
		short.max = ts[i]
	}
	return short, true, true
}

type noFlush struct{}

func (noFlush) Flush() {}
