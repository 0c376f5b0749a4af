package export

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/promjson"
)

func TestMatrixMergesWindowsAndDropsDiscarded(t *testing.T) {
	ctx := context.Background()
	a := labels.FromStrings("__name__", "a", "job", "x")
	b := labels.FromStrings("__name__", "b")
	w1, w2, w3 := extract.Window{Start: 0, End: 10}, extract.Window{Start: 10, End: 20}, extract.Window{Start: 20, End: 30}
	m := NewMatrix()
	// Windows finish out of order, one selector repeats a series, one window fails.
	steps := []func() error{
		func() error {
			return m.Add(ctx, w2, []extract.Series{{Labels: a, Samples: []extract.Sample{{T: 15, V: math.Inf(1)}}}})
		},
		func() error {
			return m.Add(ctx, w2, []extract.Series{{Labels: a, Samples: []extract.Sample{{T: 15, V: math.Inf(1)}}}})
		},
		func() error { return m.Done(ctx, w2, nil) },
		func() error {
			return m.Add(ctx, w1, []extract.Series{{Labels: a, Samples: []extract.Sample{{T: 5, V: 0.1}}}, {Labels: b, Samples: []extract.Sample{{T: 6, V: math.NaN()}}}})
		},
		func() error { return m.Done(ctx, w1, nil) },
		func() error {
			return m.Add(ctx, w3, []extract.Series{{Labels: b, Samples: []extract.Sample{{T: 25, V: 1}}}})
		},
		func() error { m.Discard(w3); return nil },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	want := []extract.Series{
		{Labels: a, Samples: []extract.Sample{{T: 5, V: 0.1}, {T: 15, V: math.Inf(1)}}},
		{Labels: b, Samples: []extract.Sample{{T: 6, V: math.NaN()}}},
	}
	got := m.Series()
	if err := extract.Compare(want, got); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := promjson.Write(&buf, got); err != nil {
		t.Fatal(err)
	}
	var ans struct {
		Status string
		Data   struct {
			ResultType string
			Result     model.Matrix
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &ans); err != nil {
		t.Fatalf("model cannot read %s: %v", buf.String(), err)
	}
	if ans.Status != "success" || ans.Data.ResultType != "matrix" || len(ans.Data.Result) != 2 {
		t.Fatalf("%s", buf.String())
	}
	first := ans.Data.Result[0]
	if first.Metric["job"] != "x" || first.Values[0].Timestamp != 5 || first.Values[0].Value != 0.1 || !math.IsInf(float64(first.Values[1].Value), 1) {
		t.Fatalf("%s", buf.String())
	}
	if !math.IsNaN(float64(ans.Data.Result[1].Values[0].Value)) {
		t.Fatalf("NaN lost: %s", buf.String())
	}
}
