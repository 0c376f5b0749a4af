package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/matrixtest"
)

// toSDK builds, from the same results, the backend.QueryDataResponse promlib
// would hand to Grafana.
func toSDK(t *testing.T, results []result) *backend.QueryDataResponse {
	t.Helper()
	qdr := backend.NewQueryDataResponse()
	for _, r := range results {
		dr := backend.DataResponse{Status: backend.Status(r.status), ErrorSource: backend.ErrorSource(r.errSource)}
		if r.err != "" {
			dr.Error = errors.New(r.err)
		}
		if r.hasFrames {
			dr.Frames = data.Frames{}
		}
		for _, f := range r.frames {
			df := data.NewFrame(f.name)
			df.RefID = f.refID
			df.Meta = &data.FrameMeta{
				Type:                data.FrameType(f.meta.typ),
				TypeVersion:         data.FrameTypeVersion{uint(f.meta.typeVersion[0]), uint(f.meta.typeVersion[1])},
				ExecutedQueryString: f.meta.executed,
			}
			if f.meta.hasMinStep || f.meta.resultType != "" {
				custom := map[string]any{}
				if f.meta.resultType != "" {
					custom["resultType"] = f.meta.resultType
				}
				if f.meta.hasMinStep {
					custom["calculatedMinStep"] = f.meta.minStep
				}
				df.Meta.Custom = custom
			}
			for _, n := range f.meta.notices {
				sev := data.NoticeSeverityWarning
				if n.severity == "info" {
					sev = data.NoticeSeverityInfo
				}
				df.Meta.Notices = append(df.Meta.Notices, data.Notice{Severity: sev, Text: n.text})
			}
			if f.cells != nil {
				df.Fields = append(df.Fields, sdkCells(f)...)
			} else if f.fields {
				times := make([]time.Time, len(f.points))
				for i, p := range f.points {
					times[i] = time.UnixMilli(p.T).UTC()
				}
				tf := data.NewField("Time", nil, times)
				if f.interval != 0 {
					tf.Config = &data.FieldConfig{Interval: float64(f.interval)}
				}
				lbls := data.Labels{}
				f.labels.Range(func(l labels.Label) { lbls[l.Name] = l.Value })
				var vf *data.Field
				if f.isString {
					vf = data.NewField(f.valueName, lbls, []string{f.str})
				} else {
					vals := make([]float64, len(f.points))
					for i, p := range f.points {
						vals[i] = p.F
					}
					vf = data.NewField(f.valueName, lbls, vals)
				}
				if f.displayName != "" {
					vf.Config = &data.FieldConfig{DisplayNameFromDS: f.displayName}
				}
				df.Fields = append(df.Fields, tf, vf)
			}
			dr.Frames = append(dr.Frames, df)
		}
		qdr.Responses[r.refID] = dr
	}
	return qdr
}

// sdkCells is promlib's heatmap-cells fields (converter/prom.go,
// newHistogramInfo): labels on yMin.
func sdkCells(f frame) []*data.Field {
	n := len(f.cells)
	xs, lo, hi, counts, layouts := make([]time.Time, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]int8, n)
	for i, c := range f.cells {
		xs[i], lo[i], hi[i], counts[i], layouts[i] = time.UnixMilli(c.t).UTC(), c.yMin, c.yMax, c.count, c.layout
	}
	lbls := data.Labels{}
	f.labels.Range(func(l labels.Label) { lbls[l.Name] = l.Value })
	x := data.NewField("xMax", nil, xs)
	if f.interval != 0 {
		x.Config = &data.FieldConfig{Interval: float64(f.interval)}
	}
	return []*data.Field{x, data.NewField("yMin", lbls, lo), data.NewField("yMax", nil, hi), data.NewField("count", nil, counts), data.NewField("yLayout", nil, layouts)}
}

