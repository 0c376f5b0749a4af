package importer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/export"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/jsonl"
	"github.com/promrecover/promrecover/format/openmetrics"
	"github.com/promrecover/promrecover/format/promjson"
	"github.com/promrecover/promrecover/importer"
	"github.com/promrecover/promrecover/nativehist"
)

var t0 = time.Date(2024, 8, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

// awkward holds what is hard to carry through a text format: special and
// extreme floats, label values with quotes, backslashes, line breaks and
// UTF-8, names that are not legacy Prometheus names, timestamps whose
// seconds do not multiply back to the millisecond exactly, and several
// series of one name split by series of another when sorted by labels.
func awkward() []extract.Series {
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e308, -1e308, math.MaxFloat64, math.SmallestNonzeroFloat64, 5e-324, 2.2250738585072014e-308,
		1.0000000000000002, 123456789.123456789, math.Inf(1), math.Inf(-1), math.Float64frombits(value.NormalNaN)}
	var samples []extract.Sample
	for i, v := range vals {
		samples = append(samples, extract.Sample{T: t0 + int64(i)*15_001 + int64(i%7)*123, V: v})
	}
	// Every millisecond of a second, some of which the parser's float
	// arithmetic reads a millisecond early at three decimals.
	var ms []extract.Sample
	for i := range int64(1000) {
		ms = append(ms, extract.Sample{T: t0 + 3*3600_000 + i*1001, V: float64(i)})
	}
	s := func(smp []extract.Sample, l ...string) extract.Series {
		return extract.Series{Labels: labels.FromStrings(l...), Samples: smp}
	}
	return []extract.Series{
		s(samples, "__name__", "g"),
		s(samples, "__name__", "g", "k", `quote " backslash \ newline`+"\n"+`end \n \" tab	x`),
		s(samples, "__name__", "g", "k", "UTF-8: Grüße, 日本語, emoji 🙂"),
		s(samples, "__name__", "g", "A_upper", "sorts before __name__"),
		s(samples, "__name__", "a_bucket", "le", "1"),
		s(samples, "__name__", "a_bucket", "le", "+Inf"),
		s(samples, "__name__", "q", "quantile", "0.50"),
		s(samples, "__name__", "h_total", "job", "x"),
		s(samples, "__name__", "h_created", "job", "x"),
		s(samples, "__name__", "dotted.name", "label.with.dots", "v"),
		s(ms, "__name__", "ms", "instance", "a:9100"),
	}
}

func writers() map[string]func(*bytes.Buffer, []extract.Series) error {
	return map[string]func(*bytes.Buffer, []extract.Series) error{
		"json":        func(b *bytes.Buffer, s []extract.Series) error { return promjson.Write(b, s) },
		"jsonl":       func(b *bytes.Buffer, s []extract.Series) error { return jsonl.Write(b, s) },
		"openmetrics": func(b *bytes.Buffer, s []extract.Series) error { return openmetrics.Write(b, s) },
	}
}

// read imports text with importer, as promrecover import does, detecting
// the format or told it.
func read(t *testing.T, text []byte, format importer.Format) ([]extract.Series, importer.Format) {
	t.Helper()
	m := export.NewMatrix()
	res, err := importer.Import(context.Background(), bytes.NewReader(text), importer.Options{Format: format}, m)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if f := res.Failed(); len(f) > 0 {
		t.Fatal(f[0].Err)
	}
	return m.Series(), res.Format
}

func TestRoundTripThroughTextfile(t *testing.T) {
	in := awkward()
	for name, write := range writers() {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := write(&b, in); err != nil {
				t.Fatal(err)
			}
			for _, format := range []importer.Format{importer.Auto, importer.Format(name)} {
				got, detected := read(t, b.Bytes(), format)
				if detected != importer.Format(name) {
					t.Errorf("read as %q, want %q", detected, name)
				}
				if err := extract.Compare(in, got); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestJSONLLinesAreMatrixElements(t *testing.T) {
	in := awkward()
	var b, whole bytes.Buffer
	if err := jsonl.Write(&b, in); err != nil {
		t.Fatal(err)
	}
	if err := promjson.Write(&whole, in); err != nil {
		t.Fatal(err)
	}
	var env struct {
		Data struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(whole.Bytes(), &env); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != len(in) || len(env.Data.Result) != len(in) {
		t.Fatalf("%d lines, %d matrix elements, want %d", len(lines), len(env.Data.Result), len(in))
	}
	var got []extract.Series
	for i, ln := range lines {
		if ln != string(env.Data.Result[i]) {
			t.Errorf("line %d is not the matrix element:\n%s\n%s", i+1, ln, env.Data.Result[i])
		}
		var ss model.SampleStream
		if err := json.Unmarshal([]byte(ln), &ss); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		got = append(got, fromModel(t, &ss))
	}
	if err := extract.Compare(in, got); err != nil {
		t.Fatal(err)
	}
}

// fromModel is what prometheus/common/model read, as a series.
func fromModel(t *testing.T, ss *model.SampleStream) extract.Series {
	t.Helper()
	b := labels.NewBuilder(labels.EmptyLabels())
	for k, v := range ss.Metric {
		b.Set(string(k), string(v))
	}
	s := extract.Series{Labels: b.Labels()}
	for _, v := range ss.Values {
		s.Samples = append(s.Samples, extract.Sample{T: int64(v.Timestamp), V: float64(v.Value)})
	}
	for _, h := range ss.Histograms {
		hh, fh, err := nativehist.FromAPI(h.Histogram)
		if err != nil {
			t.Fatal(err)
		}
		s.Histograms = append(s.Histograms, extract.HistogramSample{T: int64(h.Timestamp), H: hh, FH: fh})
	}
	nativehist.FillSeries(s.Histograms)
	return s
}

func TestOpenMetricsText(t *testing.T) {
	in := []extract.Series{
		{Labels: labels.FromStrings("__name__", "up", "job", "b"), Samples: []extract.Sample{{T: 1722470400123, V: 1}}},
		{Labels: labels.FromStrings("__name__", "node_load1", "A", `x"y\z`+"\n"), Samples: []extract.Sample{{T: 1722470400000, V: math.NaN()}, {T: 1722470415000, V: math.Inf(-1)}}},
		{Labels: labels.FromStrings("__name__", "up", "job", "a"), Samples: []extract.Sample{{T: 1722470400000, V: math.Inf(1)}, {T: 1722470401000, V: math.Copysign(0, -1)}}},
		{Labels: labels.FromStrings("__name__", "empty")},
	}
	var b bytes.Buffer
	if err := openmetrics.Write(&b, in); err != nil {
		t.Fatal(err)
	}
	want := `# TYPE node_load1 unknown
node_load1{A="x\"y\\z\n"} NaN 1722470400.000
node_load1{A="x\"y\\z\n"} -Inf 1722470415.000
# TYPE up unknown
up{job="a"} +Inf 1722470400.000
up{job="a"} -0 1722470401.000
up{job="b"} 1 1722470400.123
# EOF
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	if err := openmetrics.Write(&b, []extract.Series{{Labels: labels.FromStrings("job", "x"), Samples: []extract.Sample{{T: 1, V: 1}}}}); err == nil || !strings.Contains(err.Error(), "no metric name") {
		t.Errorf("a series without a name: %v", err)
	}
}

// TestOpenMetricsTimestamps checks every millisecond of a few seconds at
// several epochs: what is written reads back as the same millisecond.
func TestOpenMetricsTimestamps(t *testing.T) {
	var in []extract.Series
	for i, base := range []int64{0, 1_000_000_000_000, t0, 4_102_444_000_000} {
		s := extract.Series{Labels: labels.FromStrings("__name__", "t", "i", string(rune('a'+i)))}
		for ms := range int64(3000) {
			s.Samples = append(s.Samples, extract.Sample{T: base + ms, V: float64(ms)})
		}
		in = append(in, s)
	}
	var b bytes.Buffer
	if err := openmetrics.Write(&b, in); err != nil {
		t.Fatal(err)
	}
	got, _ := read(t, b.Bytes(), importer.Auto)
	if err := extract.Compare(in, got); err != nil {
		t.Fatal(err)
	}
}
