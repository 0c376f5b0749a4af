package sim

import (
	"bytes"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/extract"
)

func customOf(t *testing.T, f *data.Frame) map[string]any {
	t.Helper()
	c, ok := f.Meta.Custom.(map[string]any)
	if !ok {
		t.Fatalf("meta.custom is %T", f.Meta.Custom)
	}
	return c
}

func TestRangeQueryStepAndAlignment(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	from, to := t0+7123, t0+3600000+9999
	code, qdr, _ := query(t, s, dsq(from, to, map[string]any{
		"expr": `x{instance="i1"}`, "range": true, "interval": "15s", "intervalMs": 15000, "maxDataPoints": 11000,
	}))
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	fs := qdr.Responses["A"].Frames
	if len(fs) != 1 {
		t.Fatalf("%d frames", len(fs))
	}
	f := fs[0]
	if f.Meta.ExecutedQueryString != "Expr: x{instance=\"i1\"}\nStep: 15s" {
		t.Errorf("executedQueryString %q", f.Meta.ExecutedQueryString)
	}
	if got := customOf(t, f)["calculatedMinStep"]; got != float64(15000) {
		t.Errorf("calculatedMinStep %v", got)
	}
	if f.Meta.Type != data.FrameTypeTimeSeriesMulti || f.RefID != "A" || f.Fields[1].Name != "x" {
		t.Errorf("frame type %q refId %q value name %q", f.Meta.Type, f.RefID, f.Fields[1].Name)
	}
	if f.Fields[0].Config.Interval != 15000 || f.Fields[1].Config.DisplayNameFromDS != `x{instance="i1", job="x"}` {
		t.Errorf("field configs %+v %+v", f.Fields[0].Config, f.Fields[1].Config)
	}
	got := frameSamples(t, qdr, "A", 0)
	// Both ends floored to the step: the partial last step is dropped.
	if len(got) != 241 || got[0] != (sample{t0, 0}) || got[240] != (sample{t0 + 3600000, 240}) {
		t.Errorf("%d points, first %v last %v", len(got), got[0], got[len(got)-1])
	}
}

func TestDefaultMaxDataPoints(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	_, qdr, _ := query(t, s, dsq(t0, t0+6*3600000, map[string]any{"expr": "x", "range": true}))
	if got := qdr.Responses["A"].Frames[0].Meta.ExecutedQueryString; got != "Expr: x\nStep: 5m0s" {
		t.Errorf("executedQueryString %q, want the 5m step of 6h/100 rounded", got)
	}
}

func TestResolutionLimit(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	cases := []struct {
		name    string
		span    int64
		q       map[string]any
		wantErr bool
	}{
		// The safe interval rounds 654ms down to 500ms: 14,400 points.
		{"rounded safe step still too fine", 2 * 3600000, map[string]any{"expr": "x", "interval": "1ms", "maxDataPoints": 100000000}, true},
		{"exactly 11,000 steps pass", 11000 * 15000, map[string]any{"expr": "vector(1)", "interval": "15s", "maxDataPoints": 11000}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.q["range"] = true
			code, qdr, _ := query(t, s, dsq(t0, t0+c.span, c.q))
			r := qdr.Responses["A"]
			if !c.wantErr {
				if code != http.StatusOK || r.Error != nil || frameSamples(t, qdr, "A", 0)[11000].T != t0+c.span {
					t.Fatalf("status %d err %v", code, r.Error)
				}
				return
			}
			want := "bad_data: exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
			if code != http.StatusBadRequest || r.Error == nil || r.Error.Error() != want || r.Status != 400 || r.ErrorSource != "downstream" {
				t.Fatalf("status %d, refId %d %q (%s)", code, r.Status, r.Error, r.ErrorSource)
			}
		})
	}
}

