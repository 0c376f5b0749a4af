package sim

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

func lookupPath(uid, endpoint string, match []string, from, to int64) string {
	q := url.Values{}
	for _, m := range match {
		q.Add("match[]", m)
	}
	if from != 0 {
		q.Set("start", strconv.FormatFloat(float64(from)/1000, 'f', 3, 64))
	}
	if to != 0 {
		q.Set("end", strconv.FormatFloat(float64(to)/1000, 'f', 3, 64))
	}
	return "/api/datasources/uid/" + uid + "/resources/api/v1/" + endpoint + "?" + q.Encode()
}

func TestLabelLookups(t *testing.T) {
	series := append(testSeries(),
		everyStep(labels.FromStrings("__name__", "y", "job", "y", "zone", "a"), t0, t0+3600000, 15000),
		everyStep(labels.FromStrings("__name__", "late", "job", "y"), t0+3*3600000, t0+4*3600000, 15000),
	)
	s, _ := newTestServer(t, Config{Series: series})
	h := t0 + 3600000
	cases := []struct {
		name     string
		path     string
		header   map[string]string
		wantCode int
		wantBody string
	}{
		{"metric names in range", lookupPath("grafanacloud-prom", "label/__name__/values", []string{`{job=~".+"}`}, t0, h), nil, 200,
			`{"data":["x","y"],"status":"success"}`},
		{"a series with samples only later is left out", lookupPath("grafanacloud-prom", "label/__name__/values", []string{`{job="y"}`}, t0, h), nil, 200,
			`{"data":["y"],"status":"success"}`},
		{"the end is inclusive", lookupPath("grafanacloud-prom", "label/__name__/values", []string{`{job="y"}`}, t0, t0+3*3600000), nil, 200,
			`{"data":["late","y"],"status":"success"}`},
		{"values of a label", lookupPath("grafanacloud-prom", "label/instance/values", []string{`x`}, t0, h), nil, 200,
			`{"data":["i1","i2"],"status":"success"}`},
		{"several match[] are a union", lookupPath("grafanacloud-prom", "label/job/values", []string{`x`, `y`}, t0, h), nil, 200,
			`{"data":["x","y"],"status":"success"}`},
		{"no match[] is every series", lookupPath("grafanacloud-prom", "label/job/values", nil, 0, 0), nil, 200,
			`{"data":["x","y"],"status":"success"}`},
		{"nothing matches", lookupPath("grafanacloud-prom", "label/job/values", []string{`nope`}, t0, h), nil, 200,
			`{"data":[],"status":"success"}`},
		{"label names", lookupPath("grafanacloud-prom", "labels", []string{`{job="y"}`}, t0, h), nil, 200,
			`{"data":["__name__","job","zone"],"status":"success"}`},
		{"bad selector", lookupPath("grafanacloud-prom", "labels", []string{`{job=`}, t0, h), nil, 400, ""},
		{"bad time", "/api/datasources/uid/grafanacloud-prom/resources/api/v1/labels?start=soon", nil, 400,
			`{"error":"invalid parameter \"start\": cannot parse \"soon\" to a valid timestamp","errorType":"bad_data","status":"error"}`},
		{"unknown datasource", lookupPath("nope", "labels", []string{`x`}, t0, h), nil, 404, `{"message":"Data source not found"}`},
		{"no credentials", lookupPath("grafanacloud-prom", "labels", []string{`x`}, t0, h), map[string]string{"Authorization": ""}, 401, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := req{method: http.MethodGet, path: tc.path, header: tc.header}.do(t, s)
			if w.Code != tc.wantCode {
				t.Fatalf("HTTP %d %s; want %d", w.Code, w.Body.String(), tc.wantCode)
			}
			if tc.wantBody != "" && w.Body.String() != tc.wantBody+"\n" {
				t.Fatalf("body %s; want %s", w.Body.String(), tc.wantBody)
			}
			if tc.wantCode == 400 {
				if m := decodeMap(t, w.Body.Bytes()); m["status"] != "error" || m["errorType"] != "bad_data" {
					t.Fatalf("body %s", w.Body.String())
				}
			}
		})
	}
	if c := s.Counters(); c.LabelLookups != 10 {
		t.Errorf("label lookups counted %d, want the 10 that reached the datasource", c.LabelLookups)
	}
}

func TestLabelLookupIntercepted(t *testing.T) {
	var (
		mu    sync.Mutex
		calls []PromCall
	)
	s, _ := newTestServer(t, Config{Intercept: func(c PromCall) *PromReply {
		mu.Lock()
		calls = append(calls, c)
		mu.Unlock()
		if c.Path == "/api/v1/labels" {
			return &PromReply{Status: http.StatusForbidden, Body: `{"message":"Access denied"}`}
		}
		return nil
	}})
	w := req{method: http.MethodGet, path: lookupPath("grafanacloud-prom", "labels", []string{`x`}, t0, t0+60000)}.do(t, s)
	if w.Code != 403 || w.Body.String() != `{"message":"Access denied"}` {
		t.Fatalf("HTTP %d %s; want the interceptor's 403 unchanged", w.Code, w.Body.String())
	}
	w = req{method: http.MethodGet, path: lookupPath("grafanacloud-prom", "label/job/values", []string{`x`}, t0, t0+60000)}.do(t, s)
	if w.Code != 200 {
		t.Fatalf("HTTP %d %s", w.Code, w.Body.String())
	}
	query(t, s, dsq(t0, t0+60000, map[string]any{"expr": "x[1m]", "instant": true}, map[string]any{"expr": "x", "interval": "15s"}))
	var paths []string
	for _, c := range calls {
		paths = append(paths, c.Path)
	}
	slices.Sort(paths)
	want := []string{"/api/v1/label/job/values", "/api/v1/labels", "/api/v1/query", "/api/v1/query_range"}
	if !slices.Equal(paths, want) {
		t.Fatalf("paths %q; want %q", paths, want)
	}
	for _, c := range calls {
		if c.Path == "/api/v1/labels" && (!slices.Equal(c.Match, []string{"x"}) || c.Start.UnixMilli() != t0 || c.End.UnixMilli() != t0+60000 || c.Datasource != "grafanacloud-prom") {
			t.Errorf("lookup call %+v", c)
		}
	}
}

