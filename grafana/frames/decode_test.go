package frames

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/matrixtest"
)

const decGoldenDir = "../../testdata/grafana-golden"

// sameFloat compares bit for bit, except that any NaN matches any NaN: JSON
// cannot carry a NaN's payload, so a stale marker arrives as a plain NaN.
func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Float64bits(a) == math.Float64bits(b)
}

func checkSeries(t *testing.T, got, want []extract.Series) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d series, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !labels.Equal(g.Labels, w.Labels) {
			t.Fatalf("series %d: labels %s, want %s", i, g.Labels, w.Labels)
		}
		if len(g.Samples) != len(w.Samples) {
			t.Fatalf("series %d %s: %d samples, want %d", i, w.Labels, len(g.Samples), len(w.Samples))
		}
		for j := range w.Samples {
			gs, ws := g.Samples[j], w.Samples[j]
			if gs.T != ws.T || !sameFloat(gs.V, ws.V) {
				t.Fatalf("series %d %s sample %d: got (%d, %v [%#x]), want (%d, %v [%#x])",
					i, w.Labels, j, gs.T, gs.V, math.Float64bits(gs.V), ws.T, ws.V, math.Float64bits(ws.V))
			}
		}
	}
}

// checkResult compares everything; want.Unsupported holds substrings.
func checkResult(t *testing.T, got, want result) {
	t.Helper()
	if got.RefID != want.RefID || got.Status != want.Status || got.Error != want.Error || got.ErrorSource != want.ErrorSource {
		t.Fatalf("refId %s: got (%q, %d, %q, %q), want (%q, %d, %q, %q)", want.RefID,
			got.RefID, got.Status, got.Error, got.ErrorSource, want.RefID, want.Status, want.Error, want.ErrorSource)
	}
	if !slices.Equal(got.Notices, want.Notices) {
		t.Fatalf("refId %s: notices %q, want %q", want.RefID, got.Notices, want.Notices)
	}
	if got.ExecutedQueryString != want.ExecutedQueryString {
		t.Fatalf("refId %s: executedQueryString %q, want %q", want.RefID, got.ExecutedQueryString, want.ExecutedQueryString)
	}
	if len(got.Unsupported) != len(want.Unsupported) {
		t.Fatalf("refId %s: unsupported %q, want %q", want.RefID, got.Unsupported, want.Unsupported)
	}
	for i, w := range want.Unsupported {
		if !strings.Contains(got.Unsupported[i], w) {
			t.Fatalf("refId %s: unsupported[%d] = %q, want it to contain %q", want.RefID, i, got.Unsupported[i], w)
		}
	}
	checkSeries(t, got.Series, want.Series)
}

func TestDecodeGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(decGoldenDir, "*.frames.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden frames in %s: %v", decGoldenDir, err)
	}
	requests := labels.FromStrings("__name__", "prometheus_http_requests_total", "handler", "/api/v1/query_range", "job", "prometheus")
	withCode := func(code string) labels.Labels {
		b := labels.NewBuilder(requests)
		b.Set("code", code)
		return b.Labels()
	}
	// Goldens without a Prometheus answer, and extra checks for some with one.
	checks := map[string]func(t *testing.T, r result){
		"warnings_no_data": func(t *testing.T, r result) {
			checkResult(t, r, result{Result: Result{RefID: "A", Status: 200, Notices: []Notice{{"warning", "warning 1"}, {"warning", "warning 2"}}}})
		},
		"range_simple": func(t *testing.T, r result) {
			checkResult(t, r, result{Result: Result{RefID: "A", Status: 200, ExecutedQueryString: "Expr: \nStep: 1s"}, Series: []extract.Series{
				{Labels: withCode("200"), Samples: []extract.Sample{{T: 1641889530123, V: 21}, {T: 1641889531123, V: 32}, {T: 1641889532123, V: 43}}},
				{Labels: withCode("400"), Samples: []extract.Sample{{T: 1641889529123, V: 54}, {T: 1641889532123, V: 76}}},
			}})
		},
		"range_missing": func(t *testing.T, r result) {
			if r.ExecutedQueryString != "Expr: test1\nStep: 1s" {
				t.Errorf("executedQueryString %q", r.ExecutedQueryString)
			}
		},
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".frames.json")
		t.Run(name, func(t *testing.T) {
			frames, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			resp := decodeBody(t, []byte(`{"results": {"A": `+string(frames)+`}}`))
			if len(resp.Results) != 1 {
				t.Fatalf("%d results", len(resp.Results))
			}
			r := resp.Results[0]
			if r.RefID != "A" || r.Status != 200 || r.Error != "" || len(r.Unsupported) != 0 {
				t.Fatalf("result %+v", r)
			}
			promPath := filepath.Join(decGoldenDir, name+".prometheus.json")
			_, statErr := os.Stat(promPath)
			if statErr == nil {
				checkSeries(t, r.Series, matrixtest.Floats(matrixtest.ReadFile(t, promPath)))
			}
			if check, ok := checks[name]; ok {
				check(t, r)
			} else if statErr != nil {
				t.Fatalf("golden %s has neither a Prometheus answer nor a check in this test", name)
			}
		})
	}

	t.Run("prom_error", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(decGoldenDir, "prom_error.prometheus.json"))
		if err != nil {
			t.Fatal(err)
		}
		var prom struct{ Status, ErrorType, Error string }
		if err := json.Unmarshal(b, &prom); err != nil || prom.Status != "error" {
			t.Fatalf("prom_error: %v, %+v", err, prom)
		}
		// What Grafana makes of it.
		want := prom.ErrorType + ": " + prom.Error
		body, err := json.Marshal(map[string]any{"results": map[string]any{
			"A": map[string]any{"error": want, "errorSource": "downstream", "status": 400},
		}})
		if err != nil {
			t.Fatal(err)
		}
		resp := decodeBody(t, body)
		if len(resp.Results) != 1 {
			t.Fatalf("%d results", len(resp.Results))
		}
		checkResult(t, resp.Results[0], result{Result: Result{RefID: "A", Status: 400, Error: want, ErrorSource: "downstream"}})
		if !strings.HasPrefix(resp.Results[0].Error, `bad_data: invalid parameter "start"`) {
			t.Errorf("error %q", resp.Results[0].Error)
		}
	})
}

// Helpers to build frames with the SDK and the series they must decode to.

var decT0 = time.UnixMilli(1735682400000).UTC()

func decSteps(n int, step time.Duration) []time.Time {
	ts := make([]time.Time, n)
	for i := range ts {
		ts[i] = decT0.Add(time.Duration(i) * step)
	}
	return ts
}

func tsMeta() *data.FrameMeta {
	return &data.FrameMeta{Type: data.FrameTypeTimeSeriesMulti, TypeVersion: data.FrameTypeVersion{0, 1}}
}

// tsFrame is a frame as promlib writes it: Time and one value field named
// after the metric (or "Value"), the identity in the field's labels.
func tsFrame(lbls data.Labels, ts []time.Time, values any) *data.Frame {
	name := lbls["__name__"]
	if name == "" {
		name = "Value"
	}
	f := data.NewFrame(name, data.NewField("Time", nil, ts), data.NewField(name, lbls, values))
	f.Meta = tsMeta()
	return f
}

// decSeries is what a field of lbls with values at ts decodes to: a nil
// pointer is a missing sample.
func decSeries(lbls data.Labels, ts []time.Time, values any) extract.Series {
	s := extract.Series{Labels: labels.FromMap(lbls)}
	add := func(i int, v float64) { s.Samples = append(s.Samples, extract.Sample{T: ts[i].UnixMilli(), V: v}) }
	switch vs := values.(type) {
	case []float64:
		for i, v := range vs {
			add(i, v)
		}
	case []*float64:
		for i, v := range vs {
			if v != nil {
				add(i, *v)
			}
		}
	case []float32:
		for i, v := range vs {
			add(i, float64(v))
		}
	case []int64:
		for i, v := range vs {
			add(i, float64(v))
		}
	case []uint64:
		for i, v := range vs {
			add(i, float64(v))
		}
	case []*int64:
		for i, v := range vs {
			if v != nil {
				add(i, float64(*v))
			}
		}
	default:
		panic(fmt.Sprintf("series: %T", values))
	}
	return s
}

func decPtr[T any](v T) *T { return &v }

// staleNaN is Prometheus's stale marker; it must come through as a NaN.
var staleNaN = math.Float64frombits(0x7ff0000000000002)

