package gen

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// Synthetic is a large data set that is computed, never stored: every
// sample is a function of the seed, the series and the scrape, so the
// simulator (sim.Config.Synthetic) and a verifier (SeriesIn) see the same samples
// without either holding more than what it is asked for.
//
// The series are scrape targets of 20 series each: up, counters
// (http_requests_total{code,method}, node_cpu_seconds_total{cpu,mode},
// http_request_duration_seconds_sum and _count, with occasional resets),
// gauges (memory, goroutines, resident memory), temperature_celsius{sensor}
// with an occasional NaN (a read error), and api_backlog_ratio with an
// occasional +Inf. Every series has job, instance, env and region labels.
// A target's last slots are left out when Series is not a multiple of 20.
//
// Scrape k of a series is at k*Interval (counted from the Unix epoch) plus
// a fixed per-series offset plus a per-scrape jitter, both from a hash:
// irregular, reproducible, and always inside [k*Interval, (k+1)*Interval),
// so every series has exactly one sample in each interval of [Start, End)
// that is aligned to Interval. 24h of 10,000 series at 15s is exactly
// 57,600,000 samples.
type Synthetic struct {
	Series   int           // number of series; 0 means 10,000
	Interval time.Duration // scrape interval, at least 1ms; 0 means 15s
	// Start and End bound the data: samples lie in [Start, End).
	Start, End time.Time
	Seed       int64
}

// synthSeriesPerTarget is the number of series one scrape target exposes.
const synthSeriesPerTarget = 20

type synthKind uint8

const (
	synthUp           synthKind = iota
	synthCounter                // an integer counter with occasional resets
	synthCounterFloat           // the same scaled to a fraction, like CPU seconds
	synthGauge                  // an integer gauge around scale
	synthTemperature            // two decimals, an occasional NaN
	synthRatio                  // in [0, 1], an occasional +Inf
)

type synthSlot struct {
	name  string
	kind  synthKind
	scale float64
	extra []string // label pairs beyond the target's
}

var synthSlots = [synthSeriesPerTarget]synthSlot{
	{"up", synthUp, 1, nil},
	{"http_requests_total", synthCounter, 40, []string{"code", "200", "method", "GET"}},
	{"http_requests_total", synthCounter, 4, []string{"code", "404", "method", "GET"}},
	{"http_requests_total", synthCounter, 1, []string{"code", "500", "method", "GET"}},
	{"http_requests_total", synthCounter, 12, []string{"code", "200", "method", "POST"}},
	{"http_requests_total", synthCounter, 2, []string{"code", "404", "method", "POST"}},
	{"http_requests_total", synthCounter, 1, []string{"code", "500", "method", "POST"}},
	{"node_cpu_seconds_total", synthCounterFloat, 10, []string{"cpu", "0", "mode", "idle"}},
	{"node_cpu_seconds_total", synthCounterFloat, 5, []string{"cpu", "0", "mode", "user"}},
	{"node_cpu_seconds_total", synthCounterFloat, 10, []string{"cpu", "1", "mode", "idle"}},
	{"node_cpu_seconds_total", synthCounterFloat, 5, []string{"cpu", "1", "mode", "user"}},
	{"node_memory_MemAvailable_bytes", synthGauge, 6e9, nil},
	{"go_goroutines", synthGauge, 80, nil},
	{"process_resident_memory_bytes", synthGauge, 2e8, nil},
	{"temperature_celsius", synthTemperature, 20, []string{"sensor", "s0"}},
	{"temperature_celsius", synthTemperature, 23, []string{"sensor", "s1"}},
	{"temperature_celsius", synthTemperature, 26, []string{"sensor", "s2"}},
	{"http_request_duration_seconds_sum", synthCounterFloat, 3, nil},
	{"http_request_duration_seconds_count", synthCounter, 60, nil},
	{"api_backlog_ratio", synthRatio, 1, nil},
}

var (
	synthJobs    = [...]string{"api", "node", "worker", "edge"}
	synthRegions = [...]string{"eu-west-1", "us-east-1", "ap-south-1"}
)

// Generator is a Synthetic with its defaults applied, in milliseconds. The
// simulator's storage computes samples through it one at a time, so that a
// long range is never held.
type Generator struct {
	series        int
	interval      int64 // ms
	jitter        int64 // the most a scrape strays from its offset, ms
	start, end    int64 // [start, end) in ms
	seed          uint64
	offsetSpread  int64 // offsets lie in [jitter, jitter+offsetSpread)
	jitterChoices uint64
}

