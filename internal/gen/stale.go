package gen

import (
	"math"
	"slices"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/extract"
)

// StaleMarkers adds the stale markers of a target that went away at at and
// came back a scrape later: a millisecond after the last sample before at,
// to the first float series and to the histogram series of job "node".
// They change ss's series in place; a test of a door that carries stale
// markers (remote read) checks them among the samples.
func StaleMarkers(ss []extract.Series, at int64) {
	stale := math.Float64frombits(value.StaleNaN)
	floated := false
	for i := range ss {
		s := &ss[i]
		switch {
		case !floated && len(s.Samples) > 0:
			if n := extract.Before(s.Samples, at); n > 0 {
				s.Samples = slices.Insert(s.Samples, n, extract.Sample{T: s.Samples[n-1].T + 1, V: stale})
				floated = true
			}
		case len(s.Histograms) > 0 && s.Labels.Get("job") == "node":
			if n := extract.Before(s.Histograms, at); n > 0 {
				s.Histograms = slices.Insert(s.Histograms, n, extract.HistogramSample{T: s.Histograms[n-1].T + 1, H: &histogram.Histogram{Sum: stale}})
			}
		}
	}
}
