package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/promjson"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/seriestest"
)

// recordingSink keeps what it is given and checks blocks.Sink's contract: a
// series at most once per window, samples sorted and inside the window, no
// Add after Done or Discard.
type recordingSink struct {
	mu        sync.Mutex
	added     map[extract.Window][]extract.Series
	done      []extract.Window
	discarded []extract.Window
	closed    map[extract.Window]bool
	failAdd   error
	failDone  map[int64]error
	t         *testing.T
}

func newRecordingSink(t *testing.T) *recordingSink {
	return &recordingSink{added: map[extract.Window][]extract.Series{}, closed: map[extract.Window]bool{}, t: t}
}

func (r *recordingSink) Add(_ context.Context, w extract.Window, series []extract.Series) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failAdd != nil {
		return r.failAdd
	}
	if r.closed[w] {
		r.t.Errorf("Add to window %s after it was finished", w)
	}
	for _, s := range series {
		for _, have := range r.added[w] {
			if labels.Equal(have.Labels, s.Labels) {
				r.t.Errorf("series %s added twice to window %s", s.Labels, w)
			}
		}
		for i, smp := range s.Samples {
			if smp.T < w.Start || smp.T >= w.End || (i > 0 && smp.T <= s.Samples[i-1].T) {
				r.t.Errorf("series %s: sample %d at %d is out of order or outside %s", s.Labels, i, smp.T, w)
			}
		}
		// The router reuses its buffers once Add returns.
		r.added[w] = append(r.added[w], extract.Series{Labels: s.Labels.Copy(), Samples: slices.Clone(s.Samples)})
	}
	return nil
}

func (r *recordingSink) Done(_ context.Context, w extract.Window, _ []extract.Gap) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed[w] = true
	if err := r.failDone[w.Start]; err != nil {
		return err
	}
	r.done = append(r.done, w)
	return nil
}

func (r *recordingSink) Discard(w extract.Window) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed[w] = true
	r.discarded = append(r.discarded, w)
}

// series merges what each window got back into whole series.
func (r *recordingSink) series() []extract.Series {
	var windows []extract.Window
	for w := range r.added {
		windows = append(windows, w)
	}
	slices.SortFunc(windows, func(a, b extract.Window) int { return int(a.Start - b.Start) })
	var out []extract.Series
	idx := map[string]int{}
	for _, w := range windows {
		for _, s := range r.added[w] {
			k := s.Labels.String()
			if i, ok := idx[k]; ok {
				out[i].Samples = append(out[i].Samples, s.Samples...)
				continue
			}
			idx[k] = len(out)
			out = append(out, extract.Series{Labels: s.Labels, Samples: slices.Clone(s.Samples)})
		}
	}
	return out
}

var (
	h0 = time.Date(2025, 8, 3, 0, 0, 0, 0, time.UTC).UnixMilli() // a window start
	h  = int64(time.Hour / time.Millisecond)
)