func specialValues() []float64 {
	return []float64{
		0.1, 1e-300, 5e-324, math.MaxFloat64, math.Copysign(0, -1), 123456789.123456789,
		math.NaN(), math.Inf(1), math.Inf(-1), staleNaN, -math.MaxFloat64, -5e-324,
		0, 1, -1.5, 2.2250738585072014e-308, 9007199254740993, 1e21, 1e-7, 0.30000000000000004,
	}
}

// manySeries makes n series of up to points samples from a seeded source:
// random bit patterns (every exponent, NaN and ±Inf included), ordinary
// values, gaps, and every fifth series nullable with missing samples.
func manySeries(n, points int) ([]*data.Frame, []extract.Series) {
	rnd := rand.New(rand.NewSource(42))
	frames := make([]*data.Frame, 0, n)
	want := make([]extract.Series, 0, n)
	for i := range n {
		lbls := data.Labels{"__name__": "m" + fmt.Sprint(i%7), "instance": fmt.Sprintf("host-%d:9100", i), "job": "node"}
		ts := make([]time.Time, 0, points)
		for j := range points {
			if rnd.Intn(10) == 0 {
				continue // a gap
			}
			ts = append(ts, decT0.Add(time.Duration(j)*15*time.Second))
		}
		next := func() float64 {
			switch rnd.Intn(4) {
			case 0:
				return math.Float64frombits(rnd.Uint64())
			case 1:
				return float64(rnd.Intn(1e6))
			case 2:
				return rnd.NormFloat64() * math.Pow(10, float64(rnd.Intn(40)-20))
			}
			return []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1)}[rnd.Intn(5)]
		}
		var values any
		if i%5 == 0 {
			vs := make([]*float64, len(ts))
			for j := range vs {
				if rnd.Intn(4) != 0 {
					vs[j] = decPtr(next())
				}
			}
			values = vs
		} else {
			vs := make([]float64, len(ts))
			for j := range vs {
				vs[j] = next()
			}
			values = vs
		}
		frames = append(frames, tsFrame(lbls, ts, values))
		want = append(want, decSeries(lbls, ts, values))
	}
	return frames, want
}

func decMarshal(t testing.TB, responses backend.Responses) []byte {
	t.Helper()
	body, err := json.Marshal(backend.QueryDataResponse{Responses: responses})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// sdkOddFrames are frames the SDK writes that are not multi-frame float
// series: heatmaps, a table, strings only, and a wide frame of several
// numeric types with the series it holds.
func sdkOddFrames() (heatmap, emptyHeatmap, table, stringsOnly, wide *data.Frame, wideWant []extract.Series) {
	heatmap = data.NewFrame("heatmap",
		data.NewField("xMax", nil, decSteps(3, time.Minute)),
		data.NewField("yMin", nil, []float64{0, 1, 2}),
		data.NewField("yMax", nil, []float64{1, 2, 4}),
		data.NewField("count", data.Labels{"__name__": "rpc_seconds", "job": "api"}, []float64{3, 4, 5}),
		data.NewField("yLayout", nil, []int8{0, 0, 0}),
	)
	heatmap.Meta = &data.FrameMeta{Type: data.FrameType("heatmap-cells")}
	emptyHeatmap = data.NewFrame("", data.NewField("xMax", nil, []time.Time{}), data.NewField("count", nil, []float64{}))
	emptyHeatmap.Meta = &data.FrameMeta{Type: data.FrameType("heatmap-cells")}
	table = data.NewFrame("", data.NewField("Time", nil, decSteps(1, time.Minute)), data.NewField("job", nil, []string{"node"}), data.NewField("Value", nil, []float64{1}))
	table.Meta = &data.FrameMeta{Type: data.FrameTypeTable}
	stringsOnly = data.NewFrame("strings", data.NewField("text", nil, []string{"a", "b"}))

	wide = data.NewFrame("",
		data.NewField("Time", nil, decSteps(3, time.Second)),
		data.NewField("a", data.Labels{"__name__": "a"}, []float64{1, math.NaN(), 3}),
		data.NewField("b", data.Labels{"__name__": "b"}, []float32{1.1, float32(math.Inf(1)), -3.4e38}),
		data.NewField("c", data.Labels{"__name__": "c"}, []int64{-5, 1<<53 + 1, math.MaxInt64}),
		data.NewField("d", data.Labels{"__name__": "d"}, []uint64{0, 1 << 63, math.MaxUint64}),
		data.NewField("e", data.Labels{"__name__": "e"}, []*int64{decPtr(int64(7)), nil, decPtr(int64(-9))}),
	)
	wide.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesWide}
	wideWant = []extract.Series{
		decSeries(data.Labels{"__name__": "a"}, decSteps(3, time.Second), []float64{1, math.NaN(), 3}),
		decSeries(data.Labels{"__name__": "b"}, decSteps(3, time.Second), []float32{1.1, float32(math.Inf(1)), -3.4e38}),
		decSeries(data.Labels{"__name__": "c"}, decSteps(3, time.Second), []int64{-5, 1<<53 + 1, math.MaxInt64}),
		decSeries(data.Labels{"__name__": "d"}, decSteps(3, time.Second), []uint64{0, 1 << 63, math.MaxUint64}),
		decSeries(data.Labels{"__name__": "e"}, decSteps(3, time.Second), []*int64{decPtr(int64(7)), nil, decPtr(int64(-9))}),
	}
	return heatmap, emptyHeatmap, table, stringsOnly, wide, wideWant
}