func TestInstantRangeSelector(t *testing.T) {
	to := t0 + 7200000 + 123 // instant queries use "to" unaligned
	edge := extract.Series{Labels: labels.FromStrings("__name__", "edge", "job", "edge"), Samples: []extract.Sample{
		{T: to - 7200001, V: -1},
		{T: to - 7200000, V: 0}, // exactly t-r: only Prometheus 2.x includes it
		{T: to - 7199999, V: 1.5},
		{T: to - 100, V: math.NaN()},
		{T: to - 50, V: math.Float64frombits(value.StaleNaN)}, // range selectors drop stale markers
		{T: to - 10, V: math.Inf(1)},
		{T: to, V: 3},
		{T: to + 1, V: 4},
	}}
	inner := []sample{{to - 7199999, 1.5}, {to - 100, math.NaN()}, {to - 10, math.Inf(1)}, {to, 3}}
	withLeft := append([]sample{{to - 7200000, 0}}, inner...)
	cases := []struct {
		name string
		v2   bool
		expr string
		want []sample
	}{
		{"3.x is left-open", false, `{job="edge"}[7200000ms]`, inner},
		{"3.x with 1ms more", false, `{job="edge"}[7200001ms]`, withLeft},
		{"2.x includes the left end", true, `{job="edge"}[7200000ms]`, withLeft},
		{"2.x through rate keeps working", true, `{job="edge"}[2h]`, withLeft},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, _ := newTestServer(t, Config{Series: []extract.Series{edge}, PrometheusV2: c.v2})
			code, qdr, _ := query(t, s, dsq(t0, to, map[string]any{
				"expr": c.expr, "instant": true, "range": false, "interval": "15s", "maxDataPoints": 11000,
			}))
			if code != http.StatusOK || len(qdr.Responses["A"].Frames) != 1 {
				t.Fatalf("status %d, %d frames", code, len(qdr.Responses["A"].Frames))
			}
			f := qdr.Responses["A"].Frames[0]
			if customOf(t, f)["resultType"] != "matrix" || f.Meta.ExecutedQueryString != "Expr: "+c.expr+"\nStep: 15s" {
				t.Errorf("meta %+v", f.Meta)
			}
			if got := frameSamples(t, qdr, "A", 0); !sameSamples(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestAnyFailedRefIdMakes400(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	code, qdr, body := query(t, s, dsq(t0, t0+3600000,
		map[string]any{"refId": "B", "expr": "x", "interval": "15s", "maxDataPoints": 11000},
		map[string]any{"refId": "A", "expr": "x{", "interval": "15s", "maxDataPoints": 11000},
		map[string]any{"refId": "C", "expr": "x * on() x", "interval": "15s"},
	))
	if code != http.StatusBadRequest {
		t.Fatalf("status %d", code)
	}
	a, b, c := qdr.Responses["A"], qdr.Responses["B"], qdr.Responses["C"]
	if a.Status != 400 || a.ErrorSource != "downstream" || !strings.HasPrefix(a.Error.Error(), `bad_data: invalid parameter "query": `) {
		t.Errorf("A: %d %s %v", a.Status, a.ErrorSource, a.Error)
	}
	if len(a.Frames) != 1 || len(a.Frames[0].Fields) != 0 || a.Frames[0].Meta.ExecutedQueryString != "Expr: x{\nStep: 15s" {
		t.Errorf("A should carry one metadata frame: %+v", a.Frames)
	}
	if c.Status != 422 || !strings.HasPrefix(c.Error.Error(), "execution: ") {
		t.Errorf("C: %d %v", c.Status, c.Error)
	}
	if b.Error != nil || len(b.Frames) != 2 {
		t.Errorf("B: %v, %d frames", b.Error, len(b.Frames))
	}
	// refIds sorted; keys in Grafana's order.
	ia, ib := bytes.Index(body, []byte(`"A":{"error":"bad_data`)), bytes.Index(body, []byte(`"B":{"status":200,"frames":[`))
	ic := bytes.Index(body, []byte(`"C":{"error":"execution: `))
	if ia < 0 || ib < ia || ic < ib || !bytes.Contains(body, []byte(`"errorSource":"downstream","status":400,"frames":[`)) {
		t.Errorf("body layout: %s", body[:min(len(body), 600)])
	}
	if got := s.Counters(); got.Queries != 3 || got.FailedQueries != 2 || got.PromCalls != 3 {
		t.Errorf("counters %+v", got)
	}
}

func TestInstantAndRangeTogether(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	_, qdr, _ := query(t, s, dsq(t0, t0+600000, map[string]any{
		"expr": `x{instance="i2"}`, "instant": true, "range": true, "interval": "1m", "maxDataPoints": 11000,
	}))
	fs := qdr.Responses["A"].Frames
	if len(fs) != 2 || customOf(t, fs[0])["resultType"] != "vector" || customOf(t, fs[1])["resultType"] != "matrix" {
		t.Fatalf("want the instant frame then the range frame, got %d frames", len(fs))
	}
	for _, f := range fs {
		if f.Meta.ExecutedQueryString == "" || customOf(t, f)["calculatedMinStep"] != float64(60000) {
			t.Errorf("each part's first frame carries the metadata: %+v", f.Meta)
		}
	}
	if fs[0].Meta.Type != data.FrameTypeNumericMulti || frameSamples(t, qdr, "A", 0)[0] != (sample{t0 + 600000, 40}) {
		t.Errorf("instant part: %v %v", fs[0].Meta.Type, frameSamples(t, qdr, "A", 0))
	}
}

func TestEmptyResultAndNotices(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	_, qdr, _ := query(t, s, dsq(t0, t0+3600000,
		map[string]any{"expr": "nothing_here", "interval": "15s", "maxDataPoints": 11000},
		map[string]any{"expr": "rate(x[5m])", "interval": "15s", "maxDataPoints": 11000},
	))
	empty := qdr.Responses["A"].Frames
	if len(empty) != 1 || len(empty[0].Fields) != 0 || empty[0].Meta.ExecutedQueryString != "Expr: nothing_here\nStep: 15s" {
		t.Errorf("empty result: %+v", empty)
	}
	rate := qdr.Responses["B"].Frames
	if len(rate) != 2 || len(rate[1].Meta.Notices) != 1 || rate[1].Meta.Notices[0].Severity != data.NoticeSeverityInfo ||
		!strings.Contains(rate[1].Meta.Notices[0].Text, "might not be a counter") {
		t.Errorf("rate over a gauge should carry Prometheus's info on every frame: %+v", rate[1].Meta)
	}
	if rate[0].Fields[1].Name != "Value" || rate[0].Fields[1].Config.DisplayNameFromDS != `{instance="i1", job="x"}` {
		t.Errorf("a series without a name: %q %+v", rate[0].Fields[1].Name, rate[0].Fields[1].Config)
	}
}

func TestStaleMarkers(t *testing.T) {
	st := extract.Series{Labels: labels.FromStrings("__name__", "s"), Samples: []extract.Sample{
		{T: t0, V: 1}, {T: t0 + 15000, V: 2}, {T: t0 + 30000, V: math.Float64frombits(value.StaleNaN)},
	}}
	s, _ := newTestServer(t, Config{Series: []extract.Series{st}})
	_, qdr, _ := query(t, s, dsq(t0, t0+120000, map[string]any{"expr": "s", "interval": "15s"}))
	if got := frameSamples(t, qdr, "A", 0); !sameSamples(got, []sample{{t0, 1}, {t0 + 15000, 2}}) {
		t.Errorf("a series ends at its stale marker: %v", got)
	}
	_, qdr, _ = query(t, s, dsq(t0, t0+60000, map[string]any{"expr": "s", "instant": true}))
	if fs := qdr.Responses["A"].Frames; len(fs) != 1 || len(fs[0].Fields) != 0 {
		t.Errorf("after the marker an instant query finds nothing: %+v", fs)
	}
}

func TestIntercept(t *testing.T) {
	var (
		mu    sync.Mutex
		calls []PromCall
	)
	s, _ := newTestServer(t, Config{Intercept: func(c PromCall) *PromReply {
		mu.Lock()
		calls = append(calls, c)
		mu.Unlock()
		switch c.RefID {
		case "A":
			return &PromReply{Status: 422, Body: `{"status":"error","errorType":"execution","error":"the query exceeded the maximum number of series (limit: 1) (err-mimir-max-series-per-query)"}`}
		case "B":
			return &PromReply{Status: 429, Body: "too many outstanding requests"}
		}
		return nil
	}})
	code, qdr, _ := query(t, s, dsq(t0+1000, t0+3601000,
		map[string]any{"expr": "x", "interval": "1m"},
		map[string]any{"expr": "x", "interval": "1m"},
	))
	a, b := qdr.Responses["A"], qdr.Responses["B"]
	if code != 400 || a.Status != 422 || a.Error.Error() != "execution: the query exceeded the maximum number of series (limit: 1) (err-mimir-max-series-per-query)" {
		t.Errorf("A: %d %v", a.Status, a.Error)
	}
	if b.Status != 500 || b.ErrorSource != "downstream" || b.Error.Error() != "unexpected response with status code 429: too many outstanding requests" {
		t.Errorf("B: %d %s %v", b.Status, b.ErrorSource, b.Error)
	}
	if len(b.Frames) != 1 || b.Frames[0].Meta.Custom != nil || b.Frames[0].Meta.ExecutedQueryString == "" {
		t.Errorf("B frames: %+v", b.Frames[0].Meta)
	}
	for _, c := range calls {
		if c.Instant || c.Step != time.Minute || c.Start.UnixMilli() != t0 || c.End.UnixMilli() != t0+3600000 || c.Datasource != "grafanacloud-prom" {
			t.Errorf("call %+v", c)
		}
	}
}

func TestDatasourceResolution(t *testing.T) {
	s, _ := newTestServer(t, Config{Datasources: []Datasource{
		{ID: 1, UID: "prom", Name: "Prom", Type: "prometheus", URL: "http://prom"},
		{ID: 7, UID: "logs", Name: "Logs", Type: "loki", URL: "http://loki"},
	}})
	ok := map[string]any{"expr": "x", "interval": "1m"}
	cases := []struct {
		name     string
		ds       map[string]any
		wantCode int
		wantBody string
	}{
		{"uid", map[string]any{"datasource": map[string]any{"uid": "prom"}}, 200, ""},
		{"datasourceId", map[string]any{"datasource": nil, "datasourceId": 1}, 200, ""},
		{"unknown uid", map[string]any{"datasource": map[string]any{"uid": "nope"}}, 404, `{"message":"Data source not found"}`},
		{"unknown id", map[string]any{"datasource": nil, "datasourceId": 99}, 404, `{"message":"Data source not found"}`},
		{"no datasource", map[string]any{"datasource": nil}, 400,
			`{"message":"Query does not contain a valid data source identifier","messageId":"query.invalidDatasourceId","statusCode":400,"traceID":""}`},
		{"plugin not installed", map[string]any{"datasource": map[string]any{"uid": "logs"}}, 404,
			`{"message":"Plugin not registered","messageId":"plugin.notRegistered","statusCode":404,"traceID":""}`},
		// Found by the bare string, then refused by promlib's query model.
		{"bare string", map[string]any{"datasource": "prom"}, 400, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := map[string]any{}
			for k, v := range ok {
				q[k] = v
			}
			for k, v := range c.ds {
				q[k] = v
			}
			w := req{path: "/api/ds/query", body: dsq(t0, t0+3600000, q)}.do(t, s)
			if w.Code != c.wantCode {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if c.wantBody != "" && strings.TrimSpace(w.Body.String()) != c.wantBody {
				t.Errorf("body %s", w.Body)
			}
			if c.name == "bare string" && !strings.Contains(w.Body.String(),
				`"error":"json: cannot unmarshal string into Go struct field QueryModel.datasource of type v0alpha1.DataSourceRef","errorSource":"plugin","status":500}`) {
				t.Errorf("body %s", w.Body)
			}
		})
	}
}

func TestMixedDatasources(t *testing.T) {
	s, _ := newTestServer(t, Config{Datasources: []Datasource{
		{ID: 1, UID: "prom", Name: "Prom", Type: "prometheus"},
		{ID: 2, UID: "logs", Name: "Logs", Type: "loki"},
	}})
	code, qdr, _ := query(t, s, dsq(t0, t0+600000,
		map[string]any{"expr": "x", "interval": "1m", "datasource": map[string]any{"uid": "prom"}},
		map[string]any{"expr": `{job="x"}`, "datasource": map[string]any{"uid": "logs"}},
	))
	a, b := qdr.Responses["A"], qdr.Responses["B"]
	if code != 400 || a.Error != nil || len(a.Frames) != 2 || b.Error == nil || b.Status != 500 || b.Frames != nil {
		t.Errorf("status %d; A %v %d frames; B %v %d", code, a.Error, len(a.Frames), b.Error, b.Status)
	}
}

func TestRequestBodyErrors(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	for body, want := range map[string]string{
		`{"from":1,"to":"2","queries":[]}`:   `{"message":"bad request data"}`,
		`{"from":"1","to":"2","queries":[]}`: `{"message":"No queries found","messageId":"query.noQueries","statusCode":400,"traceID":""}`,
	} {
		w := req{path: "/api/ds/query", body: rawJSON(body)}.do(t, s)
		if w.Code != 400 || strings.TrimSpace(w.Body.String()) != want {
			t.Errorf("%s: %d %s", body, w.Code, w.Body)
		}
	}
}

// rawJSON is sent as is.
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }
