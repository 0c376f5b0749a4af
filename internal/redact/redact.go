// Package redact keeps the credentials a run holds out of everything it
// prints or saves. A server's error body may echo the request's
// Authorization or Cookie header (a proxy, a debug page), and that text
// travels on in errors, log records and summaries: rather than trust every
// place that quotes a server, the program passes all its output through one
// Set, which knows every credential value and the forms it takes in text.
package redact

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Mark stands where a credential was.
const Mark = "[redacted]"

// Set is the credentials of a run; the zero Set holds none, and a nil *Set
// redacts nothing. It is safe for concurrent use: a rotated session cookie
// joins it while workers print.
type Set struct {
	mu    sync.RWMutex
	forms []string // longest first, so a secret that holds another goes whole
	r     *strings.Replacer
}

// AddBasic adds the credentials of HTTP basic auth: the password, and the
// user:password pair as given and in base64, as the Authorization header
// carries it (a server that echoes headers quotes that form).
func (s *Set) AddBasic(user, password string) {
	if user == "" && password == "" {
		return
	}
	pair := user + ":" + password
	s.Add(password, pair, base64.StdEncoding.EncodeToString([]byte(pair)))
}

// Add adds credential values, each with the forms it takes when text
// quotes it: URL-escaped (a query string, a cookie), JSON-escaped (a JSON
// log record or summary) and Go-quoted (%q).
func (s *Set) Add(values ...string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		if v == "" {
			continue
		}
		for _, f := range []string{v, url.QueryEscape(v), url.PathEscape(v), jsonEscaped(v, true), jsonEscaped(v, false), unquoted(strconv.Quote(v))} {
			if !slices.Contains(s.forms, f) {
				s.forms = append(s.forms, f)
			}
		}
	}
	slices.SortStableFunc(s.forms, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	pairs := make([]string, 0, 2*len(s.forms))
	for _, f := range s.forms {
		pairs = append(pairs, f, Mark)
	}
	s.r = strings.NewReplacer(pairs...)
}

func jsonEscaped(v string, html bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	_ = enc.Encode(v) // a string always encodes
	return unquoted(strings.TrimSuffix(b.String(), "\n"))
}

func unquoted(q string) string { return q[1 : len(q)-1] }

// String returns text with every form of every credential replaced by Mark.
func (s *Set) String(text string) string {
	if s == nil {
		return text
	}
	s.mu.RLock()
	r := s.r
	s.mu.RUnlock()
	if r == nil {
		return text
	}
	return r.Replace(text)
}

// minCut is the shortest start of a credential that Cut marks: shorter
// ones give little away and end ordinary text too often.
const minCut = 4

// Cut returns text, which was cut short at its end, without a tail that
// begins a credential: the rest of the secret was cut away, and what is
// left of it would still give part of it away once the text is embedded in
// a longer one, where String no longer sees it as the end.
func (s *Set) Cut(text string) string {
	if s == nil {
		return text
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, f := range s.forms {
		for n := min(len(f)-1, len(text)); n >= minCut; n-- {
			if strings.HasSuffix(text, f[:n]) {
				return text[:len(text)-n] + Mark
			}
		}
	}
	return text
}

// Err returns err with its text redacted; errors.Is and errors.As still
// see the errors it wraps.
func (s *Set) Err(err error) error {
	if err == nil {
		return nil
	}
	if msg := s.String(err.Error()); msg != err.Error() {
		return &redacted{msg: msg, err: err}
	}
	return err
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

// Writer returns w with everything written to it redacted. Each Write is
// redacted on its own: a log record, a line of a summary.
func (s *Set) Writer(w io.Writer) io.Writer { return writer{s, w} }

type writer struct {
	s *Set
	w io.Writer
}

func (w writer) Write(p []byte) (int, error) {
	text := string(p)
	out := w.s.String(text)
	if out == text {
		return w.w.Write(p)
	}
	if _, err := io.WriteString(w.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Handler returns h with the message and the attributes of every record
// redacted before h formats them, so that no escaping of h's (JSON's, a
// quoted text value's) hides a credential from the Set.
func (s *Set) Handler(h slog.Handler) slog.Handler { return handler{s, h} }

type handler struct {
	s *Set
	h slog.Handler
}

func (h handler) Enabled(ctx context.Context, l slog.Level) bool { return h.h.Enabled(ctx, l) }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.s.String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.h.Handle(ctx, out)
}

func (h handler) WithAttrs(as []slog.Attr) slog.Handler {
	for i, a := range as {
		as[i] = h.attr(a)
	}
	return handler{h.s, h.h.WithAttrs(as)}
}

func (h handler) WithGroup(name string) slog.Handler { return handler{h.s, h.h.WithGroup(name)} }

// attr redacts the texts of a: strings, errors, and the attributes of a
// group. Other values keep their kind, so a handler formats them as before.
func (h handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.s.String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, ga := range g {
			out[i] = h.attr(ga)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.Any(a.Key, h.s.Err(err))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
