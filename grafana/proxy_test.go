package grafana

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/split"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/seriestest"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// pxData is the proxy tests' data set: the demo series, the native
// histogram series, and one gauge whose values are every float Prometheus
// prints specially (NaN, ±Inf, the smallest and largest, negative zero is
// printed as -0 and parsed back as such).
var pxData = func() []extract.Series {
	out := slices.Clone(simData)
	out = append(out, gen.NativeHistogramSeries(simStart, simStart.Add(4*time.Hour), 1)...)
	odd := extract.Series{Labels: labels.FromStrings("__name__", "odd_values", "job", "x")}
	for i, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.SmallestNonzeroFloat64, math.MaxFloat64, 1e-7, 0.1, -2.5e21, math.Copysign(0, -1)} {
		odd.Samples = append(odd.Samples, extract.Sample{T: simStart.UnixMilli() + int64(i)*15000 + 7, V: v})
	}
	return append(out, odd)
}()

func TestProxyFetch(t *testing.T) {
	srcUnit := unit()
	cases := []struct {
		name      string
		v2        bool
		step      time.Duration
		auth      func(*sim.Server) Auth
		rotations int64
	}{
		{"raw, Prometheus 3 range ends, token", false, 0, func(*sim.Server) Auth { return Auth{Token: token} }, 0},
		{"raw, Prometheus 2 range ends, a session due for rotation", true, 0, func(s *sim.Server) Auth {
			c := s.Login("admin")
			s.AgeSessions(11 * time.Minute)
			return Auth{Session: c}
		}, 1},
		{"15s steps, basic auth", false, 15 * time.Second, func(*sim.Server) Auth { return Auth{User: "admin", Password: password} }, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr, srv := simtest.Start(t, sim.Config{Series: pxData, Tokens: []string{token}, Users: map[string]string{"admin": password}, PrometheusV2: tc.v2})
			src := &Source{Client: newTestClient(t, addr, tc.auth(srv)), Datasource: promDS, Via: Proxy}
			u := srcUnit
			u.Step = tc.step
			got, err := src.Fetch(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				got[i].Normalize(u.From, u.To)
			}
			want := seriestest.ClipAll(pxData, u.From, u.To)
			if tc.step > 0 {
				want = seriestest.Stepped(pxData, u.From, u.To, tc.step)
			}
			if err := seriestest.CompareAll(want, got); err != nil {
				t.Fatal(err)
			}
			c := srv.Counters()
			if c.ProxyQueries != 1 || c.DSQueries != 0 {
				t.Errorf("want one proxy query and no /api/ds/query, got %+v", c)
			}
			if c.Rotations != tc.rotations || src.Client.Stats().Rotations != tc.rotations {
				t.Errorf("%d rotations on the server, %d by the client, want %d", c.Rotations, src.Client.Stats().Rotations, tc.rotations)
			}
		})
	}
}

// TestProxyStepsMatchDSQuery: in step mode both transports ask Prometheus
// the same steps, so their float answers are the same.
func TestProxyStepsMatchDSQuery(t *testing.T) {
	addr, _ := simtest.Start(t, sim.Config{Series: simData, Tokens: []string{token}})
	u := unit()
	u.From += 7001 // an unaligned start
	u.Step = 30 * time.Second
	var answers [2][]extract.Series
	for i, via := range []Transport{DSQuery, Proxy} {
		src := &Source{Client: newTestClient(t, addr, Auth{Token: token}), Datasource: promDS, Via: via}
		got, err := src.Fetch(context.Background(), u)
		if err != nil {
			t.Fatalf("%s: %v", via, err)
		}
		answers[i] = got
	}
	if len(answers[0]) == 0 {
		t.Fatal("no data")
	}
	if err := extract.Compare(answers[0], answers[1]); err != nil {
		t.Fatal(err)
	}
}

