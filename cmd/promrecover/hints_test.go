package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/jsonl"
)

// TestExportWriterHints: the format packages' errors name no flags; cmd
// adds the ones that mend them.
func TestExportWriterHints(t *testing.T) {
	write, err := exportWriter("openmetrics")
	if err != nil {
		t.Fatal(err)
	}
	s := extract.Series{Labels: labels.FromStrings("__name__", "gone", "job", "api"), Histograms: []extract.HistogramSample{{T: 1, H: &histogram.Histogram{Count: 1}}}}
	err = write(&bytes.Buffer{}, []extract.Series{s})
	want := `series {__name__="gone", job="api"} holds native histograms, which OpenMetrics text cannot carry; export it with --format json or --format jsonl`
	if err == nil || err.Error() != want {
		t.Errorf("openmetrics: %v, want %s", err, want)
	}
	err = withWriterHint(&jsonl.NotSeriesError{Line: 2})
	want = `line 2: not a series: want {"metric":{...},"values":[[<unix seconds>,"<value>"],...]} as promrecover export --format jsonl writes it`
	var ns *jsonl.NotSeriesError
	if err == nil || err.Error() != want || !errors.As(err, &ns) {
		t.Errorf("jsonl: %v, want %s", err, want)
	}
	if err := withWriterHint(errors.New("x")); !strings.Contains(err.Error(), "x") || strings.Contains(err.Error(), "--format") {
		t.Errorf("other errors: %v", err)
	}
}
