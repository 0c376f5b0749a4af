package remoteread

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/tsdb/index"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/grafana"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// The benchmarks' data: two hours of 15s scrapes, about 2,000 series.
// "sim" is the decoder benchmarks' set (gen.Replicas: the demo data,
// jittered timestamps, full-precision gauges, NaN and +Inf); "counters"
// are regular counters (exact 15s steps, small integer increments), the
// best case of XOR chunks and the most common series there is.
var benchFrom = gen.ReplicasT0

func benchSets() map[string][]extract.Series {
	var counters []extract.Series
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		s := extract.Series{Labels: labels.FromStrings("__name__", "requests_total", "instance", strconv.Itoa(i), "job", "api")}
		v := float64(rng.IntN(1000))
		for ts := benchFrom.UnixMilli(); ts < benchFrom.Add(2*time.Hour).UnixMilli(); ts += 15000 {
			v += float64(rng.IntN(20))
			s.Samples = append(s.Samples, extract.Sample{T: ts, V: v})
		}
		counters = append(counters, s)
	}
	return map[string][]extract.Series{"sim": gen.Replicas(simtest.BodyReplicas), "counters": counters}
}

// streamedBody is Prometheus's own handler's streamed answer to one read
// of every series over the two hours.
func streamedBody(b *testing.B, series []extract.Series) []byte {
	b.Helper()
	src := newSource(b, serveHandler(b, openTSDB(b, b.TempDir(), series), nil), Options{})
	body, err := src.request(extract.Unit{From: benchFrom.UnixMilli(), To: benchFrom.Add(2 * time.Hour).UnixMilli(), Selector: `{__name__=~".+"}`})
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, src.url, bytes.NewReader(body))
	src.headers(req.Header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil || resp.Header.Get("Content-Type") != streamedType {
		b.Fatalf("%v %s", err, resp.Header.Get("Content-Type"))
	}
	return out
}

// dsBody is the simulator's /api/ds/query answer to the raw query
// promrecover asks for the same series, and the simulator.
func dsBody(b *testing.B, series []extract.Series) ([]byte, *sim.Server) {
	to := benchFrom.Add(2 * time.Hour)
	srv := sim.New(sim.Config{Series: series, Tokens: []string{simtest.Token}, Now: func() time.Time { return to.Add(time.Hour) }})
	req := fmt.Sprintf(`{"from":"%d","to":"%d","queries":[{"refId":"A","datasource":{"uid":"grafanacloud-prom","type":"prometheus"},"expr":"{__name__=~\".+\"}[7200001ms]","instant":true,"range":false,"maxDataPoints":11000,"intervalMs":1000,"format":"time_series"}]}`,
		benchFrom.UnixMilli(), to.UnixMilli())
	return simtest.Post(b, srv, "/api/ds/query", "application/json", req), srv
}

func gzipped(body []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(body)
	_ = w.Close()
	return buf.Bytes()
}