func TestMimirLimits(t *testing.T) {
	series := []extract.Series{
		everyStep(labels.FromStrings("__name__", "x", "instance", "i1"), t0, t0+3600000, 1000),
		everyStep(labels.FromStrings("__name__", "x", "instance", "i2"), t0, t0+3600000, 1000),
	}
	cases := []struct {
		name    string
		cfg     Config
		q       map[string]any
		wantErr string
	}{
		{"series over the limit", Config{MaxSeriesPerQuery: 1}, map[string]any{"expr": "x[10m]", "instant": true},
			"execution: expanding series: the query exceeded the maximum number of series (limit: 1 series) (err-mimir-max-series-per-query). To adjust the related per-tenant limit, configure -querier.max-fetched-series-per-query, or contact your service administrator."},
		{"series at the limit", Config{MaxSeriesPerQuery: 2}, map[string]any{"expr": "x[10m]", "instant": true}, ""},
		{"series over the limit, range query", Config{MaxSeriesPerQuery: 1}, map[string]any{"expr": "x", "interval": "1m"},
			"execution: expanding series: the query exceeded the maximum number of series (limit: 1 series) (err-mimir-max-series-per-query). To adjust the related per-tenant limit, configure -querier.max-fetched-series-per-query, or contact your service administrator."},
		{"one series is under the limit", Config{MaxSeriesPerQuery: 1}, map[string]any{"expr": `x{instance="i1"}[10m]`, "instant": true}, ""},
		{"samples over the limit", Config{MaxSamplesPerQuery: 1000}, map[string]any{"expr": "x[10m]", "instant": true},
			"execution: query processing would load too many samples into memory in query execution"},
		{"samples under the limit", Config{MaxSamplesPerQuery: 1200}, map[string]any{"expr": "x[10m]", "instant": true}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Series = series
			s, _ := newTestServer(t, tc.cfg)
			code, qdr, _ := query(t, s, dsq(t0+1800000, t0+2400000, tc.q))
			a := qdr.Responses["A"]
			if tc.wantErr == "" {
				if code != 200 || a.Error != nil || len(a.Frames) == 0 {
					t.Fatalf("HTTP %d, error %v", code, a.Error)
				}
				return
			}
			if code != 400 || a.Error == nil || a.Error.Error() != tc.wantErr || a.Status != 422 || a.ErrorSource != "downstream" {
				t.Fatalf("HTTP %d, status %d, source %s, error %v; want 422 %q", code, a.Status, a.ErrorSource, a.Error, tc.wantErr)
			}
		})
	}
}

func TestSeriesLookup(t *testing.T) {
	series := []extract.Series{
		everyStep(labels.FromStrings("__name__", "x", "instance", "i1", "job", "a"), t0, t0+3600000, 15000),
		everyStep(labels.FromStrings("__name__", "x", "instance", "i2", "job", "a"), t0, t0+3600000, 15000),
		everyStep(labels.FromStrings("__name__", "y", "job", "b"), t0, t0+3600000, 15000),
		everyStep(labels.FromStrings("__name__", "late", "job", "b"), t0+3*3600000, t0+4*3600000, 15000),
	}
	s, _ := newTestServer(t, Config{Series: series})
	h := t0 + 3600000
	cases := []struct {
		name     string
		path     string
		wantCode int
		wantBody string
	}{
		{"one selector", lookupPath("grafanacloud-prom", "series", []string{`x`}, t0, h), 200,
			`{"data":[{"__name__":"x","instance":"i1","job":"a"},{"__name__":"x","instance":"i2","job":"a"}],"status":"success"}`},
		{"several match[] are a union without repeats", lookupPath("grafanacloud-prom", "series", []string{`{instance="i1"}`, `x`, `{job="b"}`}, t0, h), 200,
			`{"data":[{"__name__":"x","instance":"i1","job":"a"},{"__name__":"x","instance":"i2","job":"a"},{"__name__":"y","job":"b"}],"status":"success"}`},
		{"only series with samples in range", lookupPath("grafanacloud-prom", "series", []string{`{job="b"}`}, t0+3*3600000, t0+4*3600000), 200,
			`{"data":[{"__name__":"late","job":"b"}],"status":"success"}`},
		{"nothing matches", lookupPath("grafanacloud-prom", "series", []string{`nope`}, t0, h), 200, `{"data":[],"status":"success"}`},
		{"match[] is required", lookupPath("grafanacloud-prom", "series", nil, t0, h), 400,
			`{"error":"no match[] parameter provided","errorType":"bad_data","status":"error"}`},
		{"bad selector", lookupPath("grafanacloud-prom", "series", []string{`{job=`}, t0, h), 400, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := req{method: http.MethodGet, path: tc.path}.do(t, s)
			if w.Code != tc.wantCode {
				t.Fatalf("HTTP %d %s; want %d", w.Code, w.Body.String(), tc.wantCode)
			}
			if tc.wantBody != "" && w.Body.String() != tc.wantBody+"\n" {
				t.Fatalf("body %s; want %s", w.Body.String(), tc.wantBody)
			}
		})
	}
}
