package promjson_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/promjson"
	"github.com/promrecover/promrecover/internal/sim"
)

const benchToken = "glsa_bench_token"

var benchT0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// benchSeries is replicas copies of the demo data set over [benchT0,
// benchT0+2h), each from its own seed: the data of grafana's
// /api/ds/query benchmarks (BenchmarkDecodeStream), so samples/s compare
// directly.
func benchSeries(replicas int) []extract.Series {
	var out []extract.Series
	for r := range replicas {
		for _, s := range sim.DemoSeries(benchT0, benchT0.Add(2*time.Hour), int64(r+1)) {
			b := labels.NewBuilder(s.Labels)
			b.Set("replica", strconv.Itoa(r))
			out = append(out, extract.Series{Labels: b.Labels(), Samples: s.Samples})
		}
	}
	return out
}

func promTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// modelSamples counts the float samples of body as prometheus/common/model
// reads them: the reference the fast reader must agree with.
func modelSamples(tb testing.TB, body []byte) int {
	var ans struct {
		Data struct{ Result model.Matrix }
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, ss := range ans.Data.Result {
		n += len(ss.Values)
	}
	return n
}

// BenchmarkRead reads the datasource proxy's answers (Prometheus's JSON)
// to the queries grafana's /api/ds/query benchmarks ask, over the same data.
// (It was grafana's BenchmarkDecodeProxy.)
//
//	go test -run '^$' -bench BenchmarkRead ./format/promjson/
func BenchmarkRead(b *testing.B) {
	series := benchSeries(6)
	total := 0
	for _, s := range series {
		total += len(s.Samples)
	}
	from, to := benchT0, benchT0.Add(2*time.Hour)
	srv := sim.New(sim.Config{Series: series, Tokens: []string{benchToken}})
	body := func(endpoint string, form url.Values) []byte {
		r := httptest.NewRequest(http.MethodPost, "/api/datasources/proxy/uid/grafanacloud-prom/api/v1/"+endpoint, strings.NewReader(form.Encode()))
		r.Header.Set("Authorization", "Bearer "+benchToken)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			b.Fatalf("the server answered %d: %.300s", rec.Code, rec.Body.Bytes())
		}
		return rec.Body.Bytes()
	}
	raw := body("query", url.Values{"query": {`{__name__=~".+"}[7200001ms]`}, "time": {promTime(to)}})
	step := body("query_range", url.Values{"query": {`{__name__=~".+"}`}, "start": {promTime(from)},
		"end": {promTime(to.Add(-15 * time.Second))}, "step": {"15"}})
	for _, bb := range []struct {
		name    string
		body    []byte
		samples int
	}{{"raw", raw, total}, {"step", step, modelSamples(b, step)}} {
		b.Run(bb.name, func(b *testing.B) {
			read := func() int {
				n := 0
				_, err := promjson.Read(bytes.NewReader(bb.body), func(s extract.Series) error {
					n += len(s.Samples)
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				return n
			}
			if n := read(); n != bb.samples {
				b.Fatalf("%d samples, want %d", n, bb.samples)
			}
			b.SetBytes(int64(len(bb.body)))
			b.ReportAllocs()
			for b.Loop() {
				read()
			}
			b.ReportMetric(float64(bb.samples)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