// Generator applies the defaults.
func (s *Synthetic) Generator() *Generator {
	g := &Generator{series: s.Series, interval: s.Interval.Milliseconds(), seed: mix(uint64(s.Seed) ^ 0x5deece66d)}
	if g.series <= 0 {
		g.series = 10_000
	}
	if s.Interval == 0 {
		g.interval = 15_000
	}
	g.interval = max(g.interval, 1)
	g.jitter = g.interval / 20
	g.offsetSpread = g.interval - 2*g.jitter
	g.jitterChoices = uint64(2*g.jitter + 1)
	if !s.Start.IsZero() {
		g.start = s.Start.UnixMilli()
	}
	if !s.End.IsZero() {
		g.end = s.End.UnixMilli()
	}
	return g
}

// mix is splitmix64's finalizer.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Hash is the per-series seed every sample of series id derives from.
func (g *Generator) Hash(id int) uint64 { return mix(g.seed ^ uint64(id)*0xd1b54a32d192ed03) }

// scrapeHash is the hash of one scrape of a series; salt tells its uses apart.
func scrapeHash(sh uint64, k int64, salt uint64) uint64 {
	return mix(sh ^ uint64(k)*0x9e3779b97f4a7c15 ^ salt*0xa0761d6478bd642f)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// At is the timestamp of scrape k of the series with hash sh.
func (g *Generator) At(sh uint64, k int64) int64 {
	off := g.jitter + int64(sh%uint64(g.offsetSpread))
	jit := int64(scrapeHash(sh, k, 0)%g.jitterChoices) - g.jitter
	return k*g.interval + off + jit
}

// firstAtOrAfter is the first scrape at or after t.
func (g *Generator) firstAtOrAfter(sh uint64, t int64) int64 {
	k := floorDiv(t, g.interval)
	if g.At(sh, k) < t {
		k++
	}
	return k
}

// Value is the value of scrape k of series id.
func (g *Generator) Value(id int, sh uint64, k int64) float64 {
	slot := &synthSlots[id%synthSeriesPerTarget]
	switch slot.kind {
	case synthUp:
		return 1
	case synthCounter:
		return float64(g.counter(sh, k, slot.scale))
	case synthCounterFloat:
		return float64(g.counter(sh, k, slot.scale)) * 0.0137
	case synthGauge:
		v := slot.scale * (1 + 0.3*g.wave(sh, k, 2880) + 0.05*unit(scrapeHash(sh, k, 2)))
		return math.Round(v)
	case synthTemperature:
		if scrapeHash(sh, k, 3)%200 == 0 {
			return math.NaN()
		}
		v := slot.scale + 4*g.wave(sh, k, 5760) + 0.4*(unit(scrapeHash(sh, k, 2))-0.5)
		return math.Round(v*100) / 100
	case synthRatio:
		if scrapeHash(sh, k, 3)%1000 == 0 {
			return math.Inf(1)
		}
		return 0.5 + 0.35*g.wave(sh, k, 720) + 0.1*unit(scrapeHash(sh, k, 2))
	}
	return 0
}

// counter grows by about rate a scrape and restarts from zero every few
// thousand scrapes (a process restart), at a per-series phase.
func (g *Generator) counter(sh uint64, k int64, rate float64) int64 {
	a := int64(rate) + int64((sh>>16)%uint64(rate+1)) // 1 .. 2*rate
	a = max(a, 1)
	period := 2000 + int64((sh>>32)%6000)
	phase := int64((sh >> 8) % uint64(period))
	since := (k + phase) % period
	if since < 0 {
		since += period
	}
	// Increments vary between 1 and 2a-1, so the counter never stalls or
	// goes down within a run.
	return a*since + int64(scrapeHash(sh, k, 1)%uint64(a))
}

// wave is a sine in [-1, 1] with the given period in scrapes and a
// per-series phase; its argument stays small, so it is exact enough to be
// the same everywhere.
func (g *Generator) wave(sh uint64, k int64, period int64) float64 {
	p := (k + int64(sh>>40)) % period
	if p < 0 {
		p += period
	}
	return math.Sin(2 * math.Pi * float64(p) / float64(period))
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// Labels builds the label set of series id.
func (g *Generator) Labels(id int) labels.Labels {
	tgt := id / synthSeriesPerTarget
	slot := &synthSlots[id%synthSeriesPerTarget]
	env := "prod"
	if tgt%5 == 4 {
		env = "staging"
	}
	b := labels.NewScratchBuilder(5 + len(slot.extra)/2)
	b.Add(model.MetricNameLabel, slot.name)
	b.Add("job", synthJobs[tgt%len(synthJobs)])
	b.Add("instance", fmt.Sprintf("10.%d.%d.%d:9100", (tgt>>16)&255, (tgt>>8)&255, tgt&255))
	b.Add("env", env)
	b.Add("region", synthRegions[tgt%len(synthRegions)])
	for i := 0; i+1 < len(slot.extra); i += 2 {
		b.Add(slot.extra[i], slot.extra[i+1])
	}
	b.Sort()
	return b.Labels()
}

// NumSeries is the number of series.
func (g *Generator) NumSeries() int { return g.series }

// Scrapes gives the scrapes of the series with hash sh in the inclusive
// [mint, maxt]: n of them from scrape first on.
func (g *Generator) Scrapes(sh uint64, mint, maxt int64) (first int64, n int) {
	mint, maxt = g.bounds(mint, maxt)
	if mint > maxt {
		return 0, 0
	}
	first = g.firstAtOrAfter(sh, mint)
	return first, int(max(g.firstAtOrAfter(sh, maxt+1)-first, 0))
}

// bounds narrows the inclusive range [mint, maxt] to the data set.
func (g *Generator) bounds(mint, maxt int64) (int64, int64) {
	return max(mint, g.start), min(maxt, g.end-1)
}

// Count is the number of samples of series id in the inclusive [mint, maxt].
func (g *Generator) Count(id int, mint, maxt int64) int64 {
	mint, maxt = g.bounds(mint, maxt)
	if mint > maxt {
		return 0
	}
	sh := g.Hash(id)
	first := g.firstAtOrAfter(sh, mint)
	last := g.firstAtOrAfter(sh, maxt+1) - 1
	return max(last-first+1, 0)
}

// appendSamples appends the samples of series id in the inclusive
// [mint, maxt].
func (g *Generator) appendSamples(dst []extract.Sample, id int, mint, maxt int64) []extract.Sample {
	mint, maxt = g.bounds(mint, maxt)
	if mint > maxt {
		return dst
	}
	sh := g.Hash(id)
	for k := g.firstAtOrAfter(sh, mint); ; k++ {
		t := g.At(sh, k)
		if t > maxt {
			return dst
		}
		dst = append(dst, extract.Sample{T: t, V: g.Value(id, sh, k)})
	}
}

// NumSeries is the number of series in the set.
func (s *Synthetic) NumSeries() int { return s.Generator().series }

// Labels returns the labels of series id, 0 <= id < NumSeries().
func (s *Synthetic) Labels(id int) labels.Labels { return s.Generator().Labels(id) }

// AppendSamples appends the samples of series id in [mint, maxt) (ms) to
// dst, in time order.
func (s *Synthetic) AppendSamples(dst []extract.Sample, id int, mint, maxt int64) []extract.Sample {
	g := s.Generator()
	return g.appendSamples(dst, id, mint, maxt-1)
}

// CountSamples is the number of samples in [mint, maxt) (ms) over every
// series, computed without producing them.
func (s *Synthetic) CountSamples(mint, maxt int64) int64 {
	g := s.Generator()
	var n int64
	for id := range g.series {
		n += g.Count(id, mint, maxt-1)
	}
	return n
}

// SeriesIn returns every series with samples in [mint, maxt) (ms), with
// those samples, sorted by labels: what a TSDB holding the set would
// answer for that range. Only the asked range is produced, so a verifier
// can walk a long range window by window.
func (s *Synthetic) SeriesIn(mint, maxt int64) []extract.Series {
	g := s.Generator()
	var out []extract.Series
	for id := range g.series {
		n := g.Count(id, mint, maxt-1)
		if n == 0 {
			continue
		}
		out = append(out, extract.Series{
			Labels:  g.Labels(id),
			Samples: g.appendSamples(make([]extract.Sample, 0, n), id, mint, maxt-1),
		})
	}
	slices.SortFunc(out, func(a, b extract.Series) int { return labels.Compare(a.Labels, b.Labels) })
	return out
}