// writeOM writes series as OpenMetrics text. Timestamps get a tenth of a
// millisecond more than their value, so that the parser's truncation of
// seconds x 1000 gives exactly the millisecond.
func writeOM(series []extract.Series, types map[string]string) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, s := range series {
		name := s.Labels.Get("__name__")
		if typ, ok := types[name]; ok && !seen[name] {
			fmt.Fprintf(&b, "# HELP %s Some help.\n# TYPE %s %s\n", name, name, typ)
			seen[name] = true
		}
		for _, smp := range s.Samples {
			b.WriteString(seriesText(s.Labels))
			fmt.Fprintf(&b, " %s %d.%03d1\n", strconv.FormatFloat(smp.V, 'g', -1, 64), smp.T/1000, smp.T%1000)
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

func seriesText(l labels.Labels) string {
	var b strings.Builder
	b.WriteString(l.Get("__name__"))
	b.WriteByte('{')
	first := true
	l.Range(func(lb labels.Label) {
		if lb.Name == "__name__" {
			return
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(lb.Name + "=" + strconv.Quote(lb.Value))
	})
	b.WriteByte('}')
	return b.String()
}

func TestOpenMetricsReadsWhatPromtoolReads(t *testing.T) {
	cfg := gen.Bench{Series: 60, Samples: 700, Seed: 3, Start: time.UnixMilli(h0 + 7*60*1000).UTC()}
	var text bytes.Buffer
	if err := gen.WriteOpenMetrics(&text, cfg); err != nil {
		t.Fatal(err)
	}
	want := gen.BenchSeries(cfg)
	windows := map[int64]bool{}
	for _, s := range want {
		for _, smp := range s.Samples {
			windows[smp.T/extract.WindowMs] = true
		}
	}
	lines := int64(bytes.Count(text.Bytes(), []byte{'\n'}))
	// Chunk boundaries land everywhere: inside families, between a series'
	// lines, right after the TYPE line.
	for _, chunk := range []int{200, 1000, 4093, 1 << 16, 0} {
		t.Run(fmt.Sprintf("chunk=%d", chunk), func(t *testing.T) {
			sink := newRecordingSink(t)
			res, err := Import(context.Background(), bytes.NewReader(text.Bytes()), Options{chunkSize: chunk}, sink)
			if err != nil {
				t.Fatal(err)
			}
			seriestest.Same(t, want, sink.series())
			if res.Format != OpenMetrics || res.Lines != lines || res.DistinctSeries != cfg.Series || len(sink.done) != len(windows) || len(sink.discarded) != 0 {
				t.Fatalf("format %s, %d lines (want %d), %d series, %d windows done, %d discarded", res.Format, res.Lines, lines, res.DistinctSeries, len(sink.done), len(sink.discarded))
			}
			if _, n := res.Totals(); n != int64(cfg.Series*cfg.Samples) {
				t.Fatalf("%d samples", n)
			}
		})
	}
}

func TestOpenMetricsValuesAndLabels(t *testing.T) {
	inf, nan := math.Inf(1), math.Float64frombits(value.NormalNaN)
	ser := func(v float64, lbls ...string) extract.Series {
		return extract.Series{Labels: labels.FromStrings(lbls...), Samples: []extract.Sample{{T: h0 + 1000, V: v}, {T: h0 + 16_000, V: v}}}
	}
	in := []extract.Series{
		ser(inf, "__name__", "g", "k", "+inf"),
		ser(-inf, "__name__", "g", "k", "-inf"),
		ser(nan, "__name__", "g", "k", "nan"),
		ser(math.Float64frombits(value.StaleNaN), "__name__", "g", "k", "stale"),
		ser(math.Copysign(0, -1), "__name__", "g", "k", "minus zero"),
		ser(1, "__name__", "g", "k", `quote " and \ backslash`),
		ser(3, "__name__", "h_bucket", "le", "1"),
		ser(4, "__name__", "h_bucket", "le", "+Inf"),
		ser(5, "__name__", "s", "quantile", "0.5"),
	}
	sink := newRecordingSink(t)
	text := writeOM(in, map[string]string{"g": "gauge", "h_bucket": "histogram", "s": "summary"})
	if _, err := Import(context.Background(), strings.NewReader(text), Options{chunkSize: 100}, sink); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(in)
	// OpenMetrics cannot tell a stale marker from NaN: it arrives as
	// Prometheus's normal NaN, as in promtool.
	want[3] = ser(nan, "__name__", "g", "k", "stale")
	// Prometheus's parser writes le and quantile values in OpenMetrics's
	// canonical form; here with the TYPE line in an earlier chunk.
	want[6] = ser(3, "__name__", "h_bucket", "le", "1.0")
	seriestest.Same(t, want, sink.series())
}

func TestOpenMetricsLayouts(t *testing.T) {
	cases := []struct {
		name string
		text string
		want []extract.Series
	}{
		{
			name: "grouped by time range, then by series",
			text: "a 1 " + sec(h0+h) + "\nb 2 " + sec(h0+h) + "\na 3 " + sec(h0+3*h) + "\nb 4 " + sec(h0+3*h) + "\n# EOF\n",
			want: []extract.Series{
				{Labels: labels.FromStrings("__name__", "a"), Samples: []extract.Sample{{T: h0 + h, V: 1}, {T: h0 + 3*h, V: 3}}},
				{Labels: labels.FromStrings("__name__", "b"), Samples: []extract.Sample{{T: h0 + h, V: 2}, {T: h0 + 3*h, V: 4}}},
			},
		},
		{
			name: "a series' samples out of time order are sorted; an exact repeat is one sample",
			text: "a 3 " + sec(h0+3000) + "\na 1 " + sec(h0+1000) + "\na 2 " + sec(h0+2000) + "\na 1 " + sec(h0+1000) + "\n# EOF",
			want: []extract.Series{{Labels: labels.FromStrings("__name__", "a"), Samples: []extract.Sample{{T: h0 + 1000, V: 1}, {T: h0 + 2000, V: 2}, {T: h0 + 3000, V: 3}}}},
		},
		{
			name: "one series written with its labels in another order, or with an empty label",
			text: `a{x="1",y="2"} 1 ` + sec(h0+1000) + "\n" + `a{y="2",x="1"} 2 ` + sec(h0+2000) + "\n" + `a{x="1",y="2",z=""} 3 ` + sec(h0+3000) + "\n# EOF\n",
			want: []extract.Series{{Labels: labels.FromStrings("__name__", "a", "x", "1", "y", "2"), Samples: []extract.Sample{{T: h0 + 1000, V: 1}, {T: h0 + 2000, V: 2}, {T: h0 + 3000, V: 3}}}},
		},
		{
			name: "a line longer than the chunk",
			text: `a{x="` + strings.Repeat("x", 300) + `"} 1 ` + sec(h0+1000) + "\n# EOF\n",
			want: []extract.Series{{Labels: labels.FromStrings("__name__", "a", "x", strings.Repeat("x", 300)), Samples: []extract.Sample{{T: h0 + 1000, V: 1}}}},
		},
	}
	for _, tc := range cases {
		for _, chunk := range []int{16, 0} {
			t.Run(fmt.Sprintf("%s/chunk=%d", tc.name, chunk), func(t *testing.T) {
				sink := newRecordingSink(t)
				if _, err := Import(context.Background(), strings.NewReader(tc.text), Options{chunkSize: chunk}, sink); err != nil {
					t.Fatal(err)
				}
				seriestest.Same(t, tc.want, sink.series())
			})
		}
	}
}

func sec(ms int64) string { return fmt.Sprintf("%d.%03d", ms/1000, ms%1000) }

func TestBadOpenMetrics(t *testing.T) {
	ok := "# HELP a Help.\n# TYPE a gauge\na 1 " + sec(h0+1000) + "\na 2 " + sec(h0+2*h) + "\n"
	cases := []struct {
		name, text string
		want       []string // parts of the error
	}{
		{"no # EOF", ok, []string{"line 5:", "ends without the closing '# EOF'"}},
		{"no # EOF, last line without a line break", ok + "a 3 " + sec(h0+2*h+1000), []string{"line 5:", "ends in the middle of this line"}},
		{"data after # EOF", ok + "# EOF\na 3 " + sec(h0+3*h) + "\n", []string{"line 5:", "'# EOF' must be the last line"}},
		{"a value that is not a number", ok + "a one " + sec(h0+3*h) + "\n# EOF\n", []string{"line 5:", "invalid syntax", "a one"}},
		{"a broken label", ok + `a{x="1} 1 ` + sec(h0+3*h) + "\n# EOF\n", []string{"line 5:"}},
		{"a blank line", ok + "\n# EOF\n", []string{"line 5:"}},
		{"no timestamp", ok + "a 3\n# EOF\n", []string{"line 5:", "has no timestamp"}},
		{"milliseconds for seconds", ok + "b 3 " + strconv.FormatInt(h0, 10) + "\n# EOF\n", []string{"line 5:", `the sample of {__name__="b"}`, "outside 1970..2100", "looks like milliseconds"}},
		{"before 1970", ok + "b 3 -5\n# EOF\n", []string{"line 5:", "outside 1970..2100"}},
		{"two values at one time", ok + "b 3 " + sec(h0) + "\nb 4 " + sec(h0) + "\n# EOF\n", []string{"line 5:", `series {__name__="b"}`, "two values at 2025-08-03T00:00:00Z"}},
		{"a series comes back in a window it had", ok + "b 1 " + sec(h0) + "\na 3 " + sec(h0+2000) + "\n# EOF\n",
			[]string{"line 6:", `series {__name__="a"} comes again`, "2025-08-03T00:00:00Z..2025-08-03T02:00:00Z", "group the lines of each series together"}},
		{"a label twice", ok + `b{x="1",x="2"} 1 ` + sec(h0) + "\n# EOF\n", []string{"line 5:", `label "x" appears twice`}},
		{"an unknown type", ok + "# TYPE b bogus\n# EOF\n", []string{"line 5:", "invalid metric type"}},
	}
	for _, tc := range cases {
		for _, chunk := range []int{20, 0} {
			t.Run(fmt.Sprintf("%s/chunk=%d", tc.name, chunk), func(t *testing.T) {
				sink := importFails(t, tc.text, Options{Format: OpenMetrics, chunkSize: chunk}, tc.want)
				for w := range sink.added {
					if !slices.Contains(sink.discarded, w) {
						t.Errorf("window %s got series and was not discarded", w)
					}
				}
			})
		}
	}
}

func TestJSONFromExport(t *testing.T) {
	src := []extract.Series{
		{Labels: labels.FromStrings("__name__", "a", "job", "x"), Samples: []extract.Sample{{T: h0 + 1, V: 1}, {T: h0 + 2*h + 5, V: math.NaN()}}},
		{Labels: labels.FromStrings("__name__", "b"), Samples: []extract.Sample{{T: h0 - 1, V: math.Inf(1)}, {T: h0, V: math.Inf(-1)}, {T: h0 + 7, V: math.Copysign(0, -1)}}},
	}
	var b bytes.Buffer
	if err := promjson.Write(&b, src); err != nil {
		t.Fatal(err)
	}
	sink := newRecordingSink(t)
	res, err := Import(context.Background(), io.MultiReader(strings.NewReader("\n  "), &b), Options{}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != JSON || len(sink.done) != 3 {
		t.Fatalf("format %s, %d windows", res.Format, len(sink.done))
	}
	seriestest.Same(t, src, sink.series())
}

func TestBadJSON(t *testing.T) {
	cases := []struct {
		name, text string
		want       []string
	}{
		{"syntax", "{\"status\":\"success\",\n\"data\": {\"resultType\":\"matrix\",\"result\":[}}", []string{"line 2, column 42", "not valid Prometheus matrix JSON"}},
		{"cut short", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"a"},"values":[[1754179200,"1"]`, []string{"not valid Prometheus matrix JSON", "unexpected end"}},
		{"an error answer", `{"status":"error","errorType":"bad_data","error":"parse error"}`, []string{`status is "error"`, "parse error"}},
		{"a vector", `{"status":"success","data":{"resultType":"vector","result":[]}}`, []string{`"vector" result`}},
		{"no data", `{"status":"success"}`, []string{`no "data"`}},
		{"a wrong type", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"a"},"values":{}}]}}`, []string{"line 1, column"}},
		{"a bad value", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"a"},"values":[[1754179200,"x"]]}]}}`, []string{"not valid Prometheus matrix JSON", "invalid syntax"}},
		{"a custom-bucket histogram", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"a"},"histograms":[[1754179200,{"count":"3","sum":"1","buckets":[[3,"-Inf","0.1","3"]]}]]}]}}`, []string{"data.result[0]", "custom-bucket histograms"}},
		{"a histogram with a negative count", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"a"},"histograms":[[1754179200,{"count":"-1","sum":"1","buckets":[[0,"1","2","1"]]}]]}]}}`, []string{"data.result[0]", "observation count"}},
		{"a histogram in milliseconds for seconds", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"a"},"histograms":[[1754179200000,{"count":"1","sum":"1","buckets":[[0,"1","2","1"]]}]]}]}}`, []string{"data.result[0]", "histogram sample", "outside the years 1970..2100"}},
		{"milliseconds for seconds", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"a"},"values":[[1754179200000,"1"]]}]}}`, []string{"data.result[0]", "outside the years 1970..2100"}},
		{"a series twice", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"a"},"values":[[1754179200,"1"]]},{"metric":{"__name__":"a"},"values":[[1754179201,"1"]]}]}}`, []string{"data.result[1]", "comes again"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			importFails(t, tc.text, Options{}, tc.want)
		})
	}
}

