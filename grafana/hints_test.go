package grafana

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/simtest"
)

// TestUnreachable checks which network failures stop the run with a fix
// rather than being retried: those no retry can change.
func TestUnreachable(t *testing.T) {
	wrap := func(err error) error {
		return &url.Error{Op: "Get", URL: "https://grafana.example.com/api/datasources", Err: err}
	}
	cases := []struct {
		name string
		err  error
		want string // "" when the failure is worth retrying
	}{
		{"unknown host", wrap(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "grafana.example.com", IsNotFound: true}}), "check the spelling of the Grafana URL"},
		{"resolver down", wrap(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "server misbehaving", Name: "grafana.example.com", IsTemporary: true}}), ""},
		{"untrusted certificate", wrap(x509.UnknownAuthorityError{}), "SSL_CERT_FILE"},
		{"certificate for another host", wrap(x509.HostnameError{Certificate: &x509.Certificate{}, Host: "grafana.example.com"}), "names the host the certificate is for"},
		{"https to http", wrap(errors.New("http: server gave HTTP response to HTTPS client")), "write http://"},
		{"connection refused", wrap(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), ""},
	}
	for _, c := range cases {
		got := unreachable(c.err, "https://grafana.example.com")
		var abort *extract.AbortError
		switch {
		case c.want == "" && got != nil:
			t.Errorf("%s: %v, want a retry", c.name, got)
		case c.want != "" && (!errors.As(got, &abort) || !strings.Contains(got.Error(), c.want)):
			t.Errorf("%s: %v, want an abort saying %q", c.name, got, c.want)
		}
	}
}

// TestDatasourceNotFoundCancelled: a run cancelled while the datasources are
// listed for the hint stops as cancelled, not as a missing datasource.
func TestDatasourceNotFoundCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := simtest.Serve(t, http.NotFoundHandler(),
		faults.On(faults.Path("/api/datasources")).Do(func(_ http.ResponseWriter, r *http.Request, _ http.Handler) {
			cancel() // interrupted while listing
			<-r.Context().Done()
		}),
		faults.On(faults.PathPrefix("/api/datasources")).Do(faults.Answer(http.StatusNotFound, `{"message":"Data source not found"}`, "Content-Type", "application/json")),
		grafanaHealth())
	_, err := newTestClient(t, url, Auth{Token: "glsa_x"}).ResolveDatasource(ctx, "prom")
	var abort *extract.AbortError
	if !errors.Is(err, context.Canceled) || errors.As(err, &abort) {
		t.Fatalf("error %v, want the cancellation, not an abort", err)
	}
}

// TestHTMLThroughTheProxy: a web page through the datasource proxy comes
// from the datasource's own URL, which Grafana forwards to, so the hint
// names that and not only --grafana-url.
func TestHTMLThroughTheProxy(t *testing.T) {
	url := simtest.Serve(t, http.NotFoundHandler(),
		faults.On(faults.PathPrefix("/api/datasources/proxy/")).Do(faults.Answer(http.StatusOK, "<html>Sign in</html>", "Content-Type", "text/html; charset=utf-8")),
		grafanaHealth())
	src := &Source{Client: newTestClient(t, url, Auth{Token: token}), Datasource: promDS, Via: Proxy}
	err := src.stream(context.Background(), unit(), func([]extract.Series) error { return nil })
	var abort *extract.AbortError
	if !errors.As(err, &abort) || !strings.Contains(err.Error(), "the datasource's URL") {
		t.Fatalf("error %v, want an abort naming the datasource's URL", err)
	}
}

