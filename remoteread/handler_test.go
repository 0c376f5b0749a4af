package remoteread

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/promrecover/promrecover/extract"
)

// The tests here serve the data with Prometheus's own remote read handler
// at go.mod's version (3.x), which reads float-count histograms too; a
// wrapper in front of it plays what a server in the way does (an older
// server that does not stream, Mimir's limits, a gateway's refusals).

// decodeRequest reads the request as a server does, for the wrappers.
func decodeRequest(t testing.TB, r *http.Request) (*prompb.ReadRequest, []byte) {
	compressed, err := io.ReadAll(r.Body)
	if err != nil {
		t.Error(err)
	}
	raw, err := snappy.Decode(nil, compressed)
	if err != nil {
		t.Error(err)
	}
	var rr prompb.ReadRequest
	if err := rr.Unmarshal(raw); err != nil {
		t.Error(err)
	}
	return &rr, compressed
}

// withRequest hands the handler rr in place of the request's body.
func withRequest(r *http.Request, rr *prompb.ReadRequest) *http.Request {
	raw, _ := rr.Marshal()
	r.Body = io.NopCloser(bytes.NewReader(snappy.Encode(nil, raw)))
	return r
}

func TestHandlerStreamsFloatHistograms(t *testing.T) {
	from, to := t0, t0.Add(6*time.Hour)
	want := testData(from, to, true)
	src := newSource(t, serveHandler(t, openTSDB(t, t.TempDir(), want), nil), Options{})
	sameOnce(t, want, readUnits(t, src, units(t, from, to, `{__name__=~".+"}`)))
	if streamed, _ := src.Streamed(); !streamed {
		t.Fatal("the answers were not streamed")
	}
}

// A server that does not stream (Prometheus before 2.13, some proxies)
// answers SAMPLES: here Prometheus's own handler, asked for SAMPLES only.
func TestSamplesFallback(t *testing.T) {
	from, to := t0, t0.Add(6*time.Hour)
	want := testData(from, to, true)
	unstreamed := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rr, _ := decodeRequest(t, r)
			rr.AcceptedResponseTypes = []prompb.ReadRequest_ResponseType{prompb.ReadRequest_SAMPLES}
			h.ServeHTTP(w, withRequest(r, rr))
		})
	}
	src := newSource(t, serveHandler(t, openTSDB(t, t.TempDir(), want), unstreamed), Options{})
	sameOnce(t, want, readUnits(t, src, units(t, from, to, `{__name__=~".+"}`)))
	if streamed, known := src.Streamed(); streamed || !known {
		t.Fatalf("Streamed() = %v, %v; the answers were samples", streamed, known)
	}
}

// mimir refuses, as Mimir does, a read of more than maxSeries series or
// longer than maxRange, before streaming (its status 422) or after it
// began (its error after the frames, as Prometheus's handler writes it);
// it fails the test if a refused request comes again unchanged.
type mimir struct {
	t         *testing.T
	db        *tsdb.DB
	maxSeries int
	maxRange  time.Duration
	midStream bool

	mu       sync.Mutex
	refused  map[string]bool
	requests int
}

func (m *mimir) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rr, body := decodeRequest(m.t, r)
		q := rr.Queries[0]
		m.mu.Lock()
		m.requests++
		if m.refused[string(body)] {
			m.t.Errorf("a refused read came again unchanged: %v", q)
		}
		m.mu.Unlock()
		var why string
		if d := time.Duration(q.EndTimestampMs-q.StartTimestampMs) * time.Millisecond; d > m.maxRange {
			why = fmt.Sprintf("the query time range exceeds the limit (query length: %s, limit: %s) (err-mimir-max-query-length)", d, m.maxRange)
		} else if n := m.count(q); n > m.maxSeries {
			why = fmt.Sprintf("the query exceeded the maximum number of series (limit: %d series) (err-mimir-max-series-per-query)", m.maxSeries)
		}
		if why == "" {
			h.ServeHTTP(w, withRequest(r, rr))
			return
		}
		m.mu.Lock()
		m.refused[string(body)] = true
		m.mu.Unlock()
		if m.midStream {
			w.Header().Set("Content-Type", streamedType)
			w.WriteHeader(http.StatusOK)
			fmt.Fprintln(w, why)
			return
		}
		http.Error(w, why, http.StatusUnprocessableEntity)
	})
}

