// Package omgen makes deterministic, realistic benchmark data: series
// spread over several metric families with the labels node_exporter and an
// instrumented API server give them, scraped every 15s with a per-target
// phase and jitter. It writes them as the OpenMetrics text `promtool tsdb
// create-blocks-from openmetrics` reads (bench/gen, bench/import.sh) or
// hands them over as series (the writer benchmarks).
package gen

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// Bench says what benchmark data to make. The same Bench gives the same
// data, byte for byte.
type Bench struct {
	Series  int // number of series
	Samples int // samples per series
	Seed    uint64
	Start   time.Time // time of the first scrape
}

// DefaultBench is the benchmark's standard load: 2,000 series x 960
// samples (4h at 15s, over three 2h windows), 1.92M samples.
var DefaultBench = Bench{Series: 2000, Samples: 960, Seed: 1, Start: time.Date(2025, 8, 3, 1, 7, 0, 0, time.UTC)}

type benchFamily struct {
	name, typ, help string
}

var benchFamilies = []benchFamily{
	{"up", "gauge", "1 if the target was scraped."},
	{"go_goroutines", "gauge", "Number of goroutines that currently exist."},
	{"node_memory_MemAvailable_bytes", "gauge", "Memory information field MemAvailable_bytes."},
	{"node_cpu_seconds", "counter", "Seconds the CPUs spent in each mode."},
	{"http_requests", "counter", "Requests handled, by handler, method and code."},
	{"http_request_duration_seconds", "histogram", "Request latency."},
}

// Bucket bounds in the OpenMetrics canonical form: Prometheus 3's parser
// rewrites le="1" to le="1.0", promtool 2.x keeps what it reads; written
// canonically, both store the same label.
var benchBuckets = []string{"0.005", "0.01", "0.025", "0.1", "0.25", "1.0", "2.5", "+Inf"}

const (
	benchUp = iota
	benchGoroutines
	benchMemory
	benchCPU
	benchRequests
	benchBucket
	benchSum
	benchCount
)

// benchDef is one series to make.
type benchDef struct {
	fam    int
	lbls   []string // name, value pairs in the order the text lists them; __name__ first
	target int
	kind   int
	bucket int
}

// benchTarget lists the 43 series one scrape target exposes.
func benchTarget(t int) []benchDef {
	inst := fmt.Sprintf("10.%d.%d.%d:9100", t/65536%256, t/256%256, t%256)
	var out []benchDef
	add := func(fam, kind, bucket int, lbls ...string) {
		out = append(out, benchDef{fam: fam, lbls: lbls, target: t, kind: kind, bucket: bucket})
	}
	add(0, benchUp, 0, "__name__", "up", "job", "node", "instance", inst)
	add(1, benchGoroutines, 0, "__name__", "go_goroutines", "job", "api", "instance", inst)
	add(2, benchMemory, 0, "__name__", "node_memory_MemAvailable_bytes", "job", "node", "instance", inst)
	for cpu := range 2 {
		for _, mode := range []string{"idle", "system", "user", "iowait"} {
			add(3, benchCPU, 0, "__name__", "node_cpu_seconds_total", "cpu", strconv.Itoa(cpu), "instance", inst, "job", "node", "mode", mode)
		}
	}
	for _, h := range []string{"/api/v1/query", "/api/v1/series", "/metrics"} {
		for _, m := range []string{"GET", "POST"} {
			for _, c := range []string{"200", "500"} {
				add(4, benchRequests, 0, "__name__", "http_requests_total", "code", c, "handler", h, "instance", inst, "job", "api", "method", m)
			}
		}
	}
	for _, h := range []string{"/api/v1/query", "/metrics"} {
		for i, le := range benchBuckets {
			add(5, benchBucket, i, "__name__", "http_request_duration_seconds_bucket", "handler", h, "instance", inst, "job", "api", "le", le)
		}
		add(5, benchSum, 0, "__name__", "http_request_duration_seconds_sum", "handler", h, "instance", inst, "job", "api")
		add(5, benchCount, 0, "__name__", "http_request_duration_seconds_count", "handler", h, "instance", inst, "job", "api")
	}
	return out
}

// benchDefs lists cfg.Series series family by family, as an exposition lists
// them.
func benchDefs(cfg Bench) []benchDef {
	var all []benchDef
	for t := 0; len(all) < cfg.Series; t++ {
		all = append(all, benchTarget(t)...)
	}
	all = all[:cfg.Series]
	slices.SortStableFunc(all, func(a, b benchDef) int { return a.fam - b.fam })
	return all
}

// EachBench calls fn with every series in file order; samples is reused
// between calls.
func EachBench(cfg Bench, fn func(lset labels.Labels, samples []extract.Sample) error) error {
	var samples []extract.Sample
	for i, d := range benchDefs(cfg) {
		samples = d.samples(cfg, i, samples[:0])
		if err := fn(labels.FromStrings(d.lbls...), samples); err != nil {
			return err
		}
	}
	return nil
}

