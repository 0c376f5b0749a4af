package gen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// DemoSeries returns a realistic data set of about 330 series over
// [start, end), the same for the same seed: three jobs scraped every 15s
// with a few hundred ms of jitter and occasional missed scrapes (only up=0
// is written then), counters that reset when a process restarts, gauges, a
// classic histogram (_bucket with le up to "+Inf", _sum, _count), a gauge
// with NaN samples and one with +Inf samples. Every series has job and
// instance labels.
func DemoSeries(start, end time.Time, seed int64) []extract.Series {
	var out []extract.Series
	idx := uint64(0)
	for i := range 10 {
		out = append(out, demoTarget(start, end, seed, idx, "api", fmt.Sprintf("10.0.1.%d:8080", 10+i), apiSeries)...)
		idx++
	}
	for i := range 10 {
		out = append(out, demoTarget(start, end, seed, idx, "node", fmt.Sprintf("10.0.2.%d:9100", 10+i), nodeSeries)...)
		idx++
	}
	for i := range 5 {
		out = append(out, demoTarget(start, end, seed, idx, "sensors", fmt.Sprintf("10.0.3.%d:9200", 10+i), sensorSeries)...)
		idx++
	}
	return out
}

const (
	demoInterval = 15 * time.Second
	demoJitterMs = 300
	demoMissP    = 0.004  // chance a scrape fails
	demoRestartP = 0.0006 // chance a process restarted since the last scrape
)

// target is the state of one scraped process between scrapes.
type target struct {
	rng      *rand.Rand
	restart  bool // the process restarted since the last scrape
	elapsed  float64
	counters map[string]float64
	gauges   map[string]float64
}

// seriesFunc adds one scrape's samples of a target, calling add in the same
// order every time.
type seriesFunc func(t *target, add func(name string, value float64, extra ...string))

func demoTarget(start, end time.Time, seed int64, idx uint64, job, instance string, gen seriesFunc) []extract.Series {
	rng := rand.New(rand.NewPCG(uint64(seed), idx))
	tg := &target{rng: rng, counters: map[string]float64{}, gauges: map[string]float64{}}
	// A target exposes its series in the same order at every scrape, so
	// the n-th sample of a scrape belongs to the n-th series.
	var series []extract.Series
	pos := 0
	add := func(t int64) func(string, float64, ...string) {
		pos = 0
		return func(name string, v float64, extra ...string) {
			if pos == len(series) {
				kv := append([]string{model.MetricNameLabel, name, "job", job, "instance", instance}, extra...)
				series = append(series, extract.Series{Labels: labels.FromStrings(kv...)})
			}
			series[pos].Samples = append(series[pos].Samples, extract.Sample{T: t, V: v})
			pos++
		}
	}
	phase := rng.Int64N(demoInterval.Milliseconds())
	first := start.UnixMilli() - start.UnixMilli()%demoInterval.Milliseconds() + phase
	for at := first; at < end.UnixMilli()+demoJitterMs; at += demoInterval.Milliseconds() {
		t := at + rng.Int64N(2*demoJitterMs+1) - demoJitterMs
		missed := rng.Float64() < demoMissP
		tg.restart = tg.restart || rng.Float64() < demoRestartP
		if t < start.UnixMilli() || t >= end.UnixMilli() {
			continue
		}
		scrape := add(t)
		if missed {
			scrape("up", 0)
			continue
		}
		scrape("up", 1)
		tg.elapsed += demoInterval.Seconds()
		gen(tg, scrape)
		tg.restart = false
	}
	return series
}

// counter advances a counter by inc, or restarts it from inc when the
// process restarted.
func (t *target) counter(key string, inc float64) float64 {
	if t.restart {
		t.counters[key] = 0
	}
	t.counters[key] += inc
	return t.counters[key]
}

// walk moves a gauge by a random step within [lo, hi].
func (t *target) walk(key string, init, step, lo, hi float64) float64 {
	v, ok := t.gauges[key]
	if !ok {
		v = init
	}
	v = math.Min(hi, math.Max(lo, v+(t.rng.Float64()*2-1)*step))
	t.gauges[key] = v
	return v
}

var (
	demoMethods = []string{"GET", "POST", "PUT"}
	demoCodes   = []string{"200", "404", "500"}
	demoBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}
)

func apiSeries(t *target, add func(string, float64, ...string)) {
	for mi, m := range demoMethods {
		for ci, c := range demoCodes {
			rate := 40.0 / float64(1+mi) / math.Pow(8, float64(ci))
			inc := math.Floor(t.rng.Float64() * 2 * rate * demoInterval.Seconds())
			add("http_requests_total", t.counter("req"+m+c, inc), "code", c, "method", m)
		}
	}
	n := t.rng.IntN(60)
	counts := make([]float64, len(demoBuckets))
	sum := 0.0
	for range n {
		d := math.Exp(t.rng.NormFloat64()*1.2 - 3) // lognormal around 50ms
		sum += d
		for i, le := range demoBuckets {
			if d <= le {
				counts[i]++
			}
		}
	}
	for i, le := range demoBuckets {
		v := t.counter("bucket"+strconv.Itoa(i), counts[i])
		add("http_request_duration_seconds_bucket", v, "le", strconv.FormatFloat(le, 'f', -1, 64))
	}
	total := t.counter("count", float64(n))
	add("http_request_duration_seconds_bucket", total, "le", "+Inf")
	add("http_request_duration_seconds_sum", t.counter("sum", sum))
	add("http_request_duration_seconds_count", total)
	add("go_goroutines", math.Round(t.walk("goroutines", 60, 6, 20, 400)))
	// The backlog ratio divides by a capacity that is sometimes zero.
	ratio := t.walk("backlog", 0.3, 0.05, 0, 1)
	if t.rng.Float64() < 0.02 {
		ratio = math.Inf(1)
	}
	add("api_backlog_ratio", ratio)
}

func nodeSeries(t *target, add func(string, float64, ...string)) {
	add("node_memory_MemAvailable_bytes", math.Round(t.walk("mem", 6e9, 5e7, 1e9, 15e9)))
	for _, cpu := range []string{"0", "1"} {
		busy := t.walk("busy"+cpu, 0.3, 0.05, 0.01, 0.99)
		idle := t.counter("idle"+cpu, demoInterval.Seconds()*(1-busy))
		user := t.counter("user"+cpu, demoInterval.Seconds()*busy)
		add("node_cpu_seconds_total", idle, "cpu", cpu, "mode", "idle")
		add("node_cpu_seconds_total", user, "cpu", cpu, "mode", "user")
	}
}

func sensorSeries(t *target, add func(string, float64, ...string)) {
	for i, sensor := range []string{"s0", "s1", "s2"} {
		v := 20 + 3*float64(i) + 4*math.Sin(t.elapsed/3600*2*math.Pi) + t.rng.NormFloat64()*0.2
		v = math.Round(v*100) / 100
		if t.rng.Float64() < 0.01 { // a sensor read error
			v = math.NaN()
		}
		add("temperature_celsius", v, "sensor", sensor)
	}
}
