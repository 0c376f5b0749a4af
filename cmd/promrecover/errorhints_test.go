package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// rotateRefusal answers Grafana's rotate endpoint as something in the way
// would: with status, and the cookies named in set (without Set-Cookie for
// the session when set is empty, as a proxy dropping Set-Cookie does).
func rotateRefusal(status int, set ...string) *faults.Rule {
	return faults.On(faults.Path("/api/user/auth-tokens/rotate")).Do(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		for _, name := range set {
			http.SetCookie(w, &http.Cookie{Name: name, Value: "rotated-cookie-value", Path: "/"})
		}
		faults.Answer(status, `{}`, "Content-Type", "application/json")(w, r, next)
	})
}

// withOrigin adds an Origin header to every request, as a reverse proxy
// that sets it from its own address does.
func withOrigin() *faults.Rule {
	return faults.On().Do(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		r.Header.Set("Origin", "https://proxy.example.com")
		next.ServeHTTP(w, r)
	})
}

// loginPage answers everything with a login page, as an SSO proxy in front
// of Grafana does.
func loginPage() *faults.Rule {
	return faults.On().Do(faults.Answer(http.StatusOK, "<!doctype html><title>Sign in</title>", "Content-Type", "text/html; charset=utf-8"))
}

const (
	hintPassword = "pa55-w0rd-secret"
	hintGLC      = "glc_eyJvIjoiMTIzNCIsIm4iOiJzdGFjay0xMjMtcmVhZCIsImsiOiJzZWNyZXQifQ=="
)

// hintSetup is the server of one case of TestErrorHints: a handler behind
// fault rules, the credential flags to reach it and the secrets that must
// not be printed.
type hintSetup struct {
	handler http.Handler
	rules   []*faults.Rule
	auth    []string
	secrets []string
}

type errorHintCase struct {
	name    string
	setup   func() hintSetup
	args    []string
	inErr   bool // the fix is in the error; otherwise in the NOT RECOVERED lines
	want    []string
	maxReqs int64 // requests the server may see; 0: no bound checked
	env     map[string]string
	tls     bool   // the server speaks HTTPS with a certificate nobody trusts
	scheme  string // replaces the server's in --grafana-url
}