// TestProxyErrorsClassified: an error answer through the proxy is judged
// exactly as the same answer is over /api/ds/query.
func TestProxyErrorsClassified(t *testing.T) {
	cases := []struct {
		name   string
		reply  sim.PromReply
		check  func(error) bool
		kind   split.Kind
		status int // what the proxy answered
	}{
		{"over a Mimir limit: too big, split by series",
			sim.PromReply{Status: 422, Body: `{"status":"error","errorType":"execution","error":"the query exceeded the maximum number of series (limit: 10 series) (err-mimir-max-series-per-query)"}`},
			func(err error) bool { var tb *tooBigError; return errors.As(err, &tb) }, split.SeriesOnly, 422},
		{"over 11,000 points: too big, split by time",
			sim.PromReply{Status: 400, Body: `{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"}`},
			func(err error) bool { var tb *tooBigError; return errors.As(err, &tb) }, split.TimeFirst, 400},
		{"Prometheus timed out: retried, then split as slow",
			sim.PromReply{Status: 503, Body: `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`},
			func(err error) bool { var rq *retryQuery; return errors.As(err, &rq) }, split.Slow, 503},
		{"the datasource refused Grafana: abort",
			sim.PromReply{Status: 401, Body: `{"status":"error","errorType":"unauthorized","error":"bad token"}`},
			func(err error) bool {
				var ae *extract.AbortError
				return errors.As(err, &ae) && strings.Contains(err.Error(), "datasource refused Grafana's credentials")
			}, split.NoSplit, 400},
		{"a bad query: permanent, not split",
			sim.PromReply{Status: 400, Body: `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": parse error"}`},
			func(err error) bool {
				var rq *retryQuery
				var ae *extract.AbortError
				return !errors.As(err, &rq) && !errors.As(err, &ae)
			}, split.NoSplit, 400},
		{"too many requests: retried by the client",
			sim.PromReply{Status: 429, Body: "too many outstanding requests"},
			func(err error) bool { var se *StatusError; return errors.As(err, &se) && se.Status == 429 }, split.NoSplit, 429},
		// Grafana's data proxy answers 504 with no body when Prometheus
		// sends no headers within [dataproxy] timeout (pkg/util/proxyutil,
		// errorHandler).
		{"the data proxy timed out: retried by the client, then split as slow",
			sim.PromReply{Status: 504},
			func(err error) bool { var se *StatusError; return errors.As(err, &se) && se.Status == 504 }, split.Slow, 504},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url, _ := simtest.Start(t, sim.Config{Series: simData, Tokens: []string{token}, Intercept: func(sim.PromCall) *sim.PromReply {
				r := tc.reply
				return &r
			}})
			src := &Source{Client: newTestClient(t, url, Auth{Token: token}), Datasource: promDS, Via: Proxy}
			err := src.stream(context.Background(), unit(), func([]extract.Series) error { return nil })
			if err == nil || !tc.check(err) {
				t.Fatalf("error %v (%T) is not classified as expected", err, err)
			}
			if k := splitKindOf(context.Background(), err); k != tc.kind {
				t.Errorf("split kind %d, want %d (err %v)", k, tc.kind, err)
			}
			if strings.Contains(err.Error(), token) {
				t.Error("the error holds the token")
			}
			// The same Prometheus answer over /api/ds/query.
			ds := &Source{Client: newTestClient(t, url, Auth{Token: token}), Datasource: promDS}
			dserr := ds.stream(context.Background(), unit(), func([]extract.Series) error { return nil })
			// A status Prometheus does not fill with its JSON reaches
			// /api/ds/query as a refId's "unexpected response", not as an
			// HTTP status of Grafana's own.
			if tc.status != 429 && tc.status != 504 && (dserr == nil || !tc.check(dserr) || splitKindOf(context.Background(), dserr) != tc.kind) {
				t.Errorf("over /api/ds/query the same answer is judged otherwise: %v", dserr)
			}
		})
	}
}

// TestProxySplitsTooBig: a unit over Mimir's series limit is split by the
// same splitter as over /api/ds/query, one proxy query a part, and comes
// back whole.
func TestProxySplitsTooBig(t *testing.T) {
	addr, srv := simtest.Start(t, sim.Config{Series: pxData, Tokens: []string{token}, MaxSeriesPerQuery: 60})
	src := &Source{Client: newTestClient(t, addr, Auth{Token: token}), Datasource: promDS, Via: Proxy}
	u := unit()
	got, err := src.Fetch(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i].Normalize(u.From, u.To)
	}
	if err := seriestest.CompareAll(seriestest.ClipAll(pxData, u.From, u.To), got); err != nil {
		t.Fatal(err)
	}
	c := srv.Counters()
	if c.ProxyQueries < 3 || c.DSQueries != 0 {
		t.Errorf("want the unit split into several proxy queries and no /api/ds/query, got %+v", c)
	}
}

