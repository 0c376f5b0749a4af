package promjson_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/promjson"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

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
func BenchmarkRead(b *testing.B) { benchRead(b, 0) }

// BenchmarkReadBounded is BenchmarkRead with the bound the datasource
// proxy's source sets (a 2h raw window's milliseconds), which every sample
// is checked against.
func BenchmarkReadBounded(b *testing.B) { benchRead(b, 7_200_001) }

func benchRead(b *testing.B, maxPoints int) {
	series := gen.Replicas(simtest.BodyReplicas)
	total := 0
	for _, s := range series {
		total += len(s.Samples)
	}
	from, to := gen.ReplicasT0, gen.ReplicasT0.Add(2*time.Hour)
	srv := sim.New(sim.Config{Series: series, Tokens: []string{simtest.Token}})
	body := func(endpoint string, form url.Values) []byte {
		return simtest.Post(b, srv, "/api/datasources/proxy/uid/grafanacloud-prom/api/v1/"+endpoint, "application/x-www-form-urlencoded", form.Encode())
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
				_, err := promjson.ReadBounded(bytes.NewReader(bb.body), maxPoints, func(s extract.Series) error {
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