// TestErrorHints runs recover into each confusing failure and checks that
// it ends with one message naming the fix, soon, and without a secret.
func TestErrorHints(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 1)
	session := func(rules ...*faults.Rule) func() hintSetup {
		return func() hintSetup {
			srv := sim.New(sim.Config{Series: data, Tokens: []string{testToken}})
			s := srv.Login("admin")
			srv.AgeSessions(11 * time.Minute) // every call now asks for a rotation
			return hintSetup{srv, rules, []string{"--session", s}, []string{s, "rotated-cookie-value", testToken}}
		}
	}
	token := func(cfg sim.Config, rules ...*faults.Rule) func() hintSetup {
		return func() hintSetup {
			cfg.Series, cfg.Tokens = data, []string{testToken}
			return hintSetup{sim.New(cfg), rules, []string{"--token", testToken}, []string{testToken}}
		}
	}
	cases := []errorHintCase{
		{name: "rotate endpoint missing", setup: session(rotateRefusal(http.StatusNotFound)),
			inErr: true, want: []string{"session.token.rotate", "HTTP 404", "log in again", "copy the value of the new grafana_session cookie", "--session or GRAFANA_SESSION", "--token"}},
		{name: "rotation refused", setup: session(rotateRefusal(http.StatusUnauthorized)),
			inErr: true, want: []string{"refused to rotate it (HTTP 401)", "log in again", "GRAFANA_SESSION"}},
		{name: "rotation without Set-Cookie", setup: session(rotateRefusal(http.StatusOK)),
			inErr: true, want: []string{"without a new grafana_session cookie", "drop Set-Cookie", "log in again"}},
		{name: "rotation sets another cookie name", setup: session(rotateRefusal(http.StatusOK, "grafana_sess", "grafana_session_expiry")), inErr: true, want: []string{"it set grafana_sess:", "--cookie-name", "log in again"}},
		{name: "session rotated faster than a call gets through", setup: func() hintSetup {
			srv := sim.New(sim.Config{Series: data})
			s := srv.Login("admin")
			age := faults.On(faults.Query).Do(faults.Run(func() { srv.AgeSessions(11 * time.Minute) }))
			return hintSetup{srv, []*faults.Rule{age}, []string{"--session", s}, []string{s}}
		}, inErr: true, want: []string{"due again after each of 10 rotations in a row", "browser tab", "log in again", "--session or GRAFANA_SESSION", "--token"}},
		{name: "origin added by a proxy", setup: func() hintSetup {
			srv := sim.New(sim.Config{Series: data})
			s := srv.Login("admin")
			return hintSetup{srv, []*faults.Rule{withOrigin()}, []string{"--session", s}, []string{s}}
		}, inErr: true, want: []string{"403", "origin not allowed", "a proxy between it and Grafana added it", "csrf_trusted_origins", "--token"}},
		{name: "access-policy token", setup: token(sim.Config{}), args: []string{"--token", hintGLC},
			inErr: true, want: []string{"access-policy token (glc_...)", "glsa_", "Service accounts"}, maxReqs: -1},
		{name: "access-policy token as password", setup: token(sim.Config{}), args: []string{"--token", "", "--user", "123456", "--password", hintGLC},
			inErr: true, want: []string{"password is a Grafana Cloud access-policy token", "glsa_"}, maxReqs: -1},
		{name: "datasource not found", setup: token(sim.Config{Datasources: []sim.Datasource{
			{ID: 1, UID: "grafanacloud-prom", Name: "grafanacloud-example-prom", Type: "prometheus"},
			{ID: 2, UID: "mimir-eu", Name: "Mimir EU", Type: "prometheus"},
			{ID: 3, UID: "logs", Name: "grafanacloud-example-logs", Type: "loki"},
		}}), args: []string{"--datasource", "grafanacloud-prometheus"},
			inErr: true, want: []string{`"grafanacloud-prometheus" not found`, "grafanacloud-prom (grafanacloud-example-prom), mimir-eu (Mimir EU)"}},
		{name: "11,000 points per series", setup: token(sim.Config{Intercept: func(c sim.PromCall) *sim.PromReply {
			if c.Path != "/api/v1/query_range" {
				return nil
			}
			return &sim.PromReply{Status: http.StatusBadRequest, Body: `{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"}`}
		}}), args: []string{"--step", "15s", "--match", "up{instance=\"cam-1:9100\"}", "--to", dataStart.Add(4 * time.Hour).Format(time.RFC3339)},
			want: []string{"exceeded maximum resolution of 11,000 points", "choose a larger --step", "leave --step out to fetch the raw samples"}},
		{name: "Grafana Cloud's Prometheus endpoint", setup: token(sim.Config{}),
			args:  []string{"--grafana-url", "https://prometheus-prod-24-prod-eu-west-2.grafana.net/api/prom"},
			inErr: true, want: []string{"is a Prometheus (Mimir) endpoint, not Grafana", "the address you open Grafana at"}, maxReqs: -1},
		// The probe of /api/health, which needs no credentials, and the refused call.
		{name: "token of another organization", setup: token(sim.Config{}), args: []string{"--org-id", "2"},
			inErr: true, want: []string{"does not belong to the requested organization", "another organization than --org-id 2", "leave --org-id out"}, maxReqs: 2},
		{name: "an untrusted certificate", setup: token(sim.Config{}), tls: true,
			inErr: true, want: []string{"certificate", "does not trust the TLS certificate", "SSL_CERT_FILE"}, maxReqs: -1},
		{name: "https to a plain HTTP port", setup: token(sim.Config{}), scheme: "https://",
			inErr: true, want: []string{"answers plain HTTP on that port", "write http://"}, maxReqs: -1},
		{name: "a token left in the environment beside --session", setup: session(),
			env: map[string]string{"GRAFANA_TOKEN": testToken}, inErr: true,
			want: []string{"give one kind of credentials", "from the environment: GRAFANA_TOKEN", "unset"}, maxReqs: -1},
		{name: "a login page instead of the API", setup: func() hintSetup {
			return hintSetup{sim.New(sim.Config{}), []*faults.Rule{loginPage()}, []string{"--token", testToken}, []string{testToken}}
		},
			inErr: true, want: []string{"GET /api/health answered with an HTML page", "login proxy", "/api/health answers JSON"}, maxReqs: 1},
		{name: "a redirect to https", setup: token(sim.Config{}, faults.On().Do(faults.Redirect(http.StatusMovedPermanently, "https://grafana.example.com", true))),
			inErr: true, want: []string{"GET /api/health was redirected (HTTP 301) to https://grafana.example.com/api/health", "give https://grafana.example.com as --grafana-url"}, maxReqs: 1},
		{name: "a redirect to a login page", setup: token(sim.Config{}, faults.On().Do(faults.Redirect(http.StatusFound, "https://sso.example.com/oauth2/start?rd=%2F", false))),
			inErr: true, want: []string{"GET /api/health was redirected (HTTP 302) to https://sso.example.com/oauth2/start,", "login proxy", "give --grafana-url the address at which Grafana's API answers"}, maxReqs: 1},
		{name: "not Grafana", setup: func() hintSetup {
			return hintSetup{handler: http.NotFoundHandler(), auth: []string{"--token", testToken}, secrets: []string{testToken}}
		}, inErr: true, want: []string{"GET /api/health: HTTP 404", "/api/health, which every Grafana answers without credentials, is not there", "sub-path", "give --grafana-url the address you open Grafana at, with its sub-path"}, maxReqs: 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkErrorHint(t, c) })
	}
}

