package jsonl_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/jsonl"
)

// TestRoundTrip: what Write writes, Read reads back exactly, a series a
// line, with its line.
func TestRoundTrip(t *testing.T) {
	in := []extract.Series{
		{Labels: labels.FromStrings("__name__", "a", "job", "x"), Samples: []extract.Sample{{T: 1, V: 1}, {T: 2_000_005, V: math.NaN()}, {T: 2_000_006, V: math.Float64frombits(value.StaleNaN)}}},
		{Labels: labels.FromStrings("__name__", "empty")},
		{Labels: labels.FromStrings("__name__", "b"), Samples: []extract.Sample{{T: -1, V: math.Inf(1)}, {T: 7, V: math.Copysign(0, -1)}}},
	}
	var b bytes.Buffer
	if err := jsonl.Write(&b, in); err != nil {
		t.Fatal(err)
	}
	var got []extract.Series
	var lines []int64
	n, err := jsonl.Read(context.Background(), &b, func(s extract.Series, line int64) error {
		got = append(got, s)
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := extract.Compare([]extract.Series{in[0], in[2]}, got); err != nil {
		t.Fatal(err)
	}
	if n != 2 || !slices.Equal(lines, []int64{1, 2}) {
		t.Errorf("%d lines, series on %v", n, lines)
	}
}

func TestNotSeries(t *testing.T) {
	_, err := jsonl.Read(context.Background(), bytes.NewBufferString("\n{\"status\":\"success\"}\n"), func(extract.Series, int64) error { return nil })
	var ns *jsonl.NotSeriesError
	if !errors.As(err, &ns) || ns.Line != 2 {
		t.Fatalf("%v", err)
	}
}

func TestIsJSONL(t *testing.T) {
	for head, want := range map[string]bool{
		`{"metric":{}}`: true, `{"values":[]}`: true, `{"status":"success"}`: false, `[1]`: false, `{`: false,
	} {
		if got := jsonl.IsJSONL([]byte(head)); got != want {
			t.Errorf("%s: %v, want %v", head, got, want)
		}
	}
}
