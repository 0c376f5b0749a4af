package sim

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// okQuery is a small ds/query body that succeeds.
func okQuery() map[string]any {
	return dsq(t0, t0+600000, map[string]any{"expr": "x", "interval": "1m"})
}

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestAuthentication(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	unauthorized := `{"message":"Unauthorized","messageId":"auth.unauthorized","statusCode":401,"traceID":""}`
	cases := []struct {
		name     string
		header   map[string]string
		wantCode int
		wantBody string
	}{
		{"bearer", nil, 200, ""},
		{"bearer lower case scheme", map[string]string{"Authorization": "bearer " + testToken}, 200, ""},
		{"unknown bearer", map[string]string{"Authorization": "Bearer glc_access_policy_token"}, 401,
			`{"message":"Invalid API key","messageId":"api-key.invalid","statusCode":401,"traceID":""}`},
		{"bearer for another org", map[string]string{"X-Grafana-Org-Id": "2"}, 401,
			`{"message":"API key does not belong to the requested organization","messageId":"api-key.organization-mismatch","statusCode":401,"traceID":""}`},
		{"bearer with org 1", map[string]string{"X-Grafana-Org-Id": "1"}, 200, ""},
		{"basic", map[string]string{"Authorization": basicAuth("admin", "secret")}, 200, ""},
		{"basic with a token as password", map[string]string{"Authorization": basicAuth("api_key", testToken)}, 200, ""},
		{"basic wrong password", map[string]string{"Authorization": basicAuth("admin", "nope")}, 401,
			`{"message":"Invalid username or password","messageId":"password-auth.failed","statusCode":401,"traceID":""}`},
		{"basic for another org", map[string]string{"Authorization": basicAuth("admin", "secret"), "X-Grafana-Org-Id": "3"}, 401, unauthorized},
		{"nothing", map[string]string{"Authorization": ""}, 401, unauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := req{path: "/api/ds/query", body: okQuery(), header: c.header}.do(t, s)
			if w.Code != c.wantCode {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if c.wantBody != "" && strings.TrimSpace(w.Body.String()) != c.wantBody {
				t.Errorf("body %s", w.Body)
			}
		})
	}
	if w := (req{method: "GET", path: "/api/health", header: map[string]string{"Authorization": ""}}).do(t, s); w.Code != 200 {
		t.Errorf("health needs no auth, got %d", w.Code)
	}
	if got := s.Counters().Unauthorized; got != 5 {
		t.Errorf("Unauthorized counter %d, want 5", got)
	}
}

func cookieValue(t *testing.T, resp *http.Response, name string) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", name, resp.Header["Set-Cookie"])
	return nil
}

func TestSessionRotation(t *testing.T) {
	s, clk := newTestServer(t, Config{})
	old := s.Login("admin")
	get := func(token string) (int, string) {
		w := req{path: "/api/ds/query", body: okQuery(), cookie: token}.do(t, s)
		return w.Code, w.Body.String()
	}
	if code, body := get(old); code != 200 {
		t.Fatalf("fresh session: %d %s", code, body)
	}
	s.AgeSessions(11 * time.Minute)
	if code, body := get(old); code != 401 || !strings.Contains(body, `"messageId":"session.token.rotate"`) || !strings.Contains(body, `"message":"Unauthorized"`) {
		t.Fatalf("due session: %d %s", code, body)
	}

	w := req{path: "/api/user/auth-tokens/rotate", cookie: old}.do(t, s)
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != "{}" {
		t.Fatalf("rotate: %d %s", w.Code, w.Body)
	}
	resp := w.Result()
	session := cookieValue(t, resp, "grafana_session")
	if session.Value == old || session.Path != "/" || !session.HttpOnly || session.Secure || session.SameSite != http.SameSiteLaxMode {
		t.Errorf("session cookie %+v", session)
	}
	expiry := cookieValue(t, resp, "grafana_session_expiry")
	if want := clk.Now().Add(10 * time.Minute).Unix(); expiry.Value != strconv.FormatInt(want, 10) || expiry.HttpOnly || expiry.Path != "/" {
		t.Errorf("expiry cookie %q, want %d", expiry.Value, want)
	}

	if code, body := get(session.Value); code != 200 {
		t.Errorf("new token: %d %s", code, body)
	}
	if code, body := get(old); code != 200 {
		t.Errorf("old token within the grace period: %d %s", code, body)
	}
	// A second rotation right away hands out the same token.
	w = req{path: "/api/user/auth-tokens/rotate", cookie: old}.do(t, s)
	if again := cookieValue(t, w.Result(), "grafana_session"); again.Value != session.Value {
		t.Errorf("immediate second rotation gave %q, want %q", again.Value, session.Value)
	}
	s.AgeSessions(2 * time.Minute)
	if code, body := get(old); code != 401 || !strings.Contains(body, "auth.unauthorized") {
		t.Errorf("old token after the grace period: %d %s", code, body)
	}
	if code, _ := get(session.Value); code != 200 {
		t.Errorf("new token after 2m: %d", code)
	}
	if got := s.Counters().Rotations; got != 1 {
		t.Errorf("Rotations %d", got)
	}
}