// sdkCase is an answer the SDK writes and the results it decodes to.
type sdkCase struct {
	name      string
	responses backend.Responses
	want      []result
}

// sdkRoundTripCases are TestDecodeSDKRoundTrip's answers; heatmap is the
// one frame the test checks again on its own.
func sdkRoundTripCases() (cases []sdkCase, heatmap *data.Frame) {
	up := data.Labels{"__name__": "up", "job": "node", "instance": "a:9100"}
	noName := data.Labels{"handler": "/api/v1/query_range", "job": "prometheus"}
	special := specialValues()
	manyFrames, manyWant := manySeries(500, 480)
	notices := []data.Notice{
		{Severity: data.NoticeSeverityWarning, Text: "warning 1"},
		{Severity: data.NoticeSeverityInfo, Text: "info \"quoted\"\nline"},
	}
	nanoTimes := []time.Time{
		decT0,
		decT0.Add(500 * time.Nanosecond),
		decT0.Add(time.Millisecond + 999999*time.Nanosecond),
		time.UnixMilli(-1500).Add(300 * time.Nanosecond), // before 1970
	}
	nullable := []*float64{decPtr(1.5), nil, decPtr(math.NaN()), nil, decPtr(math.Inf(-1)), decPtr(0.1), nil}

	heatmap, emptyHeatmap, table, stringsOnly, wide, wideWant := sdkOddFrames()
	withMeta := func(f *data.Frame, m *data.FrameMeta) *data.Frame { f.Meta = m; return f }

	return []sdkCase{{
		name: "special values, meta and notices",
		responses: backend.Responses{"A": {Frames: data.Frames{
			withMeta(tsFrame(up, decSteps(len(special), 15*time.Second), special), &data.FrameMeta{
				Type: data.FrameTypeTimeSeriesMulti, ExecutedQueryString: "Expr: up\nStep: 15s", Notices: notices,
				Custom: map[string]any{"resultType": "matrix", "calculatedMinStep": 15000},
			}),
			tsFrame(noName, decSteps(3, time.Second), []float64{math.Inf(1), math.NaN(), math.Inf(-1)}),
		}}},
		want: []result{{Result: Result{RefID: "A", Status: 200, ExecutedQueryString: "Expr: up\nStep: 15s",
			Notices: []Notice{{"warning", "warning 1"}, {"info", "info \"quoted\"\nline"}}},
			Series: []extract.Series{
				decSeries(up, decSteps(len(special), 15*time.Second), special),
				decSeries(noName, decSteps(3, time.Second), []float64{math.Inf(1), math.NaN(), math.Inf(-1)}),
			}}},
	}, {
		name:      "nullable field: nil is a missing sample",
		responses: backend.Responses{"A": {Frames: data.Frames{tsFrame(up, decSteps(len(nullable), time.Minute), nullable)}}},
		want:      []result{{Result: Result{RefID: "A", Status: 200}, Series: []extract.Series{decSeries(up, decSteps(len(nullable), time.Minute), nullable)}}},
	}, {
		name:      "sub-millisecond nanos do not move the millisecond",
		responses: backend.Responses{"A": {Frames: data.Frames{tsFrame(up, nanoTimes, []float64{1, 2, 3, 4})}}},
		want: []result{{Result: Result{RefID: "A", Status: 200}, Series: []extract.Series{{Labels: labels.FromMap(up), Samples: []extract.Sample{
			{T: 1735682400000, V: 1}, {T: 1735682400000, V: 2}, {T: 1735682400001, V: 3}, {T: -1500, V: 4},
		}}}}},
	}, {
		name:      "500 series of 480 samples",
		responses: backend.Responses{"A": {Frames: manyFrames}},
		want:      []result{{Result: Result{RefID: "A", Status: 200}, Series: manyWant}},
	}, {
		name: "empty result",
		responses: backend.Responses{"A": {Frames: data.Frames{withMeta(data.NewFrame(""), &data.FrameMeta{
			Type: data.FrameTypeTimeSeriesMulti, ExecutedQueryString: "Expr: nothing\nStep: 15s",
		})}}},
		want: []result{{Result: Result{RefID: "A", Status: 200, ExecutedQueryString: "Expr: nothing\nStep: 15s"}}},
	}, {
		name:      "warnings only",
		responses: backend.Responses{"A": {Frames: data.Frames{withMeta(data.NewFrame("Warnings"), &data.FrameMeta{Notices: notices[:1]})}}},
		want:      []result{{Result: Result{RefID: "A", Status: 200, Notices: []Notice{{"warning", "warning 1"}}}}},
	}, {
		name: "failed refIds beside a goodFrameJSON one",
		responses: backend.Responses{
			"C": {Error: errors.New("unexpected response with status code 502: <html>"), Status: backend.StatusBadGateway, ErrorSource: backend.ErrorSourceDownstream,
				Frames: data.Frames{tsFrame(up, decSteps(2, time.Second), []float64{1, 2})}},
			"B": {Error: errors.New(`bad_data: invalid parameter "query": 1:1: parse error`), Status: backend.StatusBadRequest, ErrorSource: backend.ErrorSourceDownstream},
			"A": {Frames: data.Frames{tsFrame(up, decSteps(2, time.Second), []float64{3, 4})}},
		},
		want: []result{
			{Result: Result{RefID: "A", Status: 200}, Series: []extract.Series{decSeries(up, decSteps(2, time.Second), []float64{3, 4})}},
			{Result: Result{RefID: "B", Status: 400, Error: `bad_data: invalid parameter "query": 1:1: parse error`, ErrorSource: "downstream"}},
			{Result: Result{RefID: "C", Status: 502, Error: "unexpected response with status code 502: <html>", ErrorSource: "downstream"}, Series: []extract.Series{decSeries(up, decSteps(2, time.Second), []float64{1, 2})}},
		},
	}, {
		name:      "wide frame with several numeric types",
		responses: backend.Responses{"A": {Frames: data.Frames{wide}}},
		want:      []result{{Result: Result{RefID: "A", Status: 200}, Series: wideWant}},
	}, {
		name: "frames that are not float series are reported",
		responses: backend.Responses{"A": {Frames: data.Frames{
			heatmap, emptyHeatmap, tsFrame(up, decSteps(1, time.Second), []float64{1}), table, stringsOnly,
		}}},
		want: []result{{Result: Result{RefID: "A", Status: 200, Unsupported: []string{
			`frame 0 ("heatmap"): meta.type "heatmap-cells"`,
			`frame 3: meta.type "table" is not a float time series`,
			`frame 4 ("strings"): no time field`,
		}}, Series: []extract.Series{decSeries(up, decSteps(1, time.Second), []float64{1})}}},
	}}, heatmap
}