func decodeAll(b *testing.B, body []byte) int {
	n := 0
	d := decoder{from: benchFrom.UnixMilli(), to: benchFrom.Add(2 * time.Hour).UnixMilli(), add: func(s extract.Series) error { n += s.Len(); return nil }}
	if err := d.streamed(bytes.NewReader(body), DefaultFrameLimit); err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkDecodeStreamed decodes a streamed answer into series, on one
// core: frames, CRCs, protobuf, XOR chunks, each series in fresh memory.
// Besides the wall-clock rate it reports the process's CPU time per sample
// (getrusage), which other jobs on a shared machine do not inflate: run it
// with GOMAXPROCS=1 and samples/cpu-s is the rate of one core.
func BenchmarkDecodeStreamed(b *testing.B) {
	for name, series := range benchSets() {
		b.Run(name, func(b *testing.B) {
			body := streamedBody(b, series)
			samples := decodeAll(b, body)
			b.SetBytes(int64(len(body)))
			cpu := cpuTime(b)
			b.ResetTimer()
			for b.Loop() {
				decodeAll(b, body)
			}
			reportRates(b, samples*b.N, cpuTime(b)-cpu)
		})
	}
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportRates reports samples per second of wall-clock time and of CPU
// time, and CPU nanoseconds per sample.
func reportRates(b *testing.B, samples int, cpu time.Duration) {
	b.ReportMetric(float64(samples)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(samples)/cpu.Seconds(), "samples/cpu-s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(samples), "cpu-ns/sample")
}

// BenchmarkChunkCopy asks whether a sink should copy the server's chunks
// into blocks instead of decoding and appending their samples: each
// turns the same streamed answer into one window's block, and reports its
// CPU time per sample. "decode+sink" is what a recovery does (decode, then
// the blocks sink: append, write, read back and compare, install);
// "decode+blockwriter" decodes, appends and writes with TSDB's block
// writer alone; "copy+check" reads the frames, writes their chunks as
// they came with TSDB's chunk and index writers, decoding nothing, and
// reads them back to compare.
func BenchmarkChunkCopy(b *testing.B) {
	w := extract.Window{Start: benchFrom.UnixMilli(), End: benchFrom.Add(2 * time.Hour).UnixMilli()}
	for _, set := range []string{"sim", "counters"} {
		body := streamedBody(b, benchSets()[set])
		for _, way := range []struct {
			name  string
			write func(dir string) int
		}{
			{"decode+sink", func(dir string) int { return decodeToSink(b, body, dir, w) }},
			{"decode+blockwriter", func(dir string) int { return decodeToBlockWriter(b, body, dir, w) }},
			{"copy+check", func(dir string) int { return copyChunks(b, body, dir) }},
		} {
			b.Run(set+"/"+way.name, func(b *testing.B) {
				n := 0
				cpu := cpuTime(b)
				for b.Loop() {
					n += way.write(b.TempDir())
				}
				reportRates(b, n, cpuTime(b)-cpu)
			})
		}
	}
}

// decoded is the series of a streamed answer in [w.Start, w.End).
func decoded(b *testing.B, body []byte, w extract.Window) []extract.Series {
	var out []extract.Series
	d := decoder{from: w.Start, to: w.End, add: func(s extract.Series) error { out = append(out, s); return nil }}
	if err := d.streamed(bytes.NewReader(body), DefaultFrameLimit); err != nil {
		b.Fatal(err)
	}
	return out
}

func decodeToSink(b *testing.B, body []byte, dir string, w extract.Window) int {
	ctx := context.Background()
	sink, err := blocks.NewSink(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	series := decoded(b, body, w)
	if err := sink.Add(ctx, w, series); err != nil {
		b.Fatal(err)
	}
	if err := sink.Done(ctx, w, nil); err != nil {
		b.Fatal(err)
	}
	return count(series)
}

func decodeToBlockWriter(b *testing.B, body []byte, dir string, w extract.Window) int {
	ctx := context.Background()
	bw, err := tsdb.NewBlockWriter(slog.New(slog.DiscardHandler), dir, w.End-w.Start)
	if err != nil {
		b.Fatal(err)
	}
	defer bw.Close()
	series := decoded(b, body, w)
	appendAll(b, bw.Appender(ctx), series)
	if _, err := bw.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	return count(series)
}

func count(series []extract.Series) int {
	n := 0
	for _, s := range series {
		n += s.Len()
	}
	return n
}

// copiedSeries is a series' labels and its chunks as the server sent them.
type copiedSeries struct {
	lset  labels.Labels
	metas []chunks.Meta
}

// copyChunks writes the chunks of a streamed answer into a block's chunk
// and index files in dir as they came, as a chunk-copying sink would
// (leaving out meta.json, a few hundred bytes), checks them and returns
// how many samples they hold. It reads the frames with the decoder's own parser.
func copyChunks(b *testing.B, body []byte, dir string) int {
	var (
		all []copiedSeries
		d   decoder
		n   int
	)
	cr := frameReader{r: bufio.NewReaderSize(bytes.NewReader(body), 64<<10), limit: DefaultFrameLimit}
	for {
		frame, err := cr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		for err == nil && len(frame) > 0 {
			var f pbField
			if f, frame, err = nextField(frame); err == nil && f.num == 1 {
				var s copiedSeries
				s.lset, err = d.parseSeries(f.b)
				for _, c := range d.chunks {
					chk, cerr := chunkenc.FromData(chunkenc.Encoding(c.Type), bytes.Clone(c.Data))
					if cerr != nil {
						b.Fatal(cerr)
					}
					n += chk.NumSamples()
					s.metas = append(s.metas, chunks.Meta{MinTime: c.MinTimeMs, MaxTime: c.MaxTimeMs, Chunk: chk})
				}
				all = append(all, s)
			}
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	writeChunksAndIndex(b, dir, all)
	return n
}

// writeChunksAndIndex writes the series' chunks and then the index over
// them, as TSDB's compactor does: symbols first, then series in order.
func writeChunksAndIndex(b *testing.B, dir string, all []copiedSeries) {
	cw, err := chunks.NewWriter(filepath.Join(dir, "chunks"))
	if err != nil {
		b.Fatal(err)
	}
	iw, err := index.NewWriter(context.Background(), filepath.Join(dir, "index"))
	if err != nil {
		b.Fatal(err)
	}
	seen := map[string]struct{}{}
	for _, s := range all {
		s.lset.Range(func(l labels.Label) { seen[l.Name], seen[l.Value] = struct{}{}, struct{}{} })
	}
	for _, sym := range slices.Sorted(maps.Keys(seen)) {
		if err := iw.AddSymbol(sym); err != nil {
			b.Fatal(err)
		}
	}
	slices.SortFunc(all, func(x, y copiedSeries) int { return labels.Compare(x.lset, y.lset) })
	for i, s := range all {
		if err := cw.WriteChunks(s.metas...); err != nil {
			b.Fatal(err)
		}
		if err := iw.AddSeries(storage.SeriesRef(i+1), s.lset, s.metas...); err != nil {
			b.Fatal(err)
		}
	}
	if err := errors.Join(cw.Close(), iw.Close()); err != nil {
		b.Fatal(err)
	}
	checkCopied(b, dir, all)
}

// checkCopied reads the block's index and chunks back and compares them
// with the series written, byte for byte: what a chunk-copying sink would
// verify, as the blocks sink reads its samples back.
func checkCopied(b *testing.B, dir string, all []copiedSeries) {
	ir, err := index.NewFileReader(filepath.Join(dir, "index"), index.DecodePostingsRaw)
	if err != nil {
		b.Fatal(err)
	}
	defer ir.Close()
	cr, err := chunks.NewDirReader(filepath.Join(dir, "chunks"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer cr.Close()
	p, err := ir.Postings(context.Background(), "", "")
	if err != nil {
		b.Fatal(err)
	}
	var (
		sb    labels.ScratchBuilder
		metas []chunks.Meta
		i     int
	)
	for ; p.Next(); i++ {
		if err := ir.Series(p.At(), &sb, &metas); err != nil {
			b.Fatal(err)
		}
		if i >= len(all) || !labels.Equal(sb.Labels(), all[i].lset) || len(metas) != len(all[i].metas) {
			b.Fatalf("series %d read back as %s", i, sb.Labels())
		}
		for j, m := range metas {
			chk, _, err := cr.ChunkOrIterable(m)
			if err != nil || !bytes.Equal(chk.Bytes(), all[i].metas[j].Chunk.Bytes()) {
				b.Fatalf("series %s, chunk %d read back different: %v", sb.Labels(), j, err)
			}
		}
	}
	if p.Err() != nil || i != len(all) {
		b.Fatalf("%d series read back of %d: %v", i, len(all), p.Err())
	}
}

// BenchmarkTransportCPU is promrecover's CPU time per sample, and its bytes
// on the wire, recovering the same window through each door: remote read
// (streamed chunks) and /api/ds/query as Grafana sends it by default
// (enable_gzip off) and gzipped. Each answer is the server's, fetched
// before and served from memory on 127.0.0.1, so that what the server
// spends computing it is not counted; the rest is: the request, reading
// and decoding the answer, and the blocks sink (append, write, read back,
// compare, install). The process's CPU time (getrusage) also holds
// writing the answer into the socket, a small cost for either door.
func BenchmarkTransportCPU(b *testing.B) {
	w := extract.Window{Start: benchFrom.UnixMilli(), End: benchFrom.Add(2 * time.Hour).UnixMilli()}
	u := extract.Unit{Window: w, From: w.Start, To: w.End, Selector: `{__name__=~".+"}`}
	for _, set := range []string{"sim", "counters"} {
		series := benchSets()[set]
		n := 0
		for _, s := range series {
			n += s.Len()
		}
		rr := streamedBody(b, series)
		ds, sim := dsBody(b, series)
		for _, door := range []struct {
			name string
			body []byte
			src  func() extract.Source
		}{
			{"remote-read", rr, func() extract.Source { return newSource(b, canned(b, nil, rr, streamedType, ""), Options{}) }},
			{"ds", ds, func() extract.Source { return dsSource(b, canned(b, sim, ds, "application/json", "")) }},
			{"ds-gzip", gzipped(ds), func() extract.Source { return dsSource(b, canned(b, sim, gzipped(ds), "application/json", "gzip")) }},
		} {
			for _, write := range []bool{false, true} {
				b.Run(set+"/"+door.name+map[bool]string{false: "/fetch", true: "/recover"}[write], func(b *testing.B) {
					src := door.src()
					cpu := cpuTime(b)
					for b.Loop() {
						if got := recoverWindow(b, src, u, write); got != n {
							b.Fatalf("%d samples fetched of %d", got, n)
						}
					}
					cpu = cpuTime(b) - cpu
					reportRates(b, n*b.N, cpu)
					b.ReportMetric(cpu.Seconds()/float64(n*b.N)*1e6, "cpu-s/Msample")
					b.ReportMetric(float64(len(door.body))/float64(n), "wire-B/sample")
				})
			}
		}
	}
}

// canned serves body to every POST (remote read's, /api/ds/query's) on
// 127.0.0.1, with Content-Encoding encoding when it is not empty; other
// requests (the Grafana client's probe) go to fallback.
func canned(b *testing.B, fallback http.Handler, body []byte, contentType, encoding string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			fallback.ServeHTTP(w, r)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", contentType)
		if encoding != "" {
			w.Header().Set("Content-Encoding", encoding)
		}
		_, _ = w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

func dsSource(b *testing.B, url string) extract.Source {
	c, err := grafana.NewClient(grafana.Options{URL: url, Auth: grafana.Auth{Token: simtest.Token}})
	if err != nil {
		b.Fatal(err)
	}
	return &grafana.Source{Client: c, Datasource: grafana.Datasource{UID: "grafanacloud-prom", Name: "grafanacloud-prom", Type: "prometheus"}}
}

// recoverWindow fetches the unit from src, with write into a new blocks
// sink whose block it installs, and returns how many samples it fetched.
func recoverWindow(b *testing.B, src extract.Source, u extract.Unit, write bool) int {
	ctx := context.Background()
	n := 0
	if !write {
		err := src.Stream(ctx, u, func(ss []extract.Series) error { n += count(ss); return nil })
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	sink, err := blocks.NewSink(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	err = src.Stream(ctx, u, func(ss []extract.Series) error { n += count(ss); return sink.Add(ctx, u.Window, ss) })
	if err != nil {
		b.Fatal(err)
	}
	if err := sink.Done(ctx, u.Window, nil); err != nil {
		b.Fatal(err)
	}
	return n
}