// checkErrorHint runs recover against c's server and checks what it says.
func checkErrorHint(t *testing.T, c errorHintCase) {
	s := c.setup()
	for k, v := range c.env {
		t.Setenv(k, v)
	}
	counted := faults.On()
	hs := httptest.NewUnstartedServer(faults.Wrap(s.handler, append([]*faults.Rule{counted}, s.rules...)...))
	if c.tls {
		hs.StartTLS()
	} else {
		hs.Start()
	}
	defer hs.Close()
	url := hs.URL
	if c.scheme != "" {
		url = c.scheme + strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://")
	}
	args := append([]string{"recover", "--grafana-url", url, "--datasource", "grafanacloud-prom",
		"--from", dataStart.Add(2 * time.Hour).Format(time.RFC3339), "--to", dataStart.Add(6 * time.Hour).Format(time.RFC3339),
		"--out", t.TempDir(), "-v"}, s.auth...)
	args = append(args, c.args...)
	stdout, stderr, err := runCLI(t, args...)
	if err == nil {
		t.Fatalf("recover succeeded:\n%s", stdout)
	}
	where := err.Error()
	if !c.inErr {
		where = stdout
	}
	for _, w := range c.want {
		if !strings.Contains(where, w) {
			t.Errorf("lacks %q:\n%s", w, where)
		}
	}
	if c.inErr && strings.Count(stdout+err.Error(), c.want[len(c.want)-1]) > 1 {
		t.Errorf("the fix is given more than once:\n%s\n%v", stdout, err)
	}
	switch n := int64(counted.Count()); {
	case c.maxReqs < 0 && n > 0:
		t.Errorf("%d requests sent with credentials that cannot work", n)
	case c.maxReqs > 0 && n > c.maxReqs:
		t.Errorf("%d requests, want at most %d: no retries of what cannot pass", n, c.maxReqs)
	}
	all := stdout + stderr + err.Error()
	for _, secret := range append(s.secrets, hintPassword, hintGLC, strings.TrimPrefix(hintGLC, "glc_")) {
		if strings.Contains(all, secret) {
			t.Errorf("a secret was printed:\n%s", all)
		}
	}
}

// TestSessionPastedAsCookieHeader gives --session as users copy it from a
// browser: a whole Cookie header, which works when it holds the session
// cookie and is refused, naming the cookies, when it does not.
func TestSessionPastedAsCookieHeader(t *testing.T) {
	hsURL, srv := simtest.Start(t, sim.Config{Series: gen.DemoSeries(dataStart, dataEnd, 1)})
	session := srv.Login("admin")
	cases := []struct {
		session string
		errPart string // "" for success
	}{
		{session: "grafana_session=" + session + "; grafana_session_expiry=1754186400"},
		{session: "Cookie: _ga=GA1.2.3; grafana_session=" + session},
		{session: "_ga=GA1.2.3; grafana_sess=" + session, errPart: "holds the cookies _ga, grafana_sess but none named grafana_session"},
		{session: "=;=", errPart: "neither a cookie value nor a Cookie header"},
	}
	for _, c := range cases {
		stdout, stderr, err := runCLI(t, "recover", "--grafana-url", hsURL, "--session", c.session, "--datasource", "grafanacloud-prom",
			"--from", dataStart.Add(2*time.Hour).Format(time.RFC3339), "--to", dataStart.Add(4*time.Hour).Format(time.RFC3339),
			"--match", "up", "--out", t.TempDir())
		switch {
		case c.errPart == "" && err != nil:
			t.Errorf("%q: %v\n%s", c.session, err, stderr)
		case c.errPart != "" && (err == nil || !strings.Contains(err.Error(), c.errPart)):
			t.Errorf("%q: err = %v, want %q", c.session, err, c.errPart)
		}
		if strings.Contains(stdout+stderr+fmt.Sprint(err), session) {
			t.Errorf("%q: the session was printed", c.session)
		}
	}
}