// TestProxyPOSTAllowList: Grafana allows POST on the proxy only for the
// Prometheus plugin's routes; label values must be read with GET.
func TestProxyPOSTAllowList(t *testing.T) {
	addr, _ := simtest.Start(t, sim.Config{Series: simData, Tokens: []string{token}})
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		// An allowed POST without parameters reaches Prometheus, which
		// answers 400 bad_data.
		{"POST", "query", 400}, {"POST", "query_range", 400}, {"POST", "series", 400}, {"POST", "labels", 200},
		{"POST", "label/job/values", 403}, {"GET", "label/job/values", 200}, {"GET", "labels", 200},
	} {
		req, _ := http.NewRequest(tc.method, addr+"/api/datasources/proxy/uid/grafanacloud-prom/api/v1/"+tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: HTTP %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
		}
	}
}

// TestDSQueryRefusesNativeHistograms: over /api/ds/query native histograms
// come as heatmap cells without count and sum; the unit fails, naming the
// series and pointing at --via proxy, and nothing of it is returned.
func TestDSQueryRefusesNativeHistograms(t *testing.T) {
	addr, _ := simtest.Start(t, sim.Config{Series: pxData, Tokens: []string{token}})
	for _, step := range []time.Duration{0, 15 * time.Second} {
		src := &Source{Client: newTestClient(t, addr, Auth{Token: token}), Datasource: promDS}
		u := unit()
		u.Step = step
		u.Selector = `{job=~"api|node"}`
		_, err := src.Fetch(context.Background(), u)
		if err == nil {
			t.Fatalf("step %s: native histograms over /api/ds/query were accepted", step)
		}
		for _, want := range []string{`"heatmap-cells"`, `http_request_duration_seconds`, `clock_skew_seconds`, "through the datasource proxy"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("step %s: the error does not say %s: %v", step, want, err)
			}
		}
		if !strings.HasSuffix(err.Error(), "recover them through the datasource proxy") {
			t.Errorf("step %s: the error does not end with the hint: %v", step, err)
		}
	}
}

