package importer

import (
	"bufio"
	"bytes"
	"context"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/jsonl"
	"github.com/promrecover/promrecover/format/openmetrics"
	"github.com/promrecover/promrecover/internal/seriestest"
)

func TestJSONLFromExport(t *testing.T) {
	src := []extract.Series{
		{Labels: labels.FromStrings("__name__", "a", "job", "x"), Samples: []extract.Sample{{T: h0 + 1, V: 1}, {T: h0 + 2*h + 5, V: math.NaN()}}},
		{Labels: labels.FromStrings("__name__", "b"), Samples: []extract.Sample{{T: h0 - 1, V: math.Inf(1)}, {T: h0, V: math.Inf(-1)}, {T: h0 + 7, V: math.Copysign(0, -1)}}},
	}
	var b bytes.Buffer
	if err := jsonl.Write(&b, src); err != nil {
		t.Fatal(err)
	}
	// Blank lines anywhere, and a last line without a line break.
	text := "\n  \n" + strings.ReplaceAll(b.String(), "}\n", "}\n\n")
	text = strings.TrimSuffix(text, "\n")
	for _, format := range []Format{Auto, JSONL} {
		sink := newRecordingSink(t)
		res, err := Import(context.Background(), strings.NewReader(text), Options{Format: format}, sink)
		if err != nil {
			t.Fatal(err)
		}
		if res.Format != JSONL || res.Lines != 5 || len(sink.done) != 3 {
			t.Fatalf("format %s, %d lines, %d windows", res.Format, res.Lines, len(sink.done))
		}
		seriestest.Same(t, src, sink.series())
	}
}

func TestDetectJSONKinds(t *testing.T) {
	cases := []struct {
		text string
		want Format
	}{
		{`{"status":"success","data":{"resultType":"matrix","result":[]}}`, JSON},
		{"{\n  \"data\": {\"resultType\":\"matrix\",\"result\":[]},\n  \"status\": \"success\"\n}", JSON},
		{`{"metric":{"__name__":"a"},"values":[[1754179200,"1"]]}` + "\n", JSONL},
		{` {"values":[[1754179200,"1"]],"metric":{"__name__":"a"}}`, JSONL},
		{"# TYPE a unknown\na 1 1754179200\n# EOF\n", OpenMetrics},
	}
	for _, tc := range cases {
		res, _ := Import(context.Background(), strings.NewReader(tc.text), Options{}, newRecordingSink(t))
		var got Format
		if res != nil {
			got = res.Format
		} else {
			br := bufioReader(tc.text)
			got, _ = detect(br)
		}
		if got != tc.want {
			t.Errorf("%q: detected %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestBadJSONL(t *testing.T) {
	good := `{"metric":{"__name__":"a"},"values":[[1754179200,"1"]]}` + "\n"
	cases := []struct {
		name, text string
		want       []string
	}{
		{"syntax", good + `{"metric":{"__name__":"b"},"values":[[1754179200,"1"]}` + "\n", []string{"line 2, column", "not a valid JSON Lines series"}},
		{"a matrix envelope on a later line", good + `{"status":"success"}` + "\n", []string{"line 2:", "not a series"}},
		{"a bad value", good + `{"metric":{"__name__":"b"},"values":[[1754179200,"x"]]}`, []string{"line 2", "invalid syntax"}},
		{"milliseconds for seconds", good + `{"metric":{"__name__":"b"},"values":[[1754179200000,"1"]]}`, []string{"line 2:", "outside the years 1970..2100"}},
		{"a histogram of no exponential schema", good + `{"metric":{"__name__":"b"},"histograms":[[1754179200,{"count":"1","sum":"1","buckets":[[0,"1","3","1"]]}]]}`, []string{"line 2:", `series {__name__="b"}: the histogram at 1754179200: the buckets`, "fit no exponential schema"}},
		{"a null histogram", good + `{"metric":{"__name__":"b"},"histograms":[[1754179200,null]]}`, []string{"line 2", "histogram is null"}},
		{"two histograms at one time", good + `{"metric":{"__name__":"b"},"histograms":[[1754179200,{"count":"1","sum":"1","buckets":[[0,"1","2","1"]]}],[1754179200,{"count":"2","sum":"1","buckets":[[0,"1","2","2"]]}]]}`, []string{"line 2:", "two different histograms at one timestamp"}},
		{"a series twice in a window", good + `{"metric":{"__name__":"a"},"values":[[1754179201,"1"]]}`, []string{"line 2", "comes again"}},
		{"not JSON at all", "a 1 1754179200\n", []string{"line 1", "not a valid JSON Lines series"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			importFails(t, tc.text, Options{Format: JSONL}, tc.want)
		})
	}
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReaderSize(strings.NewReader(s), 64<<10) }

// TestExportOpenMetricsReadsLikePromtool: what export writes as OpenMetrics
// reads the same through Prometheus's parser over the whole text (as
// promtool reads it) and through import, awkward labels and values included.
func TestExportOpenMetricsReadsLikePromtool(t *testing.T) {
	smp := []extract.Sample{{T: h0 + 123, V: math.NaN()}, {T: h0 + 15_123, V: math.Inf(-1)}, {T: h0 + 30_001, V: math.Copysign(0, -1)}, {T: h0 + 45_999, V: 5e-324}}
	in := []extract.Series{
		{Labels: labels.FromStrings("__name__", "a", "k", "q\"b\\n\nü"), Samples: smp},
		{Labels: labels.FromStrings("__name__", "a", "A", "x"), Samples: smp},
		{Labels: labels.FromStrings("__name__", "h_bucket", "le", "1"), Samples: smp},
		{Labels: labels.FromStrings("__name__", "c_total"), Samples: smp},
		{Labels: labels.FromStrings("__name__", "c_created"), Samples: smp},
		{Labels: labels.FromStrings("__name__", "x.y", "a.b", "1"), Samples: smp},
	}
	var b bytes.Buffer
	if err := openmetrics.Write(&b, in); err != nil {
		t.Fatal(err)
	}
	want, err := promtoolReads(b.String())
	if err != nil {
		t.Fatal(err)
	}
	seriestest.Same(t, in, want)
	for _, chunk := range []int{16, 0} {
		checkLikePromtool(t, b.String(), chunk)
	}
}
