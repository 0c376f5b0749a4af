package grafana

import (
	"bytes"
	"net/url"
	"testing"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/grafana/frames"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simbench"
)

// BenchmarkDecodeProxy decodes the datasource proxy's answers (Prometheus's
// JSON) to the same queries over the same data as the /api/ds/query
// benchmarks (BenchmarkDecodeStream), so samples/s compare directly.
func BenchmarkDecodeProxy(b *testing.B) {
	series := simbench.Series(simbench.Replicas)
	from, to := simbench.T0, simbench.T0.Add(2*time.Hour)
	srv := sim.New(sim.Config{Series: series, Tokens: []string{simbench.Token}})
	body := func(endpoint string, form url.Values) []byte {
		return simbench.Post(b, srv, "/api/datasources/proxy/uid/grafanacloud-prom/api/v1/"+endpoint, "application/x-www-form-urlencoded", form.Encode())
	}
	raw := body("query", url.Values{"query": {`{__name__=~".+"}[7200001ms]`}, "time": {promTime(to.UnixMilli())}})
	step := body("query_range", url.Values{"query": {`{__name__=~".+"}`}, "start": {promTime(from.UnixMilli())},
		"end": {promTime(to.Add(-15 * time.Second).UnixMilli())}, "step": {"15"}})
	ds := simbench.DSQuery(b)
	for i, bb := range []simbench.Body{{Name: "raw", Body: raw}, {Name: "step", Body: step}} {
		var want sampleCounter
		if err := frames.Decode(bytes.NewReader(ds[i].Body), &want); err != nil {
			b.Fatal(err)
		}
		b.Run(bb.Name, func(b *testing.B) {
			decode := func() int {
				n := 0
				_, err := decodePromMatrix(bytes.NewReader(bb.Body), func(s extract.Series) error {
					n += len(s.Samples)
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				return n
			}
			if n := decode(); n != want.samples {
				b.Fatalf("%d samples, want %d as in the /api/ds/query answer %s", n, want.samples, ds[i].Name)
			}
			b.SetBytes(int64(len(bb.Body)))
			b.ReportAllocs()
			for b.Loop() {
				decode()
			}
			b.ReportMetric(float64(want.samples)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// sampleCounter is a frames.Handler that counts the samples of an
// /api/ds/query answer.
type sampleCounter struct{ samples int }

func (c *sampleCounter) Series(_ string, s extract.Series) error {
	c.samples += len(s.Samples)
	return nil
}

func (c *sampleCounter) Result(*frames.Result) error { return nil }