// TestDecodePromMatrix: Prometheus's text is read exactly, and a body that
// breaks off is a syntax error, which the client may retry, while a
// well-formed answer that says something impossible is not.
func TestDecodePromMatrix(t *testing.T) {
	const ok = `{"status":"success","data":{"resultType":"matrix","result":[` +
		`{"metric":{"job":"x","__name__":"a"},"values":[[1754186400.001,"NaN"],[1754186400.999,"+Inf"],[1754186401,"-Inf"],[-1.5,"5e-324"],[0.1,"1.7976931348623157e+308"],[1754186402.01,"-0"]]},` +
		`{"metric":{},"values":[[1754186400.5,"0.30000000000000004"]]}]},"warnings":["w1"],"infos":["i1"]}`
	cases := []struct {
		name  string
		body  string
		want  []extract.Series
		notes []string
		retry bool // the error is one a retry may mend
		err   string
		max   int // points a series may hold; 0: no bound
	}{
		{name: "exact values and timestamps", body: ok, notes: []string{"w1", "i1"}, want: []extract.Series{
			{Labels: labels.FromStrings("__name__", "a", "job", "x"), Samples: []extract.Sample{
				{T: 1754186400001, V: math.NaN()}, {T: 1754186400999, V: math.Inf(1)}, {T: 1754186401000, V: math.Inf(-1)},
				{T: -1500, V: 5e-324}, {T: 100, V: math.MaxFloat64}, {T: 1754186402010, V: math.Copysign(0, -1)}}},
			{Labels: labels.EmptyLabels(), Samples: []extract.Sample{{T: 1754186400500, V: 0.30000000000000004}}},
		}},
		{name: "series at the bound", body: ok, max: 6, notes: []string{"w1", "i1"}, want: []extract.Series{
			{Labels: labels.FromStrings("__name__", "a", "job", "x"), Samples: []extract.Sample{
				{T: 1754186400001, V: math.NaN()}, {T: 1754186400999, V: math.Inf(1)}, {T: 1754186401000, V: math.Inf(-1)},
				{T: -1500, V: 5e-324}, {T: 100, V: math.MaxFloat64}, {T: 1754186402010, V: math.Copysign(0, -1)}}},
			{Labels: labels.EmptyLabels(), Samples: []extract.Sample{{T: 1754186400500, V: 0.30000000000000004}}},
		}},
		{name: "a series past the bound", body: ok, max: 5, err: "more than 5 rows, the most a series of this query can have"},
		{name: "histograms count towards the bound", max: 2, err: "more than 2 rows",
			body: `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]],"histograms":[[2,{"count":"1","sum":"1","buckets":[[0,"-1","1","1"]]}],[3,{"count":"1","sum":"1","buckets":[[0,"-1","1","1"]]}]]}]}}`},
		{name: "cut short", body: ok[:150], retry: true, err: "(at byte 150)"},
		{name: "not JSON", body: "<html>bad gateway</html>", retry: true},
		{name: "a vector", body: `{"status":"success","data":{"resultType":"vector","result":[]}}`, err: `result of type "vector"`},
		{name: "an error in a 2xx answer", body: `{"status":"error","errorType":"x","error":"y"}`, err: `status "error"`},
		{name: "a value that is no number", body: `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"one"]]}]}}`, err: `sample value "one"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []extract.Series
			keep := split.Collect(&got)
			notes, err := decodePromMatrix(strings.NewReader(tc.body), tc.max, func(s extract.Series) error { return keep([]extract.Series{s}) })
			if tc.want != nil {
				if err != nil {
					t.Fatal(err)
				}
				if err := extract.Compare(tc.want, got); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(notes, tc.notes) {
					t.Errorf("notes %q, want %q", notes, tc.notes)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one saying %q", err, tc.err)
			}
			var rq *retryQuery
			if errors.As(decodeFailure(err), &rq) != tc.retry {
				t.Errorf("retryable: %v, want %v (%v)", !tc.retry, tc.retry, err)
			}
		})
	}
}

// TestProxyBatch: the proxy has no refIds to batch; a batch is asked one
// unit a request.
func TestProxyBatch(t *testing.T) {
	addr, srv := simtest.Start(t, sim.Config{Series: pxData, Tokens: []string{token}})
	src := &Source{Client: newTestClient(t, addr, Auth{Token: token}), Datasource: promDS, Via: Proxy}
	if n := src.MaxBatch(); n != 1 {
		t.Fatalf("MaxBatch %d, want 1", n)
	}
	units := []extract.Unit{unit(), unit()}
	units[0].Selector, units[1].Selector = "http_request_duration_seconds", "odd_values"
	got := make([][]extract.Series, len(units))
	keep := []func([]extract.Series) error{split.Collect(&got[0]), split.Collect(&got[1])}
	for _, err := range src.StreamBatch(context.Background(), units, func(i int, ss []extract.Series) error { return keep[i](ss) }) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(got[0]) != 2 || len(got[0][0].Histograms) == 0 || len(got[1]) != 1 || len(got[1][0].Samples) == 0 {
		t.Fatalf("got %d and %d series", len(got[0]), len(got[1]))
	}
	if c := srv.Counters(); c.ProxyQueries != 2 {
		t.Errorf("%d proxy queries, want 2", c.ProxyQueries)
	}
}

// TestProxyRefusedCredentials: Grafana's own 401 through the proxy is not
// the datasource's (that one is rewritten to 400): the run stops, saying
// which credentials, and the secret stays out of the error.
func TestProxyRefusedCredentials(t *testing.T) {
	addr, _ := simtest.Start(t, sim.Config{Series: simData, Tokens: []string{token}})
	src := &Source{Client: newTestClient(t, addr, Auth{Token: "glsa_wrong_" + token}), Datasource: promDS, Via: Proxy}
	_, err := src.Fetch(context.Background(), unit())
	var ae *extract.AbortError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "Grafana refused the token") {
		t.Fatalf("error %v, want an abort saying the token was refused", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Error("the error holds the token")
	}
}

// TestProxyLookups: the label and series lookups answer through the proxy
// too, with GET or with a POSTed form, from the same data.
func TestProxyLookups(t *testing.T) {
	addr, _ := simtest.Start(t, sim.Config{Series: pxData, Tokens: []string{token}})
	q := url.Values{"match[]": {`{job="node"}`}, "start": {promTime(simStart.UnixMilli())}, "end": {promTime(simStart.Add(time.Hour).UnixMilli())}}
	for _, tc := range []struct {
		method, path, want string
	}{
		{"GET", "label/__name__/values", `"clock_skew_seconds"`},
		{"POST", "labels", `"cpu"`},
		{"POST", "series", `"mode":"idle"`},
		{"GET", "series", `"__name__":"clock_skew_seconds"`},
	} {
		var req *http.Request
		if tc.method == "GET" {
			req, _ = http.NewRequest("GET", addr+"/api/datasources/proxy/uid/grafanacloud-prom/api/v1/"+tc.path+"?"+q.Encode(), nil)
		} else {
			req, _ = http.NewRequest("POST", addr+"/api/datasources/proxy/uid/grafanacloud-prom/api/v1/"+tc.path, strings.NewReader(q.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), tc.want) || !strings.Contains(string(body), `"status":"success"`) {
			t.Errorf("%s %s: HTTP %d %.300s, want %s", tc.method, tc.path, resp.StatusCode, body, tc.want)
		}
	}
}
