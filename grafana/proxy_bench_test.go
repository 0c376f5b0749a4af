package grafana

import (
	"bytes"
	"net/url"
	"testing"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/sim"
)

// BenchmarkDecodeProxy decodes the datasource proxy's answers (Prometheus's
// JSON) to the same queries over the same data as the /api/ds/query
// benchmarks (BenchmarkDecodeStream), so samples/s compare directly.
func BenchmarkDecodeProxy(b *testing.B) {
	series := benchSeries(6)
	from, to := benchT0, benchT0.Add(2*time.Hour)
	srv := sim.New(sim.Config{Series: series, Tokens: []string{token}})
	body := func(endpoint string, form url.Values) []byte {
		return simPost(b, srv, "/api/datasources/proxy/uid/grafanacloud-prom/api/v1/"+endpoint, "application/x-www-form-urlencoded", form.Encode())
	}
	raw := body("query", url.Values{"query": {`{__name__=~".+"}[7200001ms]`}, "time": {promTime(to.UnixMilli())}})
	step := body("query_range", url.Values{"query": {`{__name__=~".+"}`}, "start": {promTime(from.UnixMilli())},
		"end": {promTime(to.Add(-15 * time.Second).UnixMilli())}, "step": {"15"}})
	ds := bodies(b)
	for i, bb := range []benchBody{{name: "raw", body: raw, samples: ds[0].samples}, {name: "step", body: step, samples: ds[1].samples}} {
		b.Run(bb.name, func(b *testing.B) {
			decode := func() int {
				n := 0
				_, err := decodePromMatrix(bytes.NewReader(bb.body), func(s extract.Series) error {
					n += len(s.Samples)
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				return n
			}
			if n := decode(); n != bb.samples {
				b.Fatalf("%d samples, want %d as in the /api/ds/query answer %s", n, bb.samples, ds[i].name)
			}
			b.SetBytes(int64(len(bb.body)))
			b.ReportAllocs()
			for b.Loop() {
				decode()
			}
			b.ReportMetric(float64(bb.samples)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
