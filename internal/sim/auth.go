package sim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Authentication as Grafana's authn service runs it: clients are tried in
// order (service-account token, basic auth, session cookie) and the first
// that succeeds wins; a session due for rotation stops the search at once.

const (
	// rotationGrace is how long a rotated-away session token keeps working,
	// so requests in flight during a rotation are not refused.
	rotationGrace = time.Minute
	// skipRotation is Grafana's SkipRotationTime: a token rotated this
	// recently is not rotated again, the caller just gets the current one.
	skipRotation = 5 * time.Second
	// cookieMaxAge is login_maximum_lifetime_duration's default, 30 days.
	cookieMaxAge = 30 * 24 * 60 * 60
)

type session struct {
	user      string
	rotatedAt time.Time
	current   string
	revoked   bool
	calls     int // API calls passed since the last rotation, for RotateEvery
}

// sessionToken is one token value: the session's current one, or a previous
// one that is valid until graceUntil.
type sessionToken struct {
	s          *session
	graceUntil time.Time // zero for the current token
}

// Login creates a session for user and returns the session cookie's value.
func (s *Server) Login(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ses := &session{user: user, rotatedAt: s.cfg.Now(), current: newToken()}
	s.sessions[ses.current] = &sessionToken{s: ses}
	return ses.current
}

// AgeSessions makes every session, and every rotation grace period, older
// by d, so tests reach rotation without waiting.
func (s *Server) AgeSessions(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[*session]bool{}
	for _, t := range s.sessions {
		if !t.graceUntil.IsZero() {
			t.graceUntil = t.graceUntil.Add(-d)
		}
		if !seen[t.s] {
			seen[t.s] = true
			t.s.rotatedAt = t.s.rotatedAt.Add(-d)
		}
	}
}

// RevokeSessions revokes every session, as signing out everywhere does.
func (s *Server) RevokeSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.sessions {
		t.s.revoked = true
	}
}

func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// authError is a refusal in the body shape Grafana gives it.
type authError struct {
	status int
	body   map[string]any
}

func errutilBody(status int, messageID, message string) *authError {
	return &authError{status: status, body: map[string]any{
		"message": message, "messageId": messageID, "statusCode": status, "traceID": "",
	}}
}

var (
	errUnauthorized  = errutilBody(http.StatusUnauthorized, "auth.unauthorized", "Unauthorized")
	errNeedsRotation = errutilBody(http.StatusUnauthorized, "session.token.rotate", "Unauthorized")
	errAPIKeyInvalid = errutilBody(http.StatusUnauthorized, "api-key.invalid", "Invalid API key")
	errAPIKeyOrg     = errutilBody(http.StatusUnauthorized, "api-key.organization-mismatch",
		"API key does not belong to the requested organization")
	errPasswordFailed = errutilBody(http.StatusUnauthorized, "password-auth.failed", "Invalid username or password")
	// Grafana's middleware answers a revoked session with its own body
	// rather than an errutil error.
	errTokenRevoked = &authError{status: http.StatusUnauthorized, body: map[string]any{
		"message": "Token revoked",
		"error":   map[string]any{"id": "ERR_TOKEN_REVOKED", "maxConcurrentSessions": 0},
	}}
)

// authed wraps an API handler with the CSRF check and authentication.
func (s *Server) authed(h http.HandlerFunc) http.Handler {
	return s.csrf(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.authenticate(r); err != nil {
			writeJSON(w, err.status, err.body)
			return
		}
		h(w, r)
	}))
}

// authenticate returns nil when some client accepts the request.
func (s *Server) authenticate(r *http.Request) *authError {
	org := s.requestOrg(r)
	var first *authError
	fail := func(e *authError) {
		if first == nil {
			first = e
		}
	}
	if token, ok := bearer(r); ok {
		switch {
		case !slices.Contains(s.cfg.Tokens, token):
			fail(errAPIKeyInvalid)
		case org != s.org():
			fail(errAPIKeyOrg) // service-account tokens belong to one org
		default:
			return nil
		}
	}
	if user, pass, ok := r.BasicAuth(); ok {
		if err := s.basic(user, pass, org); err != nil {
			fail(err)
		} else {
			return nil
		}
	}
	if c, err := r.Cookie(s.cfg.CookieName); err == nil {
		switch err := s.checkSession(c.Value, false); {
		case err == errNeedsRotation:
			return err // Grafana does not fall through to other clients here
		case err != nil:
			fail(err)
		case org != s.org():
			// Guess: a user who is not a member of the org is refused like
			// any failed login.
			fail(errUnauthorized)
		default:
			return nil
		}
	}
	if first == nil { // no credentials at all
		return errUnauthorized
	}
	return first
}