// TestNothingAnswered: a refused connection is retried, and once the retries
// are spent the run stops with the fix instead of failing every window after
// the same wait.
func TestNothingAnswered(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := NewClient(Options{URL: "http://" + addr, Auth: Auth{Token: "glsa_secret"}, MaxRetries: 1, RetryInitial: time.Millisecond, RetryMax: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Datasources(context.Background())
	var abort *extract.AbortError
	if !errors.As(err, &abort) || !strings.Contains(err.Error(), "check the host and port of the Grafana URL") || strings.Contains(err.Error(), "glsa_secret") {
		t.Fatalf("err = %v, want an abort naming the fix", err)
	}
	if s := c.Stats(); s.Retries != 1 {
		t.Errorf("%d retries, want 1", s.Retries)
	}
}

// TestAnswersNoRetryCanMend: a login page labelled application/json gets the
// page's hint, and an answer nested deeper than JSON decoders go is named;
// neither is sent again, through either source, whatever the status.
func TestAnswersNoRetryCanMend(t *testing.T) {
	deep := strings.Repeat("[", 10001)
	deepFrames, deepMatrix := `{"results":{"A":{"extra":`+deep, `{"status":"success","extra":`+deep
	for _, tc := range []struct {
		name, body string
		status     int
		via        Transport
		want       string
		abort      bool
	}{
		{"a page as JSON", "\n  <!doctype html><title>Sign in</title>", http.StatusOK, DSQuery, "a login proxy in front of Grafana", true},
		{"a page as JSON, refused", "<html>Sign in</html>", http.StatusBadRequest, DSQuery, "a login proxy in front of Grafana", true},
		{"a page as JSON through the proxy", "<html>Sign in</html>", http.StatusOK, Proxy, "the datasource's URL", true},
		{"nested too deep", deepFrames, http.StatusOK, DSQuery, "exceeded max depth (at byte 10025): the answer nests JSON more than 10,000 levels deep", false},
		{"nested too deep through the proxy", deepMatrix, http.StatusOK, Proxy, "the answer nests JSON more than 10,000 levels deep", false},
		{"nested too deep, says the server", `{"message":"decoding: exceeded max depth"}`, http.StatusInternalServerError, DSQuery, "no retry can pass", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answer := faults.On(faults.PathPrefix("/api/ds/query")).Do(faults.Answer(tc.status, tc.body, "Content-Type", "application/json"))
			proxied := faults.On(faults.PathPrefix("/api/datasources/proxy/")).Do(faults.Answer(tc.status, tc.body, "Content-Type", "application/json"))
			url := simtest.Serve(t, http.NotFoundHandler(), answer, proxied, grafanaHealth())
			src := &Source{Client: newTestClient(t, url, Auth{Token: token}), Datasource: promDS, Via: tc.via}
			err := src.stream(context.Background(), unit(), func([]extract.Series) error { return nil })
			var abort *extract.AbortError
			if err == nil || !strings.Contains(err.Error(), tc.want) || errors.As(err, &abort) != tc.abort {
				t.Fatalf("error %v, want %q (an abort: %v)", err, tc.want, tc.abort)
			}
			if n := answer.Count() + proxied.Count(); n != 1 {
				t.Errorf("%d requests, want 1: an answer no retry can mend was sent again", n)
			}
		})
	}
}

// TestDrippingAnswer: an answer that comes a byte at a time is cut by the
// request's timeout, body included, sent once more as retries allow, and
// then stops the run naming the timeout: neither split into parts, which
// would wait as long each, nor left to the next unit. A unit so takes at
// most timeout x (retries+1), plus the waits between tries.
func TestDrippingAnswer(t *testing.T) {
	// A guard, not a timed assertion: without the bound the test would hang.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, via := range []Transport{DSQuery, Proxy} {
		drip := faults.On(faults.PathPrefix("/api/ds/query")).Do(faults.Drip(100 * time.Millisecond))
		proxied := faults.On(faults.PathPrefix("/api/datasources/proxy/")).Do(faults.Drip(100 * time.Millisecond))
		url := simtest.Serve(t, http.NotFoundHandler(), drip, proxied, grafanaHealth())
		c, err := NewClient(Options{URL: url, Auth: Auth{Token: token}, Timeout: time.Second, MaxRetries: 1, RetryInitial: time.Millisecond, RetryMax: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		src := &Source{Client: c, Datasource: promDS, Via: via}
		err = src.Stream(ctx, unit(), func([]extract.Series) error { return nil })
		var abort *extract.AbortError
		if ctx.Err() != nil || !errors.As(err, &abort) || !strings.Contains(err.Error(), "the request timeout of 1s ran out") {
			t.Fatalf("via %v: error %v, want the run stopped naming the timeout", via, err)
		}
		if n := drip.Count() + proxied.Count(); n != 2 {
			t.Errorf("via %v: %d requests, want 2 (one retry, no split)", via, n)
		}
	}
}
