package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
)

const hourMs = int64(3600000)

// synth is a Synthetic over [t0, t0+hours) with n series.
func synth(n, hours int) *gen.Synthetic {
	return &gen.Synthetic{Series: n, Start: time.UnixMilli(t0).UTC(), End: time.UnixMilli(t0 + int64(hours)*hourMs).UTC(), Seed: 7}
}

// selectAll reads a Select through the chunkenc iterators, as the engine does.
func selectAll(t *testing.T, q storage.Querier, ms ...*labels.Matcher) []extract.Series {
	t.Helper()
	set := q.Select(context.Background(), true, nil, ms...)
	var out []extract.Series
	var it chunkenc.Iterator
	for set.Next() {
		s := extract.Series{Labels: set.At().Labels()}
		it = set.At().Iterator(it)
		for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
			if vt != chunkenc.ValFloat {
				t.Fatalf("%s: value type %v", s.Labels, vt)
			}
			tt, v := it.At()
			s.Samples = append(s.Samples, extract.Sample{T: tt, V: v})
		}
		out = append(out, s)
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSyntheticMatchers(t *testing.T) {
	s := synth(300, 2)
	st := &store{src: newSynthSource(s)}
	mint, maxt := t0+hourMs/2, t0+hourMs-1 // inclusive, as a querier's range
	q, _ := st.Querier(mint, maxt)
	all := s.SeriesIn(mint, maxt+1)
	cases := [][]*labels.Matcher{
		{labels.MustNewMatcher(labels.MatchRegexp, model.MetricNameLabel, ".+")},
		{labels.MustNewMatcher(labels.MatchRegexp, model.MetricNameLabel, "http_.*")},
		{labels.MustNewMatcher(labels.MatchRegexp, model.MetricNameLabel, "temp.+|up")},
		{labels.MustNewMatcher(labels.MatchEqual, model.MetricNameLabel, "up"), labels.MustNewMatcher(labels.MatchEqual, "job", "api")},
		{labels.MustNewMatcher(labels.MatchEqual, model.MetricNameLabel, "http_requests_total"), labels.MustNewMatcher(labels.MatchRegexp, "code", "5.."), labels.MustNewMatcher(labels.MatchNotEqual, "env", "prod")},
		{labels.MustNewMatcher(labels.MatchNotRegexp, model.MetricNameLabel, "node_.*"), labels.MustNewMatcher(labels.MatchEqual, "region", "us-east-1")},
		{labels.MustNewMatcher(labels.MatchEqual, model.MetricNameLabel, "no_such_metric")},
	}
	for _, ms := range cases {
		var want []extract.Series
		for _, sr := range all {
			ok := true
			for _, m := range ms {
				ok = ok && m.Matches(sr.Labels.Get(m.Name))
			}
			if ok {
				want = append(want, sr)
			}
		}
		got := selectAll(t, q, ms...)
		if !slices.IsSortedFunc(got, func(a, b extract.Series) int { return labels.Compare(a.Labels, b.Labels) }) {
			t.Errorf("%v: Select is not sorted by labels", ms)
		}
		if err := extract.Compare(want, got); err != nil {
			t.Errorf("%v: %v", ms, err)
		}
		if len(want) == 0 && ms[0].Value != "no_such_metric" {
			t.Errorf("%v selects nothing; the case tests nothing", ms)
		}
	}
	// Label lookups through the datasource's resources answer from it too.
	srv, _ := newTestServer(t, Config{Synthetic: s})
	path := "/api/datasources/uid/grafanacloud-prom/resources/api/v1/label/__name__/values?match[]=" +
		`{job="node"}` + "&start=" + strconv.FormatInt(t0/1000, 10) + "&end=" + strconv.FormatInt(t0/1000+3600, 10)
	w := req{method: http.MethodGet, path: path}.do(t, srv)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"api_backlog_ratio"`) {
		t.Errorf("label values: %d %s", w.Code, w.Body)
	}
}

// TestSyntheticStorage checks the series the engine reads: inclusive
// bounds, Seek, and an iterator reused across series.
func TestSyntheticStorage(t *testing.T) {
	s := synth(50, 2)
	st := &store{src: newSynthSource(s)}
	mint, maxt := t0+600_000, t0+hourMs
	q, _ := st.Querier(mint, maxt)
	got := selectAll(t, q, labels.MustNewMatcher(labels.MatchRegexp, model.MetricNameLabel, ".+"))
	if err := extract.Compare(s.SeriesIn(mint, maxt+1), got); err != nil {
		t.Fatal(err)
	}
	set := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, model.MetricNameLabel, "up"))
	var it chunkenc.Iterator
	for set.Next() {
		want := s.SeriesIn(mint, maxt+1)
		i := slices.IndexFunc(want, func(sr extract.Series) bool { return labels.Equal(sr.Labels, set.At().Labels()) })
		samples := want[i].Samples
		it = set.At().Iterator(it)
		target := samples[100].T - 1
		if it.Seek(target) != chunkenc.ValFloat {
			t.Fatal("Seek found nothing")
		}
		if tt, _ := it.At(); tt != samples[100].T {
			t.Fatalf("Seek(%d) at %d, want %d", target, tt, samples[100].T)
		}
		if it.Seek(0) != chunkenc.ValFloat || it.AtT() != samples[100].T {
			t.Fatal("Seek backwards moved the iterator")
		}
		if it.Next() != chunkenc.ValFloat || it.AtT() != samples[101].T {
			t.Fatal("Next after Seek")
		}
		if it.Seek(maxt+1) != chunkenc.ValNone {
			t.Fatal("Seek past the range found a sample")
		}
	}
}

// rawQuery is promrecover's raw-mode query: sel[r] at the end of [from, to).
func rawQuery(sel string, from, to int64) map[string]any {
	return dsq(from, to, map[string]any{
		"expr": sel + "[" + strconv.FormatInt(to-from+1, 10) + "ms]", "instant": true, "range": false,
		"intervalMs": 1000, "maxDataPoints": 11000, "format": "time_series",
	})
}

// TestStreamedAnswerIsTheEngines proves the streamed answer of a raw query
// is the engine's byte for byte, and that other queries still reach the
// engine.
func TestStreamedAnswerIsTheEngines(t *testing.T) {
	from, to := t0+hourMs, t0+3*hourMs
	for _, tc := range []struct {
		name string
		cfg  Config
		body map[string]any
	}{
		{"every series", Config{}, rawQuery(`{__name__=~".+"}`, from, to)},
		{"one metric", Config{}, rawQuery(`temperature_celsius{env="prod"}`, from, to)},
		{"no series", Config{}, rawQuery(`nothing`, from, to)},
		{"range beyond the data", Config{}, rawQuery(`up`, t0+2*hourMs+1, t0+5*hourMs)},
		{"Prometheus 2", Config{PrometheusV2: true}, rawQuery(`{job="api"}`, from, to)},
		{"too many samples", Config{MaxSamplesPerQuery: 5000}, rawQuery(`{__name__=~".+"}`, from, to)},
		{"just enough samples", Config{MaxSamplesPerQuery: 80 * 480}, rawQuery(`{__name__=~".+"}`, from, to)},
		{"with offset: the engine's", Config{}, dsq(from, to, map[string]any{"expr": `up[10m] offset 5m`, "instant": true, "range": false})},
		{"range query: the engine's", Config{}, dsq(from, to, map[string]any{"expr": `go_goroutines`, "interval": "15s"})},
		{"a function: the engine's", Config{}, dsq(from, to, map[string]any{"expr": `rate(http_requests_total[5m])`, "instant": true, "range": false})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Synthetic = synth(80, 3)
			streamed, _ := newTestServer(t, tc.cfg)
			engine, _ := newTestServer(t, tc.cfg)
			engine.stream = false
			sw := req{path: "/api/ds/query", body: tc.body}.do(t, streamed)
			ew := req{path: "/api/ds/query", body: tc.body}.do(t, engine)
			if sw.Code != ew.Code || !bytes.Equal(sw.Body.Bytes(), ew.Body.Bytes()) {
				t.Fatalf("streamed %d %.600s\nengine %d %.600s", sw.Code, sw.Body, ew.Code, ew.Body)
			}
			if sw.Code == http.StatusOK && !strings.Contains(sw.Body.String(), `"values"`) && tc.name != "no series" && tc.name != "range beyond the data" {
				t.Fatalf("no data: %.300s", sw.Body)
			}
		})
	}
	// The streamed answer decodes to the data set's samples.
	srv, _ := newTestServer(t, Config{Synthetic: synth(40, 3)})
	code, qdr, _ := query(t, srv, rawQuery(`{__name__=~".+"}`, from, to))
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	want := synth(40, 3).SeriesIn(from, to+1)
	frames := qdr.Responses["A"].Frames
	if len(frames) != len(want) {
		t.Fatalf("%d frames for %d series", len(frames), len(want))
	}
	for i, sr := range want {
		var ws []sample
		for _, smp := range sr.Samples {
			ws = append(ws, sample{smp.T, smp.V})
		}
		if got := frameSamples(t, qdr, "A", i); !sameSamples(got, ws) {
			t.Fatalf("frame %d (%s) differs from the source", i, sr.Labels)
		}
	}
}

// heapWatch is an io.Writer that discards what it is given and samples
// the heap every few MB written.
type heapWatch struct {
	written, next int64
	peak          uint64
}

func (h *heapWatch) Write(b []byte) (int, error) {
	h.written += int64(len(b))
	if h.written >= h.next {
		h.next = h.written + 8<<20
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		h.peak = max(h.peak, ms.HeapInuse)
	}
	return len(b), nil
}

// discardResponse is an http.ResponseWriter that hands the body to w.
type discardResponse struct {
	h    http.Header
	code int
	w    io.Writer
}

func (d *discardResponse) Header() http.Header         { return d.h }
func (d *discardResponse) WriteHeader(code int)        { d.code = code }
func (d *discardResponse) Write(b []byte) (int, error) { return d.w.Write(b) }

// TestSyntheticAnswerMemory asks for every sample of 24h of 10,000 series
// (57.6M samples, 921 MB as (t, v) pairs, over a GB of JSON) in one raw
// query and checks the heap stays far below the data: neither the data
// set nor the answer is ever held whole.
func TestSyntheticAnswerMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 24h of 10,000 series")
	}
	s := &gen.Synthetic{Series: 10_000, Start: time.UnixMilli(t0), End: time.UnixMilli(t0 + 24*hourMs), Seed: 1}
	srv, _ := newTestServer(t, Config{Synthetic: s, MaxSamplesPerQuery: 100_000_000})
	const dataBytes = 57_600_000 * 16
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	var body bytes.Buffer
	b := rawQuery(`{__name__=~".+"}`, t0, t0+24*hourMs)
	if err := json.NewEncoder(&body).Encode(b); err != nil {
		t.Fatal(err)
	}
	hr := httptest.NewRequest(http.MethodPost, "/api/ds/query", &body)
	hr.Header.Set("Authorization", "Bearer "+testToken)
	watch := &heapWatch{}
	w := &discardResponse{h: http.Header{}, w: watch}
	srv.ServeHTTP(w, hr)
	if w.code != http.StatusOK {
		t.Fatalf("status %d", w.code)
	}
	// Each sample is at least "t," and "v," in the JSON.
	if watch.written < 57_600_000*(14+2) {
		t.Fatalf("the answer is %d bytes: not every sample is in it", watch.written)
	}
	growth := int64(watch.peak) - int64(before.HeapInuse)
	t.Logf("answer %d MB, heap in use %d MB before, peak growth %d MB", watch.written>>20, before.HeapInuse>>20, growth>>20)
	if growth > dataBytes/10 {
		t.Fatalf("the heap grew by %d MB while writing an answer of %d MB of samples", growth>>20, dataBytes>>20)
	}
}

func TestGzipAnswer(t *testing.T) {
	srv, _ := newTestServer(t, Config{Synthetic: synth(60, 3)})
	body := rawQuery(`{__name__=~".+"}`, t0+hourMs, t0+3*hourMs)
	plain := req{path: "/api/ds/query", body: body}.do(t, srv)
	if plain.Header().Get("Content-Encoding") != "" {
		t.Fatalf("Content-Encoding %q without Accept-Encoding", plain.Header().Get("Content-Encoding"))
	}
	before := srv.Counters().BodyBytes
	zipped := req{path: "/api/ds/query", body: body, header: map[string]string{"Accept-Encoding": "deflate, gzip;q=0.8, br"}}.do(t, srv)
	if zipped.Code != plain.Code || zipped.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("status %d, Content-Encoding %q", zipped.Code, zipped.Header().Get("Content-Encoding"))
	}
	if n := srv.Counters().BodyBytes - before; n != int64(zipped.Body.Len()) {
		t.Errorf("BodyBytes counted %d, the body is %d", n, zipped.Body.Len())
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(unzipped, plain.Body.Bytes()) {
		t.Fatal("the gzip answer decompresses to other bytes than the plain one")
	}
	if zipped.Body.Len()*2 > plain.Body.Len() {
		t.Errorf("compressed %d of %d bytes", zipped.Body.Len(), plain.Body.Len())
	}
	t.Logf("%d bytes, %d gzipped", plain.Body.Len(), zipped.Body.Len())

	// The answer to a failed query is compressed as well; an encoding
	// refused with q=0, or another one, leaves it plain.
	bad := req{path: "/api/ds/query", body: dsq(t0, t0+hourMs, map[string]any{"expr": "up[", "instant": true}),
		header: map[string]string{"Accept-Encoding": "gzip"}}.do(t, srv)
	if bad.Code != http.StatusBadRequest || bad.Header().Get("Content-Encoding") != "gzip" {
		t.Errorf("failed query: %d, Content-Encoding %q", bad.Code, bad.Header().Get("Content-Encoding"))
	}
	for _, ae := range []string{"gzip;q=0", "br, deflate", "identity"} {
		w := req{path: "/api/ds/query", body: body, header: map[string]string{"Accept-Encoding": ae}}.do(t, srv)
		if w.Header().Get("Content-Encoding") != "" || !bytes.Equal(w.Body.Bytes(), plain.Body.Bytes()) {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q", ae, w.Header().Get("Content-Encoding"))
		}
	}
	for _, ae := range []string{"*", "GZIP", "x-gzip", " gzip ; q=1.0"} {
		if !acceptsGzip(http.Header{"Accept-Encoding": {ae}}) {
			t.Errorf("Accept-Encoding %q refused", ae)
		}
	}
	// Label lookups stay plain, as Grafana's gzip middleware leaves
	// datasource resources alone.
	lw := req{method: http.MethodGet, path: "/api/datasources/uid/grafanacloud-prom/resources/api/v1/labels",
		header: map[string]string{"Accept-Encoding": "gzip"}}.do(t, srv)
	if lw.Code != http.StatusOK || lw.Header().Get("Content-Encoding") != "" {
		t.Errorf("label lookup: %d, Content-Encoding %q", lw.Code, lw.Header().Get("Content-Encoding"))
	}
}