func TestDecodeSDKRoundTrip(t *testing.T) {
	cases, heatmap := sdkRoundTripCases()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := decodeBody(t, decMarshal(t, tc.responses))
			if len(resp.Results) != len(tc.want) {
				t.Fatalf("%d results, want %d", len(resp.Results), len(tc.want))
			}
			for i := range tc.want {
				checkResult(t, resp.Results[i], tc.want[i])
			}
		})
	}
	// The heatmap line names the series that cannot be recovered.
	resp := decodeBody(t, decMarshal(t, backend.Responses{"A": {Frames: data.Frames{heatmap}}}))
	if u := resp.Results[0].Unsupported; len(u) != 1 || !strings.Contains(u[0], `rpc_seconds`) {
		t.Errorf("unsupported %q", u)
	}
}

// Hand-written bodies for the malformed cases.
const (
	timeFieldJSON   = `{"name":"Time","type":"time","typeInfo":{"frame":"time.Time"}}`
	valueFieldJSON  = `{"name":"Value","type":"number","typeInfo":{"frame":"float64"},"labels":{"job":"x"}}`
	stringFieldJSON = `{"name":"Value","type":"string","typeInfo":{"frame":"string"}}`
	goodFrameJSON   = `{"schema":{"fields":[` + timeFieldJSON + `,` + valueFieldJSON + `]},"data":{"values":[[1],[2]]}}`
)