// sdkBytes encodes the way Grafana's response.JSONStreaming does.
func sdkBytes(t *testing.T, qdr *backend.QueryDataResponse) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jsoniter.ConfigCompatibleWithStandardLibrary.NewEncoder(&buf).Encode(qdr); err != nil {
		t.Fatal(err)
	}
	viaMarshal, err := qdr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(viaMarshal, '\n'), buf.Bytes()) {
		t.Fatalf("the SDK's two encodings differ:\n%s\n%s", viaMarshal, buf.Bytes())
	}
	return buf.Bytes()
}

func ourBytes(t *testing.T, results []result) []byte {
	t.Helper()
	var buf bytes.Buffer
	rs := append([]result(nil), results...)
	sortResults(rs)
	if err := writeResponse(&buf, rs); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(0, i-80)
	return "ours: ..." + string(a[lo:min(len(a), i+80)]) + "\nsdk:  ..." + string(b[lo:min(len(b), i+80)])
}

func pts(vs ...float64) []promql.FPoint {
	out := make([]promql.FPoint, len(vs))
	for i, v := range vs {
		out[i] = promql.FPoint{T: 1735682400000 + int64(i)*15000 + int64(i%3), F: v}
	}
	return out
}

func matrixFrame(refID string, lset labels.Labels, first bool, points []promql.FPoint) frame {
	f := frame{
		refID: refID, fields: true, valueName: "Value", labels: lset, points: points,
		meta: frameMeta{typ: "timeseries-multi", typeVersion: [2]int{0, 1}, resultType: "matrix"},
	}
	q := &promQuery{expr: `rate(x{a="<b>&c"}[5m]) > 0`, step: 15 * time.Second}
	addMetadata(q, &f)
	if first {
		f.meta.executed, f.meta.hasMinStep, f.meta.minStep = executedQueryString(q), true, 15000
	}
	return f
}

