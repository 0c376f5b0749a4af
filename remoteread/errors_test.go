package remoteread

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/redact"
)

// The headers a source sends, and how it reads a server's refusals: each
// case is a server that answers as the one named does.
func TestRefusalsAndCredentials(t *testing.T) {
	from, to := t0, t0.Add(2*time.Hour)
	data := testData(from, to, false)
	db := openTSDB(t, t.TempDir(), data)
	// gateway answers as Grafana Cloud's does in front of Mimir: basic
	// auth of the instance ID and a token with metrics:read, the tenant
	// in X-Scope-OrgID where Mimir runs without a gateway.
	gateway := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			user, pass, basic := r.BasicAuth()
			switch {
			case r.Header.Get("Authorization") == "Bearer glsa_grafana":
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"status":"error","error":"authentication error: invalid token"}`))
			case basic && user == "123456" && pass == "glc_write":
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"status":"error","error":"authentication error: invalid scope requested"}`))
			case basic && user == "123456" && pass == "glc_read", r.Header.Get("X-Scope-OrgID") == "team-a" && !basic:
				h.ServeHTTP(w, r)
			default:
				http.Error(w, "no org id", http.StatusUnauthorized)
			}
		})
	}
	url := serveHandler(t, db, gateway)
	u := units(t, from, to, `{job="node"}`)[0]
	for _, tc := range []struct {
		name string
		url  string
		opts Options
		want string // "" reads the data
	}{
		{name: "basic auth", url: url, opts: Options{User: "123456", Password: "glc_read"}},
		{name: "tenant", url: url, opts: Options{Tenant: "team-a"}},
		{name: "no metrics:read", url: url, opts: Options{User: "123456", Password: "glc_write"}, want: "invalid scope requested: the token lacks the metrics:read scope"},
		{name: "refused", url: url, opts: Options{Token: "glsa_grafana"}, want: "invalid token: the source refused the credentials"},
		{name: "no tenant", url: url, want: "HTTP 401: no org id: the source refused"},
		{name: "not served", url: url + "/nothing", opts: Options{Tenant: "team-a"}, want: "HTTP 404: 404 page not found: remote read is not exposed at " + url + "/nothing: read through the Prometheus HTTP API at the same address instead"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newSource(t, tc.url, tc.opts)
			var got []extract.Series
			err := src.Stream(context.Background(), u, func(ss []extract.Series) error {
				got = append(got, ss...)
				return nil
			})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				sameOnce(t, cut(pick(data, "job", "node"), from.UnixMilli(), to.UnixMilli()), got)
				return
			}
			var ae *extract.AbortError
			var pe *extract.ParamError
			if !errors.As(err, &ae) || !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want an abort that names the fix: %q", err, tc.want)
			}
		})
	}
}

func pick(ss []extract.Series, name, value string) []extract.Series {
	var out []extract.Series
	for _, s := range ss {
		if s.Labels.Get(name) == value {
			out = append(out, s)
		}
	}
	return out
}

// A server that is busy, or an answer cut short, is asked again; a step
// remote read cannot honour fails the run at once.
func TestRetriesAndStep(t *testing.T) {
	from, to := t0, t0.Add(2*time.Hour)
	data := testData(from, to, false)
	var calls atomic.Int32
	flaky := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch calls.Add(1) {
			case 1:
				http.Error(w, "too many outstanding requests", http.StatusTooManyRequests)
			case 2:
				w.Header().Set("Content-Type", streamedType)
				_, _ = w.Write([]byte{0x80, 0x80}) // a frame's length, cut
			default:
				h.ServeHTTP(w, r)
			}
		})
	}
	src := newSource(t, serveHandler(t, openTSDB(t, t.TempDir(), data), flaky), Options{})
	sameOnce(t, data, readUnits(t, src, units(t, from, to, `{__name__=~".+"}`)))
	if calls.Load() != 3 {
		t.Fatalf("%d requests, want 3", calls.Load())
	}
	if st := src.Stats(); st.Requests != 3 || st.Retries != 2 || st.WireBytes != src.Received() || st.WireBytes == 0 {
		t.Fatalf("Stats() = %+v, want 3 requests, 2 retries and the bytes received", st)
	}

	u := units(t, from, to, "up")[0]
	u.Step = time.Minute
	var ae *extract.AbortError
	if err := src.Stream(context.Background(), u, nil); !errors.As(err, &ae) {
		t.Fatalf("a step: err = %v, want an abort", err)
	}
}

// Check reads nothing where remote read is served, and refuses an address
// that serves none (a 404) as the reads would, once, without retrying.
func TestCheck(t *testing.T) {
	url := serveHandler(t, openTSDB(t, t.TempDir(), testData(t0, t0.Add(2*time.Hour), false)), nil)
	for _, tc := range []struct {
		name, url, want string // want "" passes
	}{
		{"served", url, ""},
		{"not served", url + "/nothing", "remote read is not exposed at " + url + "/nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newSource(t, tc.url, Options{})
			err := src.Check(context.Background(), t0.Add(time.Hour).UnixMilli())
			var ae *extract.AbortError
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (!errors.As(err, &ae) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want an abort saying %q", err, tc.want)
			case src.Stats().Requests != 1:
				t.Fatalf("%d requests, want 1", src.Stats().Requests)
			}
		})
	}
}

// The credentials a source is given join its redactor in every form.
func TestNewRedacts(t *testing.T) {
	for _, opts := range []Options{{User: "123456", Password: "glc_s3cret"}, {Token: "glc_s3cret"}} {
		var set redact.Set
		opts.Redact = &set
		if _, err := New("http://127.0.0.1:1", opts); err != nil {
			t.Fatal(err)
		}
		if got := set.String("the answer quoted glc_s3cret"); strings.Contains(got, "glc_s3cret") {
			t.Errorf("%+v: %q", opts, got)
		}
	}
}

func TestNewRefusesBadURLs(t *testing.T) {
	for _, url := range []string{"prometheus:9090", "ftp://host", "https://user:pass@host/api/prom"} {
		if _, err := New(url, Options{}); err == nil {
			t.Errorf("New(%q) accepted it", url)
		}
	}
}

// A limit's text found after the binary frames of a streamed answer, whose
// bytes are no UTF-8, is read as it is (a lowering that widened them once
// moved the index past the text's end).
func TestLimitInAfterFrames(t *testing.T) {
	const limit = "the query exceeded the maximum number of chunks (limit: 10 chunks) (err-mimir-max-chunks-per-query)."
	for _, tc := range []struct{ name, text string }{
		{"plain", limit},
		{"after frames", strings.Repeat("\xff\xfe\x80", 2000) + "\n" + limit},
		{"upper case", strings.ToUpper(limit)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := limitIn(tc.text)
			if tb == nil || tb.limit != "err-mimir-max-chunks-per-query" || !strings.EqualFold(tb.err.Error(), limit) {
				t.Fatalf("limitIn = %+v, want the chunk limit with its text", tb)
			}
		})
	}
}
