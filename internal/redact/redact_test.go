package redact

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte("admin:p@ss w/rd+"))
	var s Set
	s.Add("glsa_token_0123", "p@ss w/rd+", basic, "", `quo"te\x<y>&`)
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "Authorization: Bearer glsa_token_0123.", "Authorization: Bearer [redacted]."},
		{"twice", "glsa_token_0123 glsa_token_0123", "[redacted] [redacted]"},
		{"query-escaped", "password=p%40ss+w%2Frd%2B", "password=[redacted]"},
		{"path-escaped", "/login/p@ss%20w%2Frd+", "/login/[redacted]"},
		{"base64", "Authorization: Basic " + basic, "Authorization: Basic [redacted]"},
		{"json", `{"x":"quo\"te\\x\u003cy\u003e\u0026"}`, `{"x":"[redacted]"}`},
		{"json without html escapes", `{"x":"quo\"te\\x<y>&"}`, `{"x":"[redacted]"}`},
		{"go-quoted", `"quo\"te\\x<y>&"`, `"[redacted]"`},
		{"nothing secret", "HTTP 502: Bad Gateway", "HTTP 502: Bad Gateway"},
	} {
		if got := s.String(tc.in); got != tc.want {
			t.Errorf("%s: String(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestLongerSecretGoesWhole(t *testing.T) {
	var s Set
	s.Add("abcdef", "abcdef-wrong")
	if got := s.String("token abcdef-wrong"); got != "token [redacted]" {
		t.Errorf("got %q, want the longer secret replaced whole", got)
	}
}

func TestNilAndEmptySets(t *testing.T) {
	var none *Set
	none.Add("x")
	for _, s := range []*Set{none, {}} {
		if got := s.String("glsa_x"); got != "glsa_x" {
			t.Errorf("String = %q", got)
		}
		if got := s.Cut("glsa_x"); got != "glsa_x" {
			t.Errorf("Cut = %q", got)
		}
	}
}

func TestCut(t *testing.T) {
	var s Set
	s.Add("glsa_token_0123")
	for _, tc := range []struct{ in, want string }{
		{"echo: Bearer glsa_tok", "echo: Bearer [redacted]"},
		{"echo: Bearer glsa_token_012", "echo: Bearer [redacted]"},
		{"echo: Bearer gls", "echo: Bearer gls"}, // too short to give anything away
		{"no secret here", "no secret here"},
	} {
		if got := s.Cut(tc.in); got != tc.want {
			t.Errorf("Cut(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestErr(t *testing.T) {
	var s Set
	s.Add("sekrit-value")
	base := fs.ErrPermission
	err := s.Err(errors.Join(errors.New("echoed sekrit-value"), base))
	if strings.Contains(err.Error(), "sekrit") || !errors.Is(err, base) {
		t.Errorf("Err = %v (wraps fs.ErrPermission: %v)", err, errors.Is(err, base))
	}
	plain := errors.New("nothing")
	if s.Err(plain) != plain || s.Err(nil) != nil {
		t.Error("an error without a secret is not returned as it is")
	}
}

func TestWriter(t *testing.T) {
	var s Set
	s.Add("sekrit-value")
	var b bytes.Buffer
	w := s.Writer(&b)
	n, err := w.Write([]byte("got sekrit-value\n"))
	if err != nil || n != len("got sekrit-value\n") || b.String() != "got [redacted]\n" {
		t.Errorf("Write = %d, %v; wrote %q", n, err, b.String())
	}
}

func TestHandler(t *testing.T) {
	var s Set
	s.Add(`sek"rit`)
	for _, json := range []bool{false, true} {
		var b bytes.Buffer
		var h slog.Handler = slog.NewTextHandler(&b, nil)
		if json {
			h = slog.NewJSONHandler(&b, nil)
		}
		log := slog.New(s.Handler(h)).With("given", `sek"rit`).WithGroup("g")
		log.Warn(`echo sek"rit`, "err", errors.New(`HTTP 400: sek"rit`), "n", 3, slog.Group("in", "v", `sek"rit`))
		out := b.String()
		if strings.Contains(out, "sek") || strings.Count(out, Mark) != 4 || !strings.Contains(out, "3") {
			t.Errorf("json %v: %s", json, out)
		}
	}
}

func TestAddBasic(t *testing.T) {
	var s Set
	s.AddBasic("123456", "glc_x/y")
	for _, in := range []string{"glc_x/y", "123456:glc_x/y", "MTIzNDU2OmdsY194L3k=", "glc_x%2Fy"} {
		if got := s.String("a " + in + " b"); got != "a "+Mark+" b" {
			t.Errorf("%q redacted to %q", in, got)
		}
	}
	if got := s.String("user 123456"); got != "user 123456" {
		t.Errorf("the user alone is no secret: %q", got)
	}
}
