package faults

import (
	"bytes"
	"io"
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

// streamed says whether h is that of a STREAMED_XOR_CHUNKS answer.
func streamed(h http.Header) bool {
	return strings.HasPrefix(h.Get("Content-Type"), "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse")
}

// droppedRead is a streamed remote read answer with loss left out of its
// first series, re-framed; or body unchanged where it cannot be read.
func droppedRead(body []byte, loss Loss) []byte {
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
			if done = dropFirst(&res, loss); done && len(res.ChunkedSeries) == 0 {
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
// the series, or the last sample of its last chunk (XOR chunks only; the
// chunk itself where it holds that one sample alone).
func dropFirst(res *prompb.ChunkedReadResponse, loss Loss) bool {
	if loss == Whole {
		res.ChunkedSeries = res.ChunkedSeries[1:]
		return true
	}
	cs := res.ChunkedSeries[0]
	if len(cs.Chunks) == 0 {
		return false
	}
	last := &cs.Chunks[len(cs.Chunks)-1]
	c, err := chunkenc.FromData(chunkenc.EncXOR, last.Data)
	if last.Type != prompb.Chunk_XOR || err != nil {
		return false
	}
	n := c.NumSamples()
	switch {
	case n == 1 && len(cs.Chunks) > 1:
		cs.Chunks = cs.Chunks[:len(cs.Chunks)-1]
		return true
	case n < 2:
		return false
	}
	short := chunkenc.NewXORChunk()
	app, err := short.Appender()
	if err != nil {
		return false
	}
	it := c.Iterator(nil)
	for i := 0; i < n-1 && it.Next() == chunkenc.ValFloat; i++ {
		t, v := it.At()
		app.Append(0, t, v)
		last.MaxTimeMs = t
	}
	last.Data = short.Bytes()
	return true
}

type noFlush struct{}

func (noFlush) Flush() {}
