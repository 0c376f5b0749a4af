package remoteread

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
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
// promrecover asks for the same series.
func dsBody(b *testing.B, series []extract.Series) []byte {
	to := benchFrom.Add(2 * time.Hour)
	srv := sim.New(sim.Config{Series: series, Tokens: []string{simtest.Token}, Now: func() time.Time { return to.Add(time.Hour) }})
	req := fmt.Sprintf(`{"from":"%d","to":"%d","queries":[{"refId":"A","datasource":{"uid":"grafanacloud-prom","type":"prometheus"},"expr":"{__name__=~\".+\"}[7200001ms]","instant":true,"range":false,"maxDataPoints":11000,"intervalMs":1000,"format":"time_series"}]}`,
		benchFrom.UnixMilli(), to.UnixMilli())
	return simtest.Post(b, srv, "/api/ds/query", "application/json", req)
}

func gzipped(body []byte) int {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(body)
	_ = w.Close()
	return buf.Len()
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

// BenchmarkWireBytes reports the bytes per sample each door puts on the
// wire for the same series: remote read's streamed chunks, /api/ds/query's
// frames as Grafana sends them by default (enable_gzip off) and gzipped.
func BenchmarkWireBytes(b *testing.B) {
	for name, series := range benchSets() {
		b.Run(name, func(b *testing.B) {
			rr, ds := streamedBody(b, series), dsBody(b, series)
			samples := decodeAll(b, rr)
			for b.Loop() {
				gzipped(ds)
			}
			b.ReportMetric(float64(len(rr))/float64(samples), "rr-B/sample")
			b.ReportMetric(float64(len(ds))/float64(samples), "ds-B/sample")
			b.ReportMetric(float64(gzipped(ds))/float64(samples), "ds-gzip-B/sample")
		})
	}
}

// BenchmarkBlockWrite is what decoding competes with: writing the same
// series as one window's block, through the blocks sink (append, write,
// read back and compare, install) and through TSDB's block writer alone
// (append and write), per sample. Copying the server's chunks into a
// block instead would save at most the decoding and the appending.
func BenchmarkBlockWrite(b *testing.B) {
	series := benchSets()["sim"]
	n := 0
	for _, s := range series {
		n += s.Len()
	}
	w := extract.Window{Start: benchFrom.UnixMilli(), End: benchFrom.Add(2 * time.Hour).UnixMilli()}
	b.Run("sink", func(b *testing.B) {
		for b.Loop() {
			sink, err := blocks.NewSink(b.TempDir(), nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := sink.Add(context.Background(), w, series); err != nil {
				b.Fatal(err)
			}
			if err := sink.Done(context.Background(), w, nil); err != nil {
				b.Fatal(err)
			}
			_ = sink.Close()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*b.N), "ns/sample")
	})
	b.Run("blockwriter", func(b *testing.B) {
		for b.Loop() {
			bw, err := tsdb.NewBlockWriter(slog.New(slog.DiscardHandler), b.TempDir(), 2*time.Hour.Milliseconds())
			if err != nil {
				b.Fatal(err)
			}
			appendAll(b, bw.Appender(context.Background()), series)
			if _, err := bw.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
			_ = bw.Close()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*b.N), "ns/sample")
	})
}