func TestDetectAndFormat(t *testing.T) {
	if want := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(); MaxTime != want {
		t.Errorf("MaxTime = %d, want %d", MaxTime, want)
	}
	for _, in := range []string{"", " \n\t "} {
		if _, err := Import(context.Background(), strings.NewReader(in), Options{}, newRecordingSink(t)); err == nil || !strings.Contains(err.Error(), "the input is empty") {
			t.Errorf("%q: %v", in, err)
		}
	}
	// Forced JSON on OpenMetrics text fails as JSON.
	_, err := Import(context.Background(), strings.NewReader("a 1 1\n# EOF\n"), Options{Format: JSON}, newRecordingSink(t))
	if err == nil || !strings.Contains(err.Error(), "not valid Prometheus matrix JSON") {
		t.Errorf("forced JSON: %v", err)
	}
	if _, err := ParseFormat("csv"); err == nil {
		t.Error("ParseFormat accepted csv")
	}
}

func TestSinkFailures(t *testing.T) {
	var text bytes.Buffer
	cfg := gen.Bench{Series: 200, Samples: 900, Seed: 1, Start: time.UnixMilli(h0).UTC()}
	if err := gen.WriteOpenMetrics(&text, cfg); err != nil {
		t.Fatal(err)
	}
	t.Run("a failed Add fails the import and discards every window", func(t *testing.T) {
		sink := newRecordingSink(t)
		sink.failAdd = errors.New("disk full")
		_, err := Import(context.Background(), bytes.NewReader(text.Bytes()), Options{}, sink)
		if err == nil || !strings.Contains(err.Error(), "disk full") || strings.Contains(err.Error(), errSinkFailed.Error()) {
			t.Fatalf("err = %v", err)
		}
		if len(sink.done) > 0 || len(sink.discarded) != 2 {
			t.Fatalf("done %v, discarded %v", sink.done, sink.discarded)
		}
	})
	t.Run("a failed Done is that window's only", func(t *testing.T) {
		sink := newRecordingSink(t)
		sink.failDone = map[int64]error{h0: errors.New("verify failed")}
		res, err := Import(context.Background(), bytes.NewReader(text.Bytes()), Options{}, sink)
		if err != nil {
			t.Fatal(err)
		}
		if f := res.Failed(); len(f) != 1 || f[0].Window.Start != h0 || len(sink.done) != 1 {
			t.Fatalf("failed %v, done %v", f, sink.done)
		}
	})
	t.Run("a cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		sink := newRecordingSink(t)
		if _, err := Import(ctx, bytes.NewReader(text.Bytes()), Options{}, sink); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if len(sink.done) > 0 {
			t.Fatal("windows were finished")
		}
	})
}

// importFails imports text, which must fail with an error holding every one
// of want, and finish no window; it returns the sink for further checks.
func importFails(t *testing.T, text string, opts Options, want []string) *recordingSink {
	t.Helper()
	sink := newRecordingSink(t)
	_, err := Import(context.Background(), strings.NewReader(text), opts, sink)
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if len(sink.done) > 0 {
		t.Errorf("windows %v were finished", sink.done)
	}
	return sink
}
