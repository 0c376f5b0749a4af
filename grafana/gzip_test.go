package grafana

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/sim"
)

// plainOnly hides the client's Accept-Encoding from the server, which then
// answers uncompressed, as a Grafana without enable_gzip does.
type plainOnly struct{ next http.Handler }

func (p plainOnly) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Header.Del("Accept-Encoding")
	p.next.ServeHTTP(w, r)
}

// gzipper compresses /api/ds/query answers itself and flips a byte inside
// the compressed stream of the first corrupt answers.
type gzipper struct {
	next    http.Handler
	asked   []string
	corrupt int
}

func (g *gzipper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/ds/query" {
		g.next.ServeHTTP(w, r)
		return
	}
	g.asked = append(g.asked, r.Header.Get("Accept-Encoding"))
	r.Header.Del("Accept-Encoding")
	rec := httptest.NewRecorder()
	g.next.ServeHTTP(rec, r)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(rec.Body.Bytes())
	zw.Close()
	body := buf.Bytes()
	if g.corrupt > 0 {
		g.corrupt--
		body[len(body)/2] ^= 0xff
	}
	w.Header().Set("Content-Encoding", "gzip")
	w.WriteHeader(rec.Code)
	w.Write(body)
}

func TestGzipAnswers(t *testing.T) {
	plainSrv := httptest.NewServer(plainOnly{sim.New(sim.Config{Series: simData, Tokens: []string{token}})})
	defer plainSrv.Close()
	plain := newTestClient(t, plainSrv.URL, Auth{Token: token})
	want, err := (&Source{Client: plain, Datasource: promDS}).Fetch(context.Background(), unit())
	if err != nil {
		t.Fatal(err)
	}
	if st := plain.Stats(); st.WireBytes != st.Bytes || st.Bytes == 0 {
		t.Fatalf("plain answers: wire %d, decoded %d bytes", st.WireBytes, st.Bytes)
	}

	// The built-in server compresses as Grafana Cloud does.
	simSrv := httptest.NewServer(sim.New(sim.Config{Series: simData, Tokens: []string{token}}))
	defer simSrv.Close()
	c := newTestClient(t, simSrv.URL, Auth{Token: token})
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
		g := &gzipper{next: sim.New(sim.Config{Series: simData, Tokens: []string{token}}), corrupt: corrupt}
		hs := httptest.NewServer(g)
		c := newTestClient(t, hs.URL, Auth{Token: token})
		got, err := (&Source{Client: c, Datasource: promDS}).Fetch(context.Background(), unit())
		hs.Close()
		if err != nil {
			t.Fatalf("corrupt %d: %v", corrupt, err)
		}
		if err := extract.Compare(want, got); err != nil {
			t.Fatalf("corrupt %d: %v", corrupt, err)
		}
		if len(g.asked) == 0 || !strings.Contains(g.asked[0], "gzip") {
			t.Fatalf("the client did not ask for gzip: %q", g.asked)
		}
		st := c.Stats()
		if st.Retries != int64(corrupt) {
			t.Errorf("corrupt %d: %d retries", corrupt, st.Retries)
		}
	}
}