func (s *Server) basic(user, pass string, org int64) *authError {
	if user == "api_key" { // Grafana takes a token as basic-auth password too
		switch {
		case !slices.Contains(s.cfg.Tokens, pass):
			return errAPIKeyInvalid
		case org != s.org():
			return errAPIKeyOrg
		}
		return nil
	}
	if want, ok := s.cfg.Users[user]; !ok || want != pass {
		return errPasswordFailed
	}
	if org != s.org() {
		return errUnauthorized
	}
	return nil
}

// checkSession validates a session token. forRotation skips the age check:
// the rotate endpoint must accept exactly the tokens that are due.
func (s *Server) checkSession(token string, forRotation bool) *authError {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.sessions[token]
	now := s.cfg.Now()
	switch {
	case !ok:
		return errUnauthorized
	case t.s.revoked:
		return errTokenRevoked
	case !t.graceUntil.IsZero() && !now.Before(t.graceUntil):
		return errUnauthorized
	case !forRotation && s.due(t.s, now):
		return errNeedsRotation
	}
	if !forRotation {
		t.s.calls++
	}
	return nil
}

// due reports a session that API calls must rotate before they pass.
func (s *Server) due(ses *session, now time.Time) bool {
	return now.Sub(ses.rotatedAt) >= s.cfg.RotateAfter || (s.cfg.RotateEvery > 0 && ses.calls >= s.cfg.RotateEvery)
}

// rotate is POST /api/user/auth-tokens/rotate: it needs only a known session
// cookie, not a fresh one.
func (s *Server) rotate(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(s.cfg.CookieName)
	if err != nil || c.Value == "" {
		writeJSON(w, errUnauthorized.status, errUnauthorized.body)
		return
	}
	if aerr := s.checkSession(c.Value, true); aerr != nil {
		writeJSON(w, aerr.status, aerr.body)
		return
	}
	s.mu.Lock()
	t := s.sessions[c.Value]
	ses := t.s
	now := s.cfg.Now()
	for tok, st := range s.sessions {
		if !st.graceUntil.IsZero() && !now.Before(st.graceUntil) {
			delete(s.sessions, tok)
		}
	}
	// A session due by its call count is rotated however recently it was:
	// skipping it would leave the caller with a token that cannot pass.
	if now.Sub(ses.rotatedAt) >= skipRotation || s.due(ses, now) {
		// The old token lives on briefly for requests already in flight.
		s.sessions[ses.current] = &sessionToken{s: ses, graceUntil: now.Add(rotationGrace)}
		ses.current = newToken()
		ses.rotatedAt, ses.calls = now, 0
		s.sessions[ses.current] = &sessionToken{s: ses}
		s.rotations.Add(1)
	}
	token, expiry := ses.current, ses.rotatedAt.Add(s.cfg.RotateAfter)
	s.mu.Unlock()

	http.SetCookie(w, &http.Cookie{
		Name: s.cfg.CookieName, Value: url.QueryEscape(token), Path: "/",
		MaxAge: cookieMaxAge, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	http.SetCookie(w, &http.Cookie{
		Name: "grafana_session_expiry", Value: strconv.FormatInt(expiry.Unix(), 10), Path: "/",
		MaxAge: cookieMaxAge, SameSite: http.SameSiteLaxMode,
	})
	writeJSON(w, http.StatusOK, map[string]any{})
}

// csrf is Grafana's CSRF middleware: a request carrying the session cookie
// and an Origin whose host differs from Host is refused. Grafana writes the
// refusal with http.Error, so it is plain text, not JSON.
func (s *Server) csrf(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie(s.cfg.CookieName); err != nil {
			next.ServeHTTP(w, r)
			return
		}
		switch r.Method {
		case http.MethodHead, http.MethodOptions, http.MethodTrace:
			next.ServeHTTP(w, r)
			return
		}
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		u, err := url.Parse(origin)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(r.Host); err == nil {
			host = h
		}
		if host == "" || u.Hostname() != host {
			http.Error(w, "origin not allowed", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return "", false
}

// requestOrg reads X-Grafana-Org-Id; like Grafana, a missing or unparsable
// header means the user's default org, here the one of every client.
func (s *Server) requestOrg(r *http.Request) int64 {
	if id, err := strconv.ParseInt(r.Header.Get("X-Grafana-Org-Id"), 10, 64); err == nil && id > 0 {
		return id
	}
	return s.org()
}

// org is the organization every client belongs to.
func (s *Server) org() int64 {
	if s.cfg.Org > 0 {
		return s.cfg.Org
	}
	return 1
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
