package openmetrics_test

import (
	"bytes"
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/openmetrics"
)

var opts = openmetrics.ReadOptions{MinTime: 0, MaxTime: 4102444800000}

// TestRoundTrip: what Write writes, Read reads back exactly, whatever the
// chunk size.
func TestRoundTrip(t *testing.T) {
	in := []extract.Series{
		{Labels: labels.FromStrings("__name__", "a", "k", "q\"b\\n\nü"), Samples: []extract.Sample{{T: 1722470400123, V: 1}, {T: 1722470401001, V: math.Inf(-1)}}},
		{Labels: labels.FromStrings("__name__", "x.y", "a.b", "1"), Samples: []extract.Sample{{T: 1722470400000, V: math.Copysign(0, -1)}}},
	}
	var b bytes.Buffer
	if err := openmetrics.Write(&b, in); err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []int{8, 0} {
		var got []extract.Series
		n, err := openmetrics.Read(context.Background(), bytes.NewReader(b.Bytes()), openmetrics.ReadOptions{MinTime: opts.MinTime, MaxTime: opts.MaxTime, ChunkSize: chunk},
			func(l labels.Labels, s []extract.Sample, _ int64) error {
				got = append(got, extract.Series{Labels: l, Samples: slices.Clone(s)})
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(got, func(a, b extract.Series) int { return labels.Compare(a.Labels, b.Labels) })
		if err := extract.Compare(in, got); err != nil {
			t.Fatal(err)
		}
		if n != int64(strings.Count(b.String(), "\n")) {
			t.Errorf("%d lines", n)
		}
	}
}

// TestReadBounds: the caller's time bounds hold, with the hint for
// milliseconds written as seconds.
func TestReadBounds(t *testing.T) {
	_, err := openmetrics.Read(context.Background(), strings.NewReader("a 1 1754179200000\n# EOF\n"), opts, func(labels.Labels, []extract.Sample, int64) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "line 1: ") || !strings.Contains(err.Error(), "outside 1970..2100; it looks like milliseconds") {
		t.Fatalf("%v", err)
	}
}
