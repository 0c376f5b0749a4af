package faults

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestWrap sends five requests through the rules and checks which status
// each got: 200 from the server, or the fault's.
func TestWrap(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	teapot := Status(http.StatusTeapot)
	cases := []struct {
		name  string
		rules func() []*Rule
		paths []string // path?body of each request
		want  []int
	}{
		{"every query", func() []*Rule { return []*Rule{On(Query).Do(teapot)} },
			[]string{"/api/ds/query", "/api/health", "/api/ds/query"}, []int{418, 200, 418}},
		{"the first two", func() []*Rule { return []*Rule{On(Query).First(2).Do(teapot)} },
			[]string{"/api/ds/query", "/api/ds/query", "/api/ds/query"}, []int{418, 418, 200}},
		{"none of zero", func() []*Rule { return []*Rule{On(Query).First(0).Do(teapot)} },
			[]string{"/api/ds/query"}, []int{200}},
		{"after one", func() []*Rule { return []*Rule{On(Query).After(1).Do(teapot)} },
			[]string{"/api/ds/query", "/api/ds/query", "/api/ds/query"}, []int{200, 418, 418}},
		{"the second only", func() []*Rule { return []*Rule{On(Query).After(1).First(1).Do(teapot)} },
			[]string{"/api/ds/query", "/api/ds/query", "/api/ds/query"}, []int{200, 418, 200}},
		{"by body", func() []*Rule { return []*Rule{On(Query, BodyContains(`"to":"7"`)).Do(teapot)} },
			[]string{"/api/ds/query?{\"to\":\"7\"}", "/api/ds/query?{\"to\":\"8\"}"}, []int{418, 200}},
		{"by path part", func() []*Rule {
			return []*Rule{On(PathPrefix("/api/datasources/"), PathContains("/resources/")).Do(teapot)}
		},
			[]string{"/api/datasources/uid/x/resources/api/v1/labels", "/api/datasources/proxy/uid/x/api/v1/query"}, []int{418, 200}},
		{"the first rule that applies", func() []*Rule {
			return []*Rule{On(Query).First(1).Do(Status(http.StatusBadGateway)), On(Query).Do(teapot)}
		}, []string{"/api/ds/query", "/api/ds/query"}, []int{502, 418}},
		{"stopped", func() []*Rule {
			r := On(Query).Do(teapot)
			return []*Rule{r, On(Query).Then(1, r.Stop)}
		}, []string{"/api/ds/query", "/api/ds/query"}, []int{418, 200}},
		{"counting only", func() []*Rule { return []*Rule{On(Query)} },
			[]string{"/api/ds/query"}, []int{200}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rules := tc.rules()
			h := Wrap(ok, rules...)
			var got []int
			for _, p := range tc.paths {
				path, body, _ := strings.Cut(p, "?")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
				got = append(got, rec.Code)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("statuses %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRuleRecords checks what a rule keeps of the requests it matches, and
// that the server still reads the body.
func TestRuleRecords(t *testing.T) {
	var served []string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		served = append(served, string(b))
	})
	q := On(Query).Keep()
	h := Wrap(next, q)
	for _, body := range []string{`{"a":1}`, `{"b":2}`} {
		r := httptest.NewRequest(http.MethodPost, "/api/ds/query", strings.NewReader(body))
		r.Header.Set("Accept-Encoding", "gzip")
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/health", nil))
	if q.Count() != 2 || len(q.Arrivals()) != 2 {
		t.Fatalf("count %d, arrivals %d; want the 2 queries", q.Count(), len(q.Arrivals()))
	}
	if b := q.Bodies(); string(b[0]) != `{"a":1}` || string(b[1]) != `{"b":2}` {
		t.Errorf("bodies %q", b)
	}
	if hd := q.Headers(); hd[1].Get("Accept-Encoding") != "gzip" {
		t.Errorf("headers %v", hd)
	}
	if !slices.Equal(served, []string{`{"a":1}`, `{"b":2}`, ""}) {
		t.Errorf("the server read %q", served)
	}
}

// TestAddQuery checks the request the server gets: the first query copied
// under the new refId and expression, the rest kept.
func TestAddQuery(t *testing.T) {
	var got string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = string(b)
	})
	h := Wrap(next, On(Query).Do(AddQuery("B", "up[")))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/api/ds/query",
		strings.NewReader(`{"from":"1","queries":[{"refId":"A","expr":"up","instant":true}],"to":"2"}`)))
	want := `{"from":"1","queries":[{"expr":"up","instant":true,"refId":"A"},{"expr":"up[","instant":true,"refId":"B"}],"to":"2"}`
	if got != want {
		t.Errorf("the server got\n%s\nwant\n%s", got, want)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/ds/query", strings.NewReader(`not json`)))
	if rec.Code != http.StatusTeapot {
		t.Errorf("an unreadable request: %d", rec.Code)
	}
}

// TestRedirect: the Location a redirect carries, with and without the
// request's path and query, for each request alike.
func TestRedirect(t *testing.T) {
	for _, c := range []struct {
		keepURI bool
		want    []string
	}{
		{true, []string{"https://grafana.example.com/api/health", "https://grafana.example.com/api/ds/query?x=1"}},
		{false, []string{"https://sso.example.com/login", "https://sso.example.com/login"}},
	} {
		to := "https://grafana.example.com"
		if !c.keepURI {
			to = "https://sso.example.com/login"
		}
		h := Wrap(http.NotFoundHandler(), On().Do(Redirect(http.StatusFound, to, c.keepURI)))
		for i, path := range []string{"/api/health", "/api/ds/query?x=1"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != http.StatusFound || rec.Header().Get("Location") != c.want[i] {
				t.Errorf("%s (keep %v): %d to %q, want 302 to %q", path, c.keepURI, rec.Code, rec.Header().Get("Location"), c.want[i])
			}
		}
	}
}

// TestEcho: the body quotes every request header, credentials included.
func TestEcho(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/api/ds/query", nil)
	req.Header.Set("Authorization", "Bearer glsa_x")
	req.Header.Set("Cookie", "grafana_session=abc")
	Wrap(http.NotFoundHandler(), On().Do(Echo(http.StatusBadGateway))).ServeHTTP(rec, req)
	body := rec.Body.String()
	if rec.Code != http.StatusBadGateway || !strings.Contains(body, "Authorization: Bearer glsa_x\n") || !strings.Contains(body, "Cookie: grafana_session=abc\n") {
		t.Errorf("%d %q", rec.Code, body)
	}
}

// TestDrip: the body comes a byte at a time until the client leaves.
func TestDrip(t *testing.T) {
	srv := httptest.NewServer(Wrap(http.NotFoundHandler(), On().Do(Drip(time.Millisecond))))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 12)
	if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != `{"results":{` {
		t.Errorf("read %q, %v", got, err)
	}
	resp.Body.Close()
}

