package main

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// TestNoCredentialFromAnEchoingServer: a server whose error bodies quote
// every request header (a proxy's or a debug page) answers the first query
// of recover and export, and the datasource list, while the credentials are
// a token, basic auth or a session cookie. No form of any of them (as given,
// base64 user:password, URL- or JSON-escaped) may appear in stdout, stderr
// (text and JSON logs), the error, --summary-json or the resume state; and
// the summary is readable by its owner only.
func TestNoCredentialFromAnEchoingServer(t *testing.T) {
	const user, password = "admin", "pa55/w0rd+s3cret&<x>"
	srv := sim.New(sim.Config{Series: gen.DemoSeries(dataStart, dataEnd, 1), Tokens: []string{testToken}, Users: map[string]string{user: password}})
	session := srv.Login(user)
	pair := user + ":" + password
	var forms []string
	for _, s := range []string{testToken, password, session, pair, base64.StdEncoding.EncodeToString([]byte(pair))} {
		forms = append(forms, s, url.QueryEscape(s), url.PathEscape(s), strings.ReplaceAll(s, "&", `\u0026`))
	}
	auths := map[string][]string{"token": {"--token", testToken}, "basic": {"--user", user, "--password", password}, "session": {"--session", session}}
	dir := t.TempDir()
	from, to := dataStart.Format(time.RFC3339), dataStart.Add(6*time.Hour).Format(time.RFC3339)
	cmds := []struct {
		name  string
		rule  func() *faults.Rule
		args  []string
		state bool
	}{
		{"recover", func() *faults.Rule {
			return faults.On(faults.Fetch).First(1).Do(faults.Echo(http.StatusInternalServerError))
		},
			[]string{"recover", "--datasource", "grafanacloud-prom", "--out", "OUT", "--concurrency", "1", "--retries", "1", "--from", from, "--to", to}, true},
		{"export", func() *faults.Rule { return faults.On(faults.Fetch).First(1).Do(faults.Echo(http.StatusUnauthorized)) },
			[]string{"export", "--datasource", "grafanacloud-prom", "--out", "-", "--from", from, "--to", to}, false},
		{"datasources", func() *faults.Rule {
			return faults.On(faults.PathPrefix("/api/datasources")).Do(faults.Echo(http.StatusForbidden))
		},
			[]string{"datasources"}, false},
	}
	for _, c := range cmds {
		for name, auth := range auths {
			for _, format := range []string{"text", "json"} {
				rule := c.rule()
				url := simtest.Serve(t, srv, rule)
				out := filepath.Join(dir, c.name+name+format)
				if err := os.Mkdir(out, 0o755); err != nil {
					t.Fatal(err)
				}
				summary := out + ".json"
				args := append(append(append([]string{}, c.args...), auth...), "-v", "--log-format", format, "--grafana-url", url)
				for i := range args {
					if args[i] == "OUT" {
						args[i] = out
					}
				}
				if c.name != "datasources" {
					args = append(args, "--summary-json", summary)
				}
				stdout, stderr, err := runCLI(t, args...)
				if err == nil && c.name == "datasources" {
					t.Errorf("%s %s: the refused listing succeeded", c.name, name)
				}
				if rule.Count() == 0 {
					t.Fatalf("%s %s: the echoing answer was never asked for: %v\n%s\n%s", c.name, name, err, stdout, stderr)
				}
				all := map[string]string{"stdout": stdout, "stderr": stderr}
				if err != nil {
					all["the error"] = err.Error()
				}
				if c.name != "datasources" {
					all["--summary-json"] = readFile(t, summary)
					if fi, err := os.Stat(summary); err != nil || fi.Mode().Perm() != 0o600 {
						t.Errorf("%s %s: --summary-json is %v, want mode 0600 (%v)", c.name, name, fi.Mode(), err)
					}
				}
				if c.state {
					all["the state"] = readFile(t, filepath.Join(out, blocks.StateFileName))
				}
				if !strings.Contains(stdout+stderr+all["the error"], "[redacted]") {
					t.Errorf("%s %s %s: nothing was redacted: the echo did not reach the output\n%s\n%s", c.name, name, format, stdout, stderr)
				}
				for where, text := range all {
					for _, f := range forms {
						if strings.Contains(text, f) {
							t.Errorf("%s with %s, %s logs: %s holds %q:\n%s", c.name, name, format, where, f, text)
						}
					}
				}
			}
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestNoSourceCredentialFromAnEchoingServer: with --via prometheus and
// --via remote-read the source's credentials, its own or the Grafana ones
// they fall back to, are redacted as Grafana's are, in every form, wherever
// an echoing answer (of the API, or of remote read) puts them.
func TestNoSourceCredentialFromAnEchoingServer(t *testing.T) {
	const instance, token = "123456", "glc_s3cret/read+x&<y>"
	cloud := &sim.Cloud{Instance: instance, Tokens: map[string][]string{token: {"metrics:read"}}}
	srv := sim.New(sim.Config{Series: gen.DemoSeries(dataStart, dataEnd, 1), Cloud: cloud})
	pair := instance + ":" + token
	var forms []string
	for _, s := range []string{token, pair, base64.StdEncoding.EncodeToString([]byte(pair))} {
		forms = append(forms, s, url.QueryEscape(s), url.PathEscape(s), strings.ReplaceAll(s, "&", `\u0026`))
	}
	from, to := dataStart.Format(time.RFC3339), dataStart.Add(4*time.Hour).Format(time.RFC3339)
	echoed := map[string]faults.Match{"prometheus": faults.PathPrefix(sim.CloudPrefix), "remote-read": faults.Path(sim.CloudPrefix + "/api/v1/read")}
	for _, c := range []struct{ via, name string }{{"prometheus", "source flags"}, {"prometheus", "fallback"}, {"remote-read", "source flags"}, {"remote-read", "fallback"}} {
		auth := map[string][]string{
			"source flags": {"--source-user", instance, "--source-password", token},
			"fallback":     {"--user", instance, "--password", token},
		}[c.name]
		name := c.via + ", " + c.name
		rule := faults.On(echoed[c.via]).First(1).Do(faults.Echo(http.StatusInternalServerError))
		addr := simtest.Serve(t, srv, rule)
		summary := filepath.Join(t.TempDir(), "summary.json")
		args := append([]string{"recover", "--via", c.via, "--source-url", addr + sim.CloudPrefix, "--out", t.TempDir(), "--match", "up",
			"--from", from, "--to", to, "--retries", "1", "-v", "--summary-json", summary}, auth...)
		stdout, stderr, err := runCLI(t, args...)
		if rule.Count() == 0 {
			t.Fatalf("%s: the echoing answer was never asked for: %v\n%s\n%s", name, err, stdout, stderr)
		}
		all := stdout + stderr + readFile(t, summary)
		if err != nil {
			all += err.Error()
		}
		if !strings.Contains(all, "[redacted]") {
			t.Errorf("%s: nothing was redacted: the echo did not reach the output\n%s\n%s", name, stdout, stderr)
		}
		for _, f := range forms {
			if strings.Contains(all, f) {
				t.Errorf("%s: the output holds %q:\n%s", name, f, all)
			}
		}
	}
}
