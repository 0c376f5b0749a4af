package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
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
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/promrecover/promrecover/extract"
)

const hourMs = int64(3600000)

// synth is a Synthetic over [t0, t0+hours) with n series.
func synth(n, hours int) *Synthetic {
	return &Synthetic{Series: n, Start: time.UnixMilli(t0).UTC(), End: time.UnixMilli(t0 + int64(hours)*hourMs).UTC(), Seed: 7}
}

func TestSyntheticLabels(t *testing.T) {
	s := &Synthetic{Start: time.UnixMilli(t0), End: time.UnixMilli(t0 + hourMs)}
	if n := s.NumSeries(); n != 10_000 {
		t.Fatalf("default series: %d, want 10000", n)
	}
	seen := map[string]bool{}
	names := map[string]int{}
	jobs := map[string]bool{}
	for id := range s.NumSeries() {
		lset := s.Labels(id)
		if !labels.Equal(lset, s.Labels(id)) {
			t.Fatalf("labels of %d differ between calls", id)
		}
		if seen[lset.String()] {
			t.Fatalf("label set %s twice", lset)
		}
		seen[lset.String()] = true
		for _, l := range []string{model.MetricNameLabel, "job", "instance", "env", "region"} {
			if lset.Get(l) == "" {
				t.Fatalf("series %s has no %s", lset, l)
			}
		}
		names[lset.Get(model.MetricNameLabel)]++
		jobs[lset.Get("job")] = true
	}
	want := map[string]int{
		"up": 500, "http_requests_total": 3000, "node_cpu_seconds_total": 2000,
		"node_memory_MemAvailable_bytes": 500, "go_goroutines": 500, "process_resident_memory_bytes": 500,
		"temperature_celsius": 1500, "http_request_duration_seconds_sum": 500,
		"http_request_duration_seconds_count": 500, "api_backlog_ratio": 500,
	}
	if len(names) != len(want) {
		t.Fatalf("metric names %v, want %v", names, want)
	}
	for n, c := range want {
		if names[n] != c {
			t.Errorf("%s: %d series, want %d", n, names[n], c)
		}
	}
	if len(jobs) != 4 {
		t.Errorf("jobs %v", jobs)
	}
	if n := (&Synthetic{Series: 33}).NumSeries(); n != 33 {
		t.Errorf("Series 33 gives %d", n)
	}
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

func TestSyntheticIsDeterministic(t *testing.T) {
	a, b := synth(100, 4), synth(100, 4)
	from, to := t0+hourMs, t0+3*hourMs
	if err := extract.Compare(a.SeriesIn(from, to), b.SeriesIn(from, to)); err != nil {
		t.Fatalf("same config, different data: %v", err)
	}
	// Cut in two, the range gives the same samples.
	mid := from + 4321
	joined := map[string]*extract.Series{}
	var order []string
	for _, part := range [][]extract.Series{a.SeriesIn(from, mid), a.SeriesIn(mid, to)} {
		for _, sr := range part {
			k := sr.Labels.String()
			if joined[k] == nil {
				joined[k] = &extract.Series{Labels: sr.Labels}
				order = append(order, k)
			}
			joined[k].Samples = append(joined[k].Samples, sr.Samples...)
		}
	}
	var rejoined []extract.Series
	for _, k := range order {
		rejoined = append(rejoined, *joined[k])
	}
	if err := extract.Compare(a.SeriesIn(from, to), rejoined); err != nil {
		t.Fatalf("split range: %v", err)
	}
	// Samples depend on time, not on where the data set starts.
	longer := synth(100, 4)
	longer.Start = longer.Start.Add(-48 * time.Hour)
	if err := extract.Compare(a.SeriesIn(from, to), longer.SeriesIn(from, to)); err != nil {
		t.Fatalf("earlier start changed the data: %v", err)
	}
	// Another seed is another data set.
	c := synth(100, 4)
	c.Seed++
	if extract.Compare(a.SeriesIn(from, to), c.SeriesIn(from, to)) == nil {
		t.Fatal("another seed gives the same data")
	}
}

func TestSyntheticSamples(t *testing.T) {
	s := synth(200, 3)
	if n, want := synth(10_000, 24).CountSamples(t0, t0+24*hourMs), int64(57_600_000); n != want {
		t.Fatalf("24h of 10,000 series: %d samples, want %d", n, want)
	}
	// Outside the data set there is nothing.
	if got := s.SeriesIn(t0-hourMs, t0); len(got) != 0 {
		t.Fatalf("%d series before Start", len(got))
	}
	if got := s.SeriesIn(t0+3*hourMs, t0+4*hourMs); len(got) != 0 {
		t.Fatalf("%d series after End", len(got))
	}
	from, to := t0-hourMs, t0+3*hourMs+1 // wider than the data set
	series := s.SeriesIn(from, to)
	if len(series) != 200 {
		t.Fatalf("%d series", len(series))
	}
	var nans, infs, resets int
	offsets := map[int64]bool{}
	for _, sr := range series {
		if len(sr.Samples) != 3*240 {
			t.Fatalf("%s: %d samples in 3h, want one per 15s", sr.Labels, len(sr.Samples))
		}
		name := sr.Labels.Get(model.MetricNameLabel)
		counter := strings.HasSuffix(name, "_total") || strings.HasSuffix(name, "_sum") || strings.HasSuffix(name, "_count")
		for i, smp := range sr.Samples {
			if smp.T < t0 || smp.T >= t0+3*hourMs {
				t.Fatalf("%s: sample at %d outside the data set", sr.Labels, smp.T)
			}
			if slot := (smp.T - t0) / 15000; slot != int64(i) {
				t.Fatalf("%s: sample %d at %d is in interval %d", sr.Labels, i, smp.T, slot)
			}
			offsets[(smp.T-t0)%15000] = true
			switch {
			case value.IsStaleNaN(smp.V):
				t.Fatalf("%s: a stale marker", sr.Labels)
			case math.IsNaN(smp.V):
				if math.Float64bits(smp.V) != math.Float64bits(math.NaN()) {
					t.Fatalf("%s: a NaN that is not math.NaN()", sr.Labels)
				}
				nans++
			case math.IsInf(smp.V, 1):
				infs++
			}
			if counter && i > 0 && smp.V < sr.Samples[i-1].V {
				resets++
			}
		}
	}
	if nans == 0 || infs == 0 {
		t.Errorf("%d NaN and %d +Inf samples; want some of each", nans, infs)
	}
	if resets == 0 || resets > 20 {
		t.Errorf("%d counter resets in 3h of 200 series; want a few", resets)
	}
	if len(offsets) < 1000 {
		t.Errorf("only %d distinct offsets in the scrape interval: too regular", len(offsets))
	}
	// AppendSamples and CountSamples agree with SeriesIn.
	var total int64
	for id := range s.NumSeries() {
		got := s.AppendSamples(nil, id, t0+1000, t0+hourMs+999)
		i, ok := slices.BinarySearchFunc(series, s.Labels(id), func(sr extract.Series, l labels.Labels) int { return labels.Compare(sr.Labels, l) })
		if !ok {
			t.Fatalf("series %d not in SeriesIn", id)
		}
		want := extract.Clip(series[i:i+1], t0+1000, t0+hourMs+999)
		if err := extract.Compare(want, []extract.Series{{Labels: s.Labels(id), Samples: got}}); err != nil && len(want) > 0 {
			t.Fatalf("AppendSamples: %v", err)
		}
		total += int64(len(got))
	}
	if n := s.CountSamples(t0+1000, t0+hourMs+999); n != total {
		t.Errorf("CountSamples %d, AppendSamples %d", n, total)
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
	s := &Synthetic{Series: 10_000, Start: time.UnixMilli(t0), End: time.UnixMilli(t0 + 24*hourMs), Seed: 1}
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
