package extract

import (
	"fmt"
	"time"
)

// Estimates for a plan, before anything is fetched. They are rough by
// design: they say whether a recovery is minutes or hours, megabytes or
// gigabytes, not what the run will report.
const (
	// JSONBytesPerSample is about what one sample costs in Grafana's JSON
	// answer (a timestamp and a value in the columns of a data frame).
	JSONBytesPerSample = 20
	// GzipFactor is about how much gzip shrinks that JSON on the wire.
	GzipFactor = 3
	// BlockBytesPerSample is about what one sample costs in a block, its
	// chunks and its share of the index: 5.1 bytes for the demo set and
	// 5.3 for the benchmark set (scrapes with jitter, values that move
	// every scrape); a Prometheus's own blocks of steady scrapes take 1 to 2.
	BlockBytesPerSample = 5
)

// WindowInfo says what Prometheus will make of a window's block.
type WindowInfo struct {
	Window
	// InHead: the window reaches into the span a running Prometheus still
	// holds in its head block, so its samples overlap the head.
	InHead bool
	// PastRetention: the window ends before the retention cutoff, so
	// Prometheus deletes its block at the next reload.
	PastRetention bool
}

// ClassifyWindows marks the windows of p that reach after headStart (epoch
// ms; the start of the head) and those that end at or before
// retentionCutoff (epoch ms; 0 or less: no retention known).
func ClassifyWindows(p *Plan, headStart, retentionCutoff int64) []WindowInfo {
	out := make([]WindowInfo, len(p.Windows))
	for i, w := range p.Windows {
		out[i] = WindowInfo{
			Window:        w,
			InHead:        min(w.End, p.To) > headStart,
			PastRetention: retentionCutoff > 0 && w.End <= retentionCutoff,
		}
	}
	return out
}

// Requests is how many /api/ds/query requests the plan takes when nothing
// needs retrying or splitting: each window's selectors go in batches of
// batch (1 or less: one a request).
func Requests(p *Plan, batch int) int {
	batch = max(batch, 1)
	return len(p.Windows) * ((len(p.Selectors) + batch - 1) / batch)
}

// Samples estimates the samples of series that each have one sample every
// interval over the whole of [p.From, p.To): the scrape interval for raw
// samples, or the plan's step when it resamples. Series that start or stop
// within the range make it an upper bound.
func Samples(p *Plan, series int, interval time.Duration) int64 {
	if p.Step > 0 {
		interval = p.Step
	}
	if series <= 0 || interval <= 0 || p.To <= p.From {
		return 0
	}
	return int64(series) * ((p.To - p.From + interval.Milliseconds() - 1) / interval.Milliseconds())
}

// Bytes estimates what samples cost to download: the JSON Grafana writes,
// and that JSON gzipped as it travels.
func Bytes(samples int64) (json, gzipped int64) {
	json = samples * JSONBytesPerSample
	return json, json / GzipFactor
}

// BlockBytes estimates what samples take in TSDB blocks.
func BlockBytes(samples int64) int64 {
	return samples * BlockBytesPerSample
}

// Size is a number of bytes, which prints as people read sizes: 512 B,
// 3.4 MiB.
type Size int64

func (n Size) String() string {
	num, unit := n.Scaled()
	if unit == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %ciB", num, unit)
}

// Scaled is n in its largest binary unit of at least 1: the number and the
// unit's letter (K, M, G, ...), or 0 for bytes.
func (n Size) Scaled() (float64, byte) {
	const unit = 1024
	if n < unit {
		return float64(n), 0
	}
	div, exp := Size(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return float64(n) / float64(div), "KMGTPE"[exp]
}