// TestRotateEvery plays a Grafana whose rotation interval is short next to
// a run's requests: every few calls the session is due again, and the
// rotate endpoint rotates it however recently it did.
func TestRotateEvery(t *testing.T) {
	s, _ := newTestServer(t, Config{RotateEvery: 2})
	token := s.Login("admin")
	for round := range 3 {
		for call := range 3 {
			w := req{path: "/api/ds/query", body: okQuery(), cookie: token}.do(t, s)
			if due := call == 2; due != (w.Code == 401) || due && !strings.Contains(w.Body.String(), "session.token.rotate") {
				t.Fatalf("round %d, call %d: %d %s; want a rotation demand on the third call only", round, call, w.Code, w.Body)
			}
		}
		w := req{path: "/api/user/auth-tokens/rotate", cookie: token}.do(t, s)
		next := cookieValue(t, w.Result(), "grafana_session").Value
		if w.Code != 200 || next == token {
			t.Fatalf("round %d: rotate answered %d with the same token %v", round, w.Code, next == token)
		}
		token = next
	}
	if got := s.Counters().Rotations; got != 3 {
		t.Errorf("Rotations %d, want 3", got)
	}
}

func TestRevokedSession(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	token := s.Login("admin")
	s.RevokeSessions()
	for _, path := range []string{"/api/ds/query", "/api/user/auth-tokens/rotate"} {
		w := req{path: path, body: okQuery(), cookie: token}.do(t, s)
		if w.Code != 401 || strings.TrimSpace(w.Body.String()) != `{"error":{"id":"ERR_TOKEN_REVOKED","maxConcurrentSessions":0},"message":"Token revoked"}` {
			t.Errorf("%s: %d %s", path, w.Code, w.Body)
		}
	}
	if w := (req{path: "/api/user/auth-tokens/rotate", cookie: "unknown"}).do(t, s); w.Code != 401 {
		t.Errorf("rotating an unknown token: %d", w.Code)
	}
}

func TestCSRF(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	token := s.Login("admin")
	cases := []struct {
		name     string
		cookie   string
		origin   string
		wantCode int
	}{
		{"cookie, foreign origin", token, "https://evil.example", 403},
		{"cookie, same host other port", token, "http://example.com:3000", 200},
		{"cookie, no origin", token, "", 200},
		{"bearer, foreign origin", "", "https://evil.example", 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := req{path: "/api/ds/query", body: okQuery(), cookie: c.cookie, header: map[string]string{"Origin": c.origin}}.do(t, s)
			if w.Code != c.wantCode {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if c.wantCode == 403 && w.Body.String() != "origin not allowed\n" {
				t.Errorf("body %q", w.Body)
			}
		})
	}
	if got := s.Counters().Forbidden; got != 1 {
		t.Errorf("Forbidden %d", got)
	}
}

func TestDatasourceEndpoints(t *testing.T) {
	s, _ := newTestServer(t, Config{Datasources: []Datasource{
		{ID: 1, UID: "grafanacloud-prom", Name: "grafanacloud-prom", Type: "prometheus", URL: "https://prom"},
		{ID: 2, UID: "grafanacloud-logs", Name: "grafanacloud-logs", Type: "loki", URL: "https://logs"},
	}})
	w := req{method: "GET", path: "/api/datasources"}.do(t, s)
	// Listed by name, so the loki datasource comes first.
	if w.Code != 200 || !strings.HasPrefix(w.Body.String(),
		`[{"id":2,"uid":"grafanacloud-logs","orgId":1,"name":"grafanacloud-logs","type":"loki","typeName":"Loki",`) ||
		!strings.Contains(w.Body.String(), `"type":"prometheus","typeName":"Prometheus"`) ||
		!strings.Contains(w.Body.String(), `"url":"https://prom","user":"","database":"","basicAuth":false,"isDefault":true`) {
		t.Errorf("list: %d %s", w.Code, w.Body)
	}
	cases := []struct {
		path     string
		wantCode int
		want     string
	}{
		{"/api/datasources/uid/grafanacloud-prom", 200, `"id":1,"uid":"grafanacloud-prom","orgId":1,"name":"grafanacloud-prom","type":"prometheus"`},
		{"/api/datasources/name/grafanacloud-logs", 200, `"id":2,"uid":"grafanacloud-logs"`},
		{"/api/datasources/uid/missing", 404, `{"message":"Data source not found"}`},
		{"/api/datasources/name/missing", 404, `{"message":"Data source not found"}`},
		{"/api/nothing/here", 404, `{"message":"Not found"}`},
	}
	for _, c := range cases {
		w := req{method: "GET", path: c.path}.do(t, s)
		if w.Code != c.wantCode || !strings.Contains(w.Body.String(), c.want) {
			t.Errorf("%s: %d %s", c.path, w.Code, w.Body)
		}
	}
	if w := (req{method: "GET", path: "/api/datasources", header: map[string]string{"Authorization": ""}}).do(t, s); w.Code != 401 {
		t.Errorf("datasources need auth, got %d", w.Code)
	}
}
