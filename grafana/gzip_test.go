package grafana

import (
	"context"
	"strings"
	"testing"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

func TestGzipAnswers(t *testing.T) {
	// Without the client's Accept-Encoding the server answers uncompressed,
	// as a Grafana without enable_gzip does.
	plainURL, _ := simtest.Start(t, sim.Config{Series: simData, Tokens: []string{token}},
		faults.On().Do(faults.DropHeader("Accept-Encoding")))
	plain := newTestClient(t, plainURL, Auth{Token: token})
	want, err := (&Source{Client: plain, Datasource: promDS}).Fetch(context.Background(), unit())
	if err != nil {
		t.Fatal(err)
	}
	if st := plain.Stats(); st.WireBytes != st.Bytes || st.Bytes == 0 {
		t.Fatalf("plain answers: wire %d, decoded %d bytes", st.WireBytes, st.Bytes)
	}

	// The built-in server compresses as Grafana Cloud does.
	url, _ := simtest.Start(t, sim.Config{Series: simData, Tokens: []string{token}})
	c := newTestClient(t, url, Auth{Token: token})
	got, err := (&Source{Client: c, Datasource: promDS}).Fetch(context.Background(), unit())
	if err != nil {
		t.Fatal(err)
	}
	if err := extract.Compare(want, got); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.WireBytes*3 > st.Bytes || st.Bytes != plain.Stats().Bytes {
		t.Errorf("wire %d bytes for %d decoded (plain: %d); the compressed answer should be far smaller", st.WireBytes, st.Bytes, plain.Stats().Bytes)
	}

	for _, corrupt := range []int{0, 1} {
		// The answers compressed by the middleware, the first corrupt ones
		// with a byte flipped inside the compressed stream.
		asked := faults.On(faults.Query).Keep()
		url, _ := simtest.Start(t, sim.Config{Series: simData, Tokens: []string{token}}, asked,
			faults.On(faults.Query).First(corrupt).Do(faults.Gzip(true)),
			faults.On(faults.Query).Do(faults.Gzip(false)))
		c := newTestClient(t, url, Auth{Token: token})
		got, err := (&Source{Client: c, Datasource: promDS}).Fetch(context.Background(), unit())
		if err != nil {
			t.Fatalf("corrupt %d: %v", corrupt, err)
		}
		if err := extract.Compare(want, got); err != nil {
			t.Fatalf("corrupt %d: %v", corrupt, err)
		}
		if h := asked.Headers(); len(h) == 0 || !strings.Contains(h[0].Get("Accept-Encoding"), "gzip") {
			t.Fatalf("the client did not ask for gzip: %q", h)
		}
		st := c.Stats()
		if st.Retries != int64(corrupt) {
			t.Errorf("corrupt %d: %d retries", corrupt, st.Retries)
		}
	}
}
