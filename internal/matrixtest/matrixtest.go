// Package matrixtest turns what prometheus/common/model decodes back into
// series, for tests that prove an answer or an export reads with Prometheus's
// own client types. Only tests import it: it reads float samples only, which
// production code must never do silently (export.Stream reads both kinds).
package matrixtest

import (
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// Floats gives the float samples of m as series, labels sorted.
func Floats(m model.Matrix) []extract.Series {
	out := make([]extract.Series, 0, len(m))
	for _, ss := range m {
		b := labels.NewScratchBuilder(len(ss.Metric))
		for k, v := range ss.Metric {
			b.Add(string(k), string(v))
		}
		b.Sort()
		s := extract.Series{Labels: b.Labels(), Samples: make([]extract.Sample, len(ss.Values))}
		for i, v := range ss.Values {
			s.Samples[i] = extract.Sample{T: int64(v.Timestamp), V: float64(v.Value)}
		}
		out = append(out, s)
	}
	return out
}