func TestEncoderMatchesSDK(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randomPoints := make([]promql.FPoint, 5000)
	for i := range randomPoints {
		var v float64
		switch i % 5 {
		case 0:
			v = math.Float64frombits(rng.Uint64()) // any bit pattern, NaN payloads included
		case 1:
			v = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(60)-30))
		case 2:
			v = float64(rng.Int64N(1 << 53))
		case 3:
			v = math.Round(rng.Float64()*1e4) / 100
		default:
			v = rng.ExpFloat64()
		}
		randomPoints[i] = promql.FPoint{T: 1700000000000 + int64(i)*15000 + rng.Int64N(700) - 350, F: v}
	}
	special := pts(1e21, 1e-7, 0.000001, 123456789012345680000, 1e20, 9.999999999999999e-7,
		5e-324, math.Copysign(0, -1), math.MaxFloat64, -math.MaxFloat64, 0.1, 100, -1e-300, 1e300, 2.5e-8,
		math.NaN(), math.Inf(1), math.Inf(-1), math.Float64frombits(value.StaleNaN), 0)

	odd := labels.FromStrings("__name__", "weird_metric", "a", "x<y>&z", "a0", "\"q\"\\", "u", "héllo\u2028\xff\x01\t\n",
		"empty_next", "v")
	cases := []struct {
		name    string
		results []result
	}{
		{"several series with special values", []result{{
			refID: "A", status: 200, hasFrames: true, frames: []frame{
				matrixFrame("A", labels.FromStrings("__name__", "up", "job", "node", "instance", "h1:9100"), true, pts(1, 0, 1)),
				matrixFrame("A", labels.FromStrings("job", "node", "instance", "h2:9100"), false, pts(math.NaN(), math.Inf(1), 3, math.Inf(-1), math.NaN())),
				matrixFrame("A", labels.FromStrings(), false, pts(0.5)),
				matrixFrame("A", odd, false, special),
			},
		}}},
		{"empty result", []result{{
			refID: "A", status: 200, hasFrames: true, frames: []frame{{
				refID: "A", meta: frameMeta{executed: "Expr: nothing\nStep: 1m0s", hasMinStep: true, minStep: 60000},
			}},
		}}},
		{"error beside a good refId", []result{
			{refID: "B", status: 200, hasFrames: true, frames: []frame{
				matrixFrame("B", labels.FromStrings("__name__", "up"), true, pts(1, 1)),
			}},
			{refID: "A", status: 400, err: `bad_data: invalid parameter "query": 1:5: parse error: unexpected "<"`, errSource: "downstream",
				hasFrames: true, frames: []frame{{refID: "A", meta: frameMeta{executed: "Expr: up <\nStep: 15s", hasMinStep: true, minStep: 15000}}}},
			{refID: "C", err: "json: cannot unmarshal string into Go struct field QueryModel.datasource of type v0alpha1.DataSourceRef", errSource: "plugin"},
			{refID: "D", err: "unexpected response with status code 429: too many outstanding requests", errSource: "downstream",
				hasFrames: true, frames: []frame{{refID: "D", meta: frameMeta{executed: "Expr: up\nStep: 15s"}}}},
		}},
		{"many random samples", []result{{
			refID: "R", status: 200, hasFrames: true, frames: []frame{
				matrixFrame("R", labels.FromStrings("__name__", "random", "i", "0"), true, randomPoints),
				matrixFrame("R", labels.FromStrings("__name__", "random", "i", "1"), false, randomPoints[:1234]),
			},
		}}},
		{"vector, scalar, string and warnings", []result{
			{refID: "V", status: 200, hasFrames: true, frames: func() []frame {
				q := &promQuery{expr: "up", step: time.Minute, legendFormat: "{{job}} / {{missing}}"}
				fs := valueFrames(promql.Vector{
					{T: 1735682400123, F: 1, Metric: labels.FromStrings("__name__", "up", "job", "a")},
					{T: 1735682400123, F: math.NaN(), Metric: labels.FromStrings("job", "b")},
				})
				for i := range fs {
					addMetadata(q, &fs[i])
					fs[i].refID = "V"
				}
				fs[0].meta.executed = executedQueryString(q)
				return fs
			}()},
			{refID: "S", status: 200, hasFrames: true, frames: func() []frame {
				q := &promQuery{expr: "scalar(time())", step: time.Second}
				fs := valueFrames(promql.Scalar{T: 5, V: 1.5})
				fs = append(fs, valueFrames(promql.String{T: 6, V: "a <string>\u2029"})...)
				for i := range fs {
					addMetadata(q, &fs[i])
					fs[i].refID = "S"
				}
				return fs
			}()},
			{refID: "W", status: 200, hasFrames: true, frames: []frame{{
				name: "Warnings", refID: "W",
				meta: frameMeta{hasMinStep: true, minStep: 15000, executed: "Expr: x\nStep: 15s", notices: []notice{
					{"warning", `PromQL warning: "x" & <y>`}, {"info", "PromQL info: metric might not be a counter"},
				}},
			}}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := sdkBytes(t, toSDK(t, tc.results))
			got := ourBytes(t, tc.results)
			if !bytes.Equal(got, want) {
				t.Fatalf("encodings differ:\n%s", firstDiff(got, want))
			}
		})
	}
}

func TestFloatFormatsLikeSDK(t *testing.T) {
	for _, v := range []float64{1e21, 1e-7, 0.000001, 123456789012345680000, 1e20, 5e-324, math.Copysign(0, -1), 0.1, 1.5e300} {
		got := string(appendFloat(nil, v))
		want, err := jsoniter.ConfigCompatibleWithStandardLibrary.MarshalToString(v)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%v: got %s, jsoniter %s", v, got, want)
		}
	}
	// The forms the tool's decoder must accept, pinned down.
	for v, want := range map[float64]string{1e21: "1e+21", 1e-7: "1e-07", 0.000001: "0.000001", 123456789012345680000: "123456789012345680000"} {
		if got := string(appendFloat(nil, v)); got != want {
			t.Errorf("%v: got %s, want %s", v, got, want)
		}
	}
}