func TestDrop(t *testing.T) {
	const prom = `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[1.5,"1"],[3,"2"]]},{"metric":{"a":"2"},"values":[[1.5,"3"]]}]}}`
	const frames = `{"results":{"A":{"status":200,"frames":[{"schema":{"fields":[]},"data":{"values":[[1500,3000],[1,2]]}},{"schema":{"fields":[]},"data":{"values":[[1500],[3]]}}]}}}`
	for _, tc := range []struct {
		name, body string
		loss       Loss
		want       string
	}{
		{"prometheus tail", prom, Tail, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[1.5,"1"]]},{"metric":{"a":"2"},"values":[[1.5,"3"]]}]}}`},
		{"prometheus whole", prom, Whole, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"2"},"values":[[1.5,"3"]]}]}}`},
		{"frames tail", frames, Tail, `{"results":{"A":{"frames":[{"data":{"values":[[1500],[1]]},"schema":{"fields":[]}},{"data":{"values":[[1500],[3]]},"schema":{"fields":[]}}],"status":200}}}`},
		{"frames whole", frames, Whole, `{"results":{"A":{"frames":[{"data":{"values":[[1500],[3]]},"schema":{"fields":[]}}],"status":200}}}`},
		{"frames tail with an Inf", `{"results":{"A":{"frames":[{"data":{"values":[[1,2,3],[0,null,null]],"entities":[null,{"Inf":[1,2]}]}}]}}}`, Tail,
			`{"results":{"A":{"frames":[{"data":{"entities":[null,{"Inf":[1]}],"values":[[1,2],[0,null]]}}]}}}`},
		{"a vector", `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"0"]}]}}`, Whole,
			`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"0"]}]}}`},
		{"not JSON", "oops", Whole, "oops"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Accept-Encoding") != "" {
					t.Error("the server may compress the answer")
				}
				w.Write([]byte(tc.body))
			}), On().Do(Drop(tc.loss)))
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Accept-Encoding", "gzip")
			h.ServeHTTP(rec, req)
			if got := rec.Body.String(); got != tc.want {
				t.Errorf("got %s\nwant %s", got, tc.want)
			}
		})
	}
}
