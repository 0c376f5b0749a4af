// Package matrixtest turns what prometheus/common/model decodes back into
// series, for tests that prove an answer or an export reads with Prometheus's
// own client types. Only tests import it: it reads float samples only, which
// production code must never do silently (export.Stream reads both kinds).
package matrixtest

import (
	"encoding/json"
	"os"
	"testing"

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

// ReadFile reads a Prometheus matrix answer (the JSON of
// /api/v1/query_range) such as the golden inputs.
func ReadFile(t testing.TB, path string) model.Matrix {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Status string
		Data   struct {
			ResultType string
			Result     model.Matrix
		}
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if body.Status != "success" || body.Data.ResultType != "matrix" {
		t.Fatalf("%s: status %q, resultType %q", path, body.Status, body.Data.ResultType)
	}
	return body.Data.Result
}
