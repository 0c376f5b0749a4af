package sim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/storage/remote"
	"github.com/prometheus/prometheus/tsdb/chunks"
)

// Remote read, POST .../api/v1/read, answered by Prometheus's own handler
// (storage/remote: the request's decoding, STREAMED_XOR_CHUNKS frames,
// SAMPLES for a client that does not accept them) over the same data,
// limits and Intercept as the queries. The chunks are those of Mimir's
// store-gateway, whose compacted blocks span 24h: cut from the day's start
// every 120 samples, so a chunk may begin before the asked range and end
// after it, and the client must trim them.

// readChunkDay is the span of the blocks chunks are cut in.
const readChunkDay = 24 * time.Hour

// readSampleLimit and readFrameBytes are Prometheus's defaults
// (--storage.remote.read-sample-limit, -max-bytes-in-frame). Each request
// gets its own handler, as its limits are the query's: its concurrency
// limit, one, bounds nothing.
const (
	readSampleLimit = 50_000_000
	readFrameBytes  = 1 << 20
	readConcurrency = 1
)

// remoteRead answers a remote read of the first Prometheus datasource, the
// one cloudAuthed set.
func (s *Server) remoteRead(w http.ResponseWriter, r *http.Request) {
	s.remoteReads.Add(1)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if reply := s.interceptRead(r, body); reply != nil {
		http.Error(w, reply.Body, reply.Status)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	st := &readStore{Queryable: s.queryable(), maxChunks: s.cfg.MaxChunksPerQuery}
	h := remote.NewReadHandler(slog.New(slog.DiscardHandler), nil, st, func() config.Config { return config.Config{} }, readSampleLimit, readConcurrency, readFrameBytes)
	h.ServeHTTP(&readWriter{ResponseWriter: w}, r)
}

// interceptRead shows Intercept each query of a read request, as a call
// of Path /api/v1/read whose Match is the query's matchers; the first
// refusal is the answer, its body as plain text as Mimir writes it.
func (s *Server) interceptRead(r *http.Request, body []byte) *PromReply {
	if s.cfg.Intercept == nil {
		return nil
	}
	req := r.Clone(r.Context())
	req.Body = io.NopCloser(bytes.NewReader(body))
	rr, err := remote.DecodeReadRequest(req)
	if err != nil {
		return nil // the handler refuses it
	}
	for _, q := range rr.Queries {
		ms, err := remote.FromLabelMatchers(q.Matchers)
		if err != nil {
			return nil
		}
		call := PromCall{Datasource: r.PathValue("uid"), Path: "/api/v1/read", Match: []string{matchersString(ms)},
			Start: time.UnixMilli(q.StartTimestampMs).UTC(), End: time.UnixMilli(q.EndTimestampMs).UTC()}
		if reply := s.cfg.Intercept(call); reply != nil && reply.Status/100 != 2 {
			return reply
		}
	}
	return nil
}

func matchersString(ms []*labels.Matcher) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// readWriter lets Prometheus's handler flush each frame through writers
// (the counters', the faults') that do not say they can, and drops the
// status of an error it writes after frames, which net/http would drop
// too, with a log line.
type readWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *readWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

func (w *readWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *readWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// readStore is the storage of one remote read: the query's queryable, and
// its chunks as the store-gateway holds them.
type readStore struct {
	storage.Queryable
	maxChunks int // 0: no limit
}

func (st *readStore) ChunkQuerier(mint, maxt int64) (storage.ChunkQuerier, error) {
	day := readChunkDay.Milliseconds()
	q, err := st.Querier(mint-mod(mint, day), maxt-mod(maxt, day)+day-1)
	if err != nil {
		return nil, err
	}
	return &chunkQuerier{Querier: q, mint: mint, maxt: maxt, maxChunks: st.maxChunks}, nil
}

func mod(a, b int64) int64 { return ((a % b) + b) % b }

// chunkQuerier encodes the days' series as chunks and hands on those that
// overlap [mint, maxt].
type chunkQuerier struct {
	storage.Querier
	mint, maxt int64
	maxChunks  int
	chunks     atomic.Int64 // handed on so far, against maxChunks
}

func (q *chunkQuerier) Select(ctx context.Context, sorted bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.ChunkSeriesSet {
	return &overlapping{ChunkSeriesSet: storage.NewSeriesSetToChunkSet(q.Querier.Select(ctx, sorted, hints, ms...)), q: q}
}

// overlapping is a chunk series set cut to the chunks that overlap the
// querier's range; series left with none are skipped.
type overlapping struct {
	storage.ChunkSeriesSet
	q   *chunkQuerier
	cur storage.ChunkSeries
	err error
}

func (o *overlapping) Next() bool {
	for o.err == nil && o.ChunkSeriesSet.Next() {
		s := o.ChunkSeriesSet.At()
		var keep []chunks.Meta
		it := s.Iterator(nil)
		for it.Next() {
			if m := it.At(); m.MaxTime >= o.q.mint && m.MinTime <= o.q.maxt {
				keep = append(keep, m)
			}
		}
		if o.err = it.Err(); o.err != nil || len(keep) == 0 {
			continue
		}
		if n := o.q.chunks.Add(int64(len(keep))); o.q.maxChunks > 0 && n > int64(o.q.maxChunks) {
			o.err = errMaxChunks(o.q.maxChunks)
			return false
		}
		o.cur = &storage.ChunkSeriesEntry{Lset: s.Labels(), ChunkIteratorFn: func(chunks.Iterator) chunks.Iterator { return storage.NewListChunkSeriesIterator(keep...) }}
		return true
	}
	return false
}

func (o *overlapping) At() storage.ChunkSeries { return o.cur }

func (o *overlapping) Err() error {
	if o.err != nil {
		return o.err
	}
	return o.ChunkSeriesSet.Err()
}

// errMaxChunks is Mimir's limiter error (pkg/util/limiter, globalerror
// MaxChunksPerQuery with its per-tenant flag).
func errMaxChunks(limit int) error {
	//lint:ignore ST1005 Mimir's own text, verbatim: clients match on it
	return fmt.Errorf("the query exceeded the maximum number of chunks (limit: %d chunks) (err-mimir-max-chunks-per-query). Consider reducing the time range and/or number of series selected by the query. One way to reduce the number of selected series is to add more label matchers to the query. Otherwise, to adjust the related per-tenant limit, configure -querier.max-fetched-chunks-per-query, or contact your service administrator.", limit)
}