func frameJSON(fields, data string) string {
	return `{"schema":{"meta":{"type":"timeseries-multi"},"fields":[` + fields + `]},"data":` + data + `}`
}

func bodyJSON(frames ...string) string {
	return `{"results":{"A":{"status":200,"frames":[` + strings.Join(frames, ",") + `]}}}`
}

func TestDecodeMalformed(t *testing.T) {
	tv := timeFieldJSON + "," + valueFieldJSON
	cases := []struct {
		name, body string
		want       []string // substrings of the error
	}{
		{"empty body", ``, []string{"unexpected EOF"}},
		{"not JSON", `<html>502</html>`, []string{"invalid character"}},
		{"not an object", `[]`, []string{"the body: expected"}},
		{"no results", `{"message":"x"}`, []string{`no "results"`}},
		{"results not an object", `{"results":[]}`, []string{`"results": expected`}},
		{"two results members", `{"results":{},"results":{}}`, []string{`two "results"`}},
		{"duplicate refId", `{"results":{"A":{},"A":{}}}`, []string{`refId "A" appears twice`}},
		{"result not an object", `{"results":{"A":5}}`, []string{`refId "A"`, "cannot unmarshal"}},
		{"truncated", bodyJSON(goodFrameJSON)[:60], []string{"unexpected EOF"}},
		{"a second body", `{"results":{}} {"results":{}}`, []string{"the body is followed by {"}},
		{"garbage after the body", `{"results":{}}]`, []string{"after the body: invalid character"}},
		{"trailing garbage inside", `{"results":{"A":{"frames":[]}}x}`, []string{"invalid character"}},
		{"string value field", bodyJSON(frameJSON(timeFieldJSON+","+stringFieldJSON, `{"values":[[1],["a"]]}`)),
			[]string{`refId "A": frame 0: field 1 ("Value"): type "string" in a time series frame`}},
		{"column count", bodyJSON(frameJSON(tv, `{"values":[[1]]}`)), []string{`frame 0: the schema has 2 fields but data.values has 1 columns`}},
		{"no data with fields", bodyJSON(frameJSON(tv, `{}`)), []string{`2 fields but data.values has 0 columns`}},
		{"data without fields", bodyJSON(frameJSON(``, `{"values":[[1]]}`)), []string{`0 fields but data.values has 1 columns`}},
		{"short value column", bodyJSON(frameJSON(tv, `{"values":[[1,2,3],[1,2]]}`)), []string{`field 1 ("Value"): 2 values for 3 timestamps`}},
		{"long value column", bodyJSON(frameJSON(tv, `{"values":[[1],[1,2]]}`)), []string{`field 1 ("Value"): more values than the 1 timestamps`}},
		{"entity out of range", bodyJSON(frameJSON(tv, `{"values":[[1,2],[null,null]],"entities":[null,{"NaN":[2]}]}`)),
			[]string{`field 1 ("Value"): data.entities NaN row 2 is out of range`}},
		{"negative entity", bodyJSON(frameJSON(tv, `{"values":[[1,2],[null,null]],"entities":[null,{"Inf":[-1]}]}`)), []string{`Inf row -1 is out of range`}},
		{"entity on a number", bodyJSON(frameJSON(tv, `{"values":[[1,2],[null,5]],"entities":[null,{"NegInf":[1]}]}`)),
			[]string{`row 1: data.entities says NegInf but the value is 5, not null`}},
		{"entity twice", bodyJSON(frameJSON(tv, `{"values":[[1],[null]],"entities":[null,{"NaN":[0],"Inf":[0]}]}`)), []string{`row 0 as both NaN and Inf`}},
		{"entity not a list", bodyJSON(frameJSON(tv, `{"values":[[1],[null]],"entities":[null,{"NaN":"x"}]}`)), []string{`refId "A"`, "cannot unmarshal"}},
		{"entities for too many fields", bodyJSON(frameJSON(tv, `{"values":[[1],[2]],"entities":[null,null,null]}`)), []string{`3 entries for 2 fields`}},
		{"entities on the time field", bodyJSON(frameJSON(tv, `{"values":[[null],[2]],"entities":[{"NaN":[0]},null]}`)), []string{`field 0 ("Time"): data.entities`}},
		{"no time field", bodyJSON(frameJSON(valueFieldJSON, `{"values":[[1]]}`)), []string{`frame 0: no time field for its 1 number fields`}},
		{"two time fields", bodyJSON(frameJSON(timeFieldJSON+","+timeFieldJSON+","+valueFieldJSON, `{"values":[[1],[1],[2]]}`)), []string{`fields 0 and 1 are both time fields`}},
		{"values not an array", bodyJSON(frameJSON(tv, `{"values":5}`)), []string{`refId "A"`, "cannot unmarshal number"}},
		{"column not an array", bodyJSON(frameJSON(tv, `{"values":[[1],5]}`)), []string{`field 1 ("Value"): the values are a number "5", not an array`}},
		{"null column", bodyJSON(frameJSON(tv, `{"values":[null,[1]]}`)), []string{`field 0 ("Time"): the values are null, not an array`}},
		{"null timestamp", bodyJSON(frameJSON(tv, `{"values":[[1,null],[1,2]]}`)), []string{`field 0 ("Time"): row 1: null timestamp`}},
		{"fractional timestamp", bodyJSON(frameJSON(tv, `{"values":[[1.5],[1]]}`)), []string{`row 0: timestamp 1.5 is not an integer`}},
		{"string timestamp", bodyJSON(frameJSON(tv, `{"values":[["1"],[1]]}`)), []string{`field 0 ("Time"): row 0: the value is a string "\"1\"]`}},
		{"string value", bodyJSON(frameJSON(tv, `{"values":[[1,2],[1,"2"]]}`)), []string{`field 1 ("Value"): row 1: the value is a string`, "not a number or null"}},
		{"boolean value", bodyJSON(frameJSON(tv, `{"values":[[1],[true]]}`)), []string{`row 0: the value is a boolean`}},
		{"object value", bodyJSON(frameJSON(tv, `{"values":[[1],[{}]]}`)), []string{`row 0: the value is an object`}},
		{"value out of range", bodyJSON(frameJSON(tv, `{"values":[[1],[1e400]]}`)), []string{`field 1 ("Value"): row 0:`, "out of range"}},
		{"timestamp out of range", bodyJSON(frameJSON(tv, `{"values":[[99999999999999999999],[1]]}`)), []string{`row 0: timestamp 99999999999999999999`}},
		{"number typed as string", bodyJSON(frameJSON(timeFieldJSON+`,{"name":"v","type":"number","typeInfo":{"frame":"string"}}`, `{"values":[[1],[1]]}`)),
			[]string{`field 1 ("v"): type number with typeInfo.frame "string"`}},
		{"time typed as number", bodyJSON(frameJSON(`{"name":"t","type":"time","typeInfo":{"frame":"int64"}},`+valueFieldJSON, `{"values":[[1],[1]]}`)),
			[]string{`field 0 ("t"): type time with typeInfo.frame "int64"`}},
		{"nanos length", bodyJSON(frameJSON(tv, `{"values":[[1,2],[1,2]],"nanos":[[5],null]}`)), []string{`data.nanos has 1 entries for 2 timestamps`}},
		{"labels not an object", bodyJSON(frameJSON(timeFieldJSON+`,{"name":"v","type":"number","labels":["a"]}`, `{"values":[[1],[1]]}`)), []string{`refId "A"`, "cannot unmarshal"}},
		{"context of a later refId and frame", `{"results":{"A":{"frames":[` + goodFrameJSON + `]},"B":{"frames":[` + goodFrameJSON + `,{"schema":{"name":"x","fields":[` + tv + `]},"data":{"values":[[1],[]]}}]}}}`,
			[]string{`refId "B": frame 1 ("x"): field 1 ("Value"): 0 values for 1 timestamps`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := decodeAll(strings.NewReader(tc.body))
			if err == nil {
				t.Fatalf("no error; decoded %+v", resp)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// A body cut anywhere is an error that says the body ended early, which is
// what tells the caller a retry may help.
func TestDecodeTruncated(t *testing.T) {
	body := decMarshal(t, backend.Responses{
		"A": {Frames: data.Frames{tsFrame(data.Labels{"job": "x"}, []time.Time{decT0, decT0.Add(1500 * time.Microsecond)}, []float64{math.NaN(), 1.5})}},
		"B": {Error: errors.New("boom"), Status: backend.StatusBadRequest},
	})
	decodeBody(t, body)
	for n := range len(body) {
		_, err := decodeAll(bytes.NewReader(body[:n]))
		var se *json.SyntaxError
		if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &se) {
			t.Fatalf("body cut at %d (%q): error %v", n, body[:n], err)
		}
	}
}

// Mangled bodies may decode or fail, but never panic.
func TestDecodeMangled(t *testing.T) {
	body := decMarshal(t, backend.Responses{
		"A": {Frames: data.Frames{
			tsFrame(data.Labels{"__name__": "up"}, []time.Time{decT0, decT0.Add(time.Second + 7), decT0.Add(2 * time.Second)}, []*float64{decPtr(math.Inf(1)), nil, decPtr(2.5)}),
			decWithNotices(data.NewFrame("Warnings"), "w"),
		}},
		"B": {Error: errors.New("boom"), Status: backend.StatusBadRequest},
	})
	rnd := rand.New(rand.NewSource(1))
	const alphabet = `[]{},:"0123456789-+.eEnul tf`
	for range 20000 {
		b := slices.Clone(body)
		for range 1 + rnd.Intn(3) {
			i := rnd.Intn(len(b))
			switch rnd.Intn(3) {
			case 0:
				b[i] = alphabet[rnd.Intn(len(alphabet))]
			case 1:
				b = slices.Delete(b, i, i+1)
			default:
				b = slices.Insert(b, i, alphabet[rnd.Intn(len(alphabet))])
			}
		}
		_, _ = decodeAll(bytes.NewReader(b))
	}
}

func decWithNotices(f *data.Frame, texts ...string) *data.Frame {
	f.Meta = &data.FrameMeta{}
	for _, s := range texts {
		f.Meta.Notices = append(f.Meta.Notices, data.Notice{Severity: data.NoticeSeverityWarning, Text: s})
	}
	return f
}

func FuzzDecode(f *testing.F) {
	// Grafana's own answers are the seed corpus.
	files, err := filepath.Glob(filepath.Join(decGoldenDir, "*.frames.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no golden frames in %s to seed the corpus: %v", decGoldenDir, err)
	}
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(`{"results":{"A":` + string(b) + `}}`))
	}
	f.Add([]byte(bodyJSON(frameJSON(timeFieldJSON+","+valueFieldJSON, `{"values":[[1,2],[null,5]],"entities":[null,{"NaN":[0]}],"nanos":[[1,2],null]}`))))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := decodeAll(bytes.NewReader(body))
		if err != nil {
			return
		}
		for _, r := range resp.Results {
			for _, s := range r.Series {
				prev := ""
				s.Labels.Range(func(l labels.Label) {
					if l.Name <= prev && prev != "" {
						t.Fatalf("labels not sorted: %s", s.Labels)
					}
					prev = l.Name
				})
			}
		}
	})
}

// The decoder allocates per column, not per value: doubling the samples of
// every series must not add allocations in proportion.
func TestDecodeAllocs(t *testing.T) {
	allocs := func(points int) float64 {
		frames, _ := manySeries(100, points)
		body := decMarshal(t, backend.Responses{"A": {Frames: frames}})
		return testing.AllocsPerRun(2, func() { decodeBody(t, body) })
	}
	short, long := allocs(240), allocs(480)
	t.Logf("allocations: %.0f for 100 series of 240 points, %.0f for 100 of 480", short, long)
	if long-short > 100*240/50 {
		t.Errorf("%.0f more allocations for %d more values", long-short, 100*240)
	}
}

func BenchmarkDecode(b *testing.B) {
	frames, _ := manySeries(500, 480)
	body := decMarshal(b, backend.Responses{"A": {Frames: frames}})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		decodeBody(b, body)
	}
}