// promMatrix reads a Prometheus matrix answer such as the golden inputs.
func promMatrix(t *testing.T, path string) promql.Matrix {
	var m promql.Matrix
	for _, s := range matrixtest.Floats(matrixtest.ReadFile(t, path)) {
		ps := promql.Series{Metric: s.Labels}
		for _, smp := range s.Samples {
			ps.Floats = append(ps.Floats, promql.FPoint{T: smp.T, F: smp.V})
		}
		m = append(m, ps)
	}
	return m
}

// goldenDir holds Grafana's own answers, copied into the repository so that
// every clone checks against them.
const goldenDir = "../../testdata/grafana-golden"

// TestGoldenFrames checks frames against Grafana's own test outputs. The
// goldens come from promlib's converter tests (no refId, and older output
// without calculatedMinStep for range_simple), so the comparison is
// semantic and leaves out what those tests never set.
func TestGoldenFrames(t *testing.T) {
	type tc struct {
		name  string
		build func() []frame
	}
	cases := []tc{
		{name: "matrix_with_nans", build: func() []frame {
			return convertAnswer(promAnswer{value: promMatrix(t, filepath.Join(goldenDir, "matrix_with_nans.prometheus.json"))}, "")
		}},
		{name: "range_missing", build: func() []frame {
			fs, _, _ := parseResponse(&promQuery{expr: "test1", step: time.Second},
				promAnswer{status: 200, value: promMatrix(t, filepath.Join(goldenDir, "range_missing.prometheus.json"))})
			return fs
		}},
		{name: "warnings_no_data", build: func() []frame {
			return convertAnswer(promAnswer{value: promql.Matrix{}, warnings: map[string]error{
				"warning 1": errors.New("warning 1"), "warning 2": errors.New("warning 2"),
			}}, "")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := writeResponse(&buf, []result{{refID: "A", status: 200, hasFrames: true, frames: c.build()}}); err != nil {
				t.Fatal(err)
			}
			var got struct{ Results map[string]any }
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join(goldenDir, c.name+".frames.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Results["A"], want) {
				g, _ := json.Marshal(got.Results["A"])
				w, _ := json.Marshal(want)
				t.Fatalf("frames differ from golden:\nours:   %s\ngolden: %s", g, w)
			}
		})
	}
}

// TestHeatmapCellsMatchSDK: native histograms over /api/ds/query are
// encoded as the SDK encodes promlib's heatmap-cells frames, a row per
// non-empty bucket with negative, zero and positive buckets.
func TestHeatmapCellsMatchSDK(t *testing.T) {
	start := time.Date(2025, 8, 3, 0, 0, 0, 0, time.UTC)
	var points []promql.HPoint
	var lset labels.Labels
	for _, s := range gen.NativeHistogramSeries(start, start.Add(10*time.Minute), 3) {
		if s.Labels.Get(model.MetricNameLabel) != "clock_skew_seconds" {
			continue
		}
		lset = s.Labels
		for _, h := range s.Histograms[:3] {
			points = append(points, promql.HPoint{T: h.T, H: h.H.ToFloat(nil)})
		}
	}
	f := heatmapFrame(lset, points)
	addMetadata(&promQuery{expr: "clock_skew_seconds[10m]", step: time.Second}, &f)
	f.refID = "A"
	layouts := map[int8]bool{}
	for _, c := range f.cells {
		layouts[c.layout] = true
	}
	if !layouts[1] || !layouts[0] || !layouts[3] {
		t.Fatalf("the frame lacks negative, positive or zero buckets: layouts %v", layouts)
	}
	results := []result{{refID: "A", status: 200, hasFrames: true, frames: []frame{f}}}
	ours, sdk := ourBytes(t, results), sdkBytes(t, toSDK(t, results))
	if !bytes.Equal(ours, sdk) {
		t.Fatalf("encodings differ:\n%s", firstDiff(ours, sdk))
	}
}