// BenchSeries returns every series.
func BenchSeries(cfg Bench) []extract.Series {
	var out []extract.Series
	_ = EachBench(cfg, func(lset labels.Labels, samples []extract.Sample) error {
		out = append(out, extract.Series{Labels: lset, Samples: slices.Clone(samples)})
		return nil
	})
	return out
}

// WriteOpenMetrics writes the series as OpenMetrics text: HELP and TYPE per
// family, each series' samples together and in time order, timestamps in
// seconds with three decimals, and "# EOF" at the end.
func WriteOpenMetrics(w io.Writer, cfg Bench) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	var samples []extract.Sample
	line := make([]byte, 0, 256)
	lastFam := -1
	for i, d := range benchDefs(cfg) {
		if d.fam != lastFam {
			f := benchFamilies[d.fam]
			fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", f.name, f.help, f.name, f.typ)
			lastFam = d.fam
		}
		prefix := append([]byte(d.lbls[1]), '{')
		for j := 2; j < len(d.lbls); j += 2 {
			if j > 2 {
				prefix = append(prefix, ',')
			}
			prefix = append(append(prefix, d.lbls[j]...), '=')
			prefix = strconv.AppendQuote(prefix, d.lbls[j+1])
		}
		prefix = append(prefix, '}', ' ')
		samples = d.samples(cfg, i, samples[:0])
		for _, s := range samples {
			line = append(line[:0], prefix...)
			line = strconv.AppendFloat(line, s.V, 'g', -1, 64)
			line = append(line, ' ')
			line = AppendSeconds(line, s.T)
			line = append(line, '\n')
			if _, err := bw.Write(line); err != nil {
				return err
			}
		}
	}
	if _, err := bw.WriteString("# EOF\n"); err != nil {
		return err
	}
	return bw.Flush()
}

// samples makes the samples of the i-th series. Each series has its own
// random stream, so its samples do not depend on the others; each target its
// own scrape phase, as Prometheus spreads scrapes over the interval.
func (d benchDef) samples(cfg Bench, i int, out []extract.Sample) []extract.Sample {
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
	phase := int64(rand.New(rand.NewPCG(cfg.Seed, 1<<40|uint64(d.target))).IntN(15000))
	v := d.initial(rng)
	t := cfg.Start.UnixMilli() + phase
	for range cfg.Samples {
		// Scrapes are late by up to 300ms, the way a busy Prometheus's are.
		out = append(out, extract.Sample{T: roundTrip(t + int64(rng.IntN(300))), V: v})
		v = d.next(v, rng)
		t += 15000
	}
	return out
}

func (d benchDef) initial(rng *rand.Rand) float64 {
	switch d.kind {
	case benchUp:
		return 1
	case benchGoroutines:
		return float64(20 + rng.IntN(200))
	case benchMemory:
		return float64(2_000_000_000 + rng.Int64N(6_000_000_000))
	case benchCPU:
		return math.Round(rng.Float64()*1e7) / 100
	case benchSum:
		return math.Round(rng.Float64()*1e6) / 1000
	default:
		return float64(rng.IntN(100_000))
	}
}

// next is the value at the following scrape: gauges wander, counters grow
// (and are reset once in a long while, as on a restart).
func (d benchDef) next(v float64, rng *rand.Rand) float64 {
	switch d.kind {
	case benchUp:
		if rng.IntN(2000) == 0 {
			return 0
		}
		return 1
	case benchGoroutines:
		return max(1, v+float64(rng.IntN(11)-5))
	case benchMemory:
		return max(0, v+float64(rng.Int64N(20_000_000)-10_000_000))
	}
	if rng.IntN(20000) == 0 {
		return 0
	}
	switch d.kind {
	case benchCPU:
		return math.Round(v*100+rng.Float64()*1500) / 100
	case benchSum:
		return math.Round(v*1000+rng.Float64()*50_000) / 1000
	case benchBucket:
		return v + float64(rng.IntN(10*(d.bucket+1)))
	default:
		return v + float64(rng.IntN(300))
	}
}

// AppendSeconds writes ms as seconds with three decimals, the way
// OpenMetrics wants timestamps.
func AppendSeconds(b []byte, ms int64) []byte {
	if ms < 0 {
		panic("gen: negative timestamp")
	}
	b = strconv.AppendInt(b, ms/1000, 10)
	f := ms % 1000
	b = append(b, '.', byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10))
	return b
}

// roundTrip returns ms, or the nearest millisecond after it, whose seconds
// text Prometheus's parser reads back as exactly that millisecond: it
// multiplies the seconds by 1000 and truncates, which loses a millisecond
// for some values (…123 s can come out as …122.99997 ms). The scrape moves
// by a millisecond instead, so the file means the same to every reader.
func roundTrip(ms int64) int64 {
	for !RoundTrips(ms) {
		ms++
	}
	return ms
}

// RoundTrips says whether Prometheus's OpenMetrics parser reads
// AppendSeconds(ms) back as ms.
func RoundTrips(ms int64) bool {
	f, err := strconv.ParseFloat(string(AppendSeconds(nil, ms)), 64)
	return err == nil && int64(f*1000) == ms
}