func (m *mimir) count(q *prompb.Query) int {
	ms := make([]*labels.Matcher, len(q.Matchers))
	for i, pm := range q.Matchers {
		ms[i] = labels.MustNewMatcher(labels.MatchType(pm.Type), pm.Name, pm.Value)
	}
	qr, err := m.db.Querier(q.StartTimestampMs, q.EndTimestampMs)
	if err != nil {
		m.t.Error(err)
		return 0
	}
	defer qr.Close()
	ss := qr.Select(context.Background(), false, nil, ms...)
	n := 0
	for ss.Next() {
		n++
	}
	return n
}

// Over Mimir's series and query-length limits, a unit is split by time
// and by the prefixes of values (remote read lists no labels) until every
// part passes; every sample comes back once, none is lost, and no refused
// read is sent again as it was.
func TestMimirLimitsSplit(t *testing.T) {
	for _, midStream := range []bool{false, true} {
		t.Run(fmt.Sprintf("midStream=%v", midStream), func(t *testing.T) {
			from, to := t0, t0.Add(4*time.Hour)
			want := testData(from, to, true)
			db := openTSDB(t, t.TempDir(), want)
			m := &mimir{t: t, db: db, maxSeries: 40, maxRange: 45 * time.Minute, midStream: midStream, refused: map[string]bool{}}
			src := newSource(t, serveHandler(t, db, m.wrap), Options{})
			sameOnce(t, want, readUnits(t, src, units(t, from, to, `{__name__=~".+"}`)))
			if len(m.refused) == 0 {
				t.Fatal("no read was over a limit: the test proves nothing")
			}
			t.Logf("%d reads, %d refused", m.requests, len(m.refused))
		})
	}
}

// A part that stays over a limit however it is split is a gap that names
// the limit and the fix, beside what was read.
func TestLimitThatCannotPassIsAGap(t *testing.T) {
	from, to := t0, t0.Add(2*time.Hour)
	db := openTSDB(t, t.TempDir(), testData(from, to, false))
	m := &mimir{t: t, db: db, maxSeries: 0, maxRange: 24 * time.Hour, refused: map[string]bool{}}
	src := newSource(t, serveHandler(t, db, m.wrap), Options{})
	u := units(t, from, to, `{__name__="node_memory_MemAvailable_bytes",instance="10.0.2.10:9100"}`)[0]
	err := src.Stream(context.Background(), u, func([]extract.Series) error { return nil })
	var pe *extract.PartialError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a PartialError", err)
	}
	if r := pe.Gaps[0].Reason; !strings.Contains(r, "err-mimir-max-series-per-query") || !strings.Contains(r, "max_fetched_series_per_query") {
		t.Fatalf("the gap's reason does not name the limit and its fix: %s", r)
	}
}

// Mimir answers with whole chunks (here of a block over 6h, as Mimir's
// compactor makes them), which may begin before the asked start
// and end after the asked end (Prometheus re-encodes them cut): a server
// that answers more than was asked, streamed or not, is cut at each
// unit's edges, so no sample comes twice and none is lost.
func TestWholeChunksCutAtEdges(t *testing.T) {
	from, to := t0, t0.Add(6*time.Hour)
	want := testData(from, to, true)
	dir := t.TempDir()
	writeBlock(t, dir, want, 6*time.Hour)
	db := openDB(t, dir)
	for _, accept := range []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS, prompb.ReadRequest_SAMPLES} {
		t.Run(accept.String(), func(t *testing.T) {
			wider := func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					rr, _ := decodeRequest(t, r)
					rr.AcceptedResponseTypes = []prompb.ReadRequest_ResponseType{accept}
					rr.Queries[0].StartTimestampMs -= time.Hour.Milliseconds()
					rr.Queries[0].EndTimestampMs += time.Hour.Milliseconds()
					h.ServeHTTP(w, withRequest(r, rr))
				})
			}
			src := newSource(t, serveHandler(t, db, wider), Options{})
			sameOnce(t, want, readUnits(t, src, units(t, from, to, `{__name__=~".+"}`)))
		})
	}
}
