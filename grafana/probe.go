package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/promrecover/promrecover/extract"
)

// A wrong Grafana URL used to surface on the first real call as
// "datasource not found" or a bare 404, which sends users looking at the
// datasource. Users give three kinds of wrong address: a page of the web UI
// copied from the browser, which apiBase mends; an address answered with a
// redirect; and something that is not Grafana (often the Prometheus
// itself). The client asks /api/health once before its first call to tell
// the last two apart from Grafana.

// healthPath is the one endpoint every Grafana answers without
// credentials, with JSON.
const healthPath = "/api/health"

// uiPages are the first path segments of the pages of Grafana's web UI
// (dashboards, Explore, app plugins, short links, rendered panels, the
// administration pages); none is a prefix of Grafana's API.
var uiPages = map[string]bool{
	"d": true, "d-solo": true, "dashboard": true, "dashboards": true, "explore": true,
	"a": true, "goto": true, "render": true, "alerting": true, "connections": true,
	"datasources": true, "plugins": true, "admin": true, "org": true, "profile": true,
	"playlists": true, "library-panels": true, "public-dashboards": true, "login": true,
}

// apiBase is the address Grafana serves its API at, for u as users give
// it: the address of a page is cut before the page's path, keeping a
// sub-path Grafana is served under (/grafana/d/abc/x gives /grafana), and
// loses its query. org is the page's orgId, 0 when it has none; page says
// whether anything was cut.
func apiBase(u *url.URL) (base *url.URL, org int64, page bool) {
	base = &url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host, Path: strings.TrimRight(u.Path, "/")}
	segments := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i, s := range segments {
		if uiPages[s] {
			base.Path = strings.TrimRight("/"+strings.Join(segments[:i], "/"), "/")
			page = true
			break
		}
	}
	if u.RawQuery != "" || u.Fragment != "" {
		page = true
	}
	if id, err := strconv.ParseInt(u.Query().Get("orgId"), 10, 64); err == nil && id > 0 {
		org = id
	}
	return base, org, page
}

// probe checks, once per client and before its first API call, that the
// Grafana URL is Grafana's; Stats leave it out, as they count the calls a
// run's work needs. It returns nil when it cannot tell (a network
// failure, a 5xx, credentials a proxy wants): the call that follows meets
// the same trouble and explains it or retries it.
func (c *Client) probe(ctx context.Context) error {
	c.probeMu.Lock()
	defer c.probeMu.Unlock()
	if c.probed {
		return c.probeErr
	}
	err := c.checkHealth(ctx)
	if ctx.Err() != nil {
		// Interrupted: that proves nothing, and the run stops anyway.
		return err
	}
	c.probed, c.probeErr = true, err
	return err
}

func (c *Client) checkHealth(ctx context.Context) error {
	_, err := c.Health(ctx)
	var abort *extract.AbortError
	if errors.As(err, &abort) {
		return err
	}
	// A 5xx, a proxy's refusal, a network failure: the call that follows
	// meets the same trouble and explains or retries it.
	return nil
}

// Health asks /api/health, once and without credentials, and returns the
// version Grafana gives. An address that is not Grafana's (a Prometheus,
// another application, a page, a redirect) and one no retry can reach are
// an *extract.AbortError naming the fix; other failures are as they came
// (a *StatusError, a network error).
func (c *Client) Health(ctx context.Context) (string, error) {
	var h struct{ Version string }
	err := c.exchange(ctx, http.MethodGet, healthPath, nil, nil, func(_ int, body io.Reader) error {
		return json.NewDecoder(io.LimitReader(body, 1<<16)).Decode(&h)
	})
	var se *StatusError
	var abort *extract.AbortError
	switch {
	case err == nil:
		return h.Version, nil
	case errors.As(err, &abort): // a page, a redirect
		return "", err
	case !errors.As(err, &se):
		if h := unreachable(err, c.base.String()); h != nil {
			return "", h
		}
		return "", err
	case se.Status != http.StatusNotFound:
		return "", err
	}
	if version, ok := c.prometheusVersion(ctx); ok {
		return "", &extract.AbortError{Err: extract.ParamErrorf("the Grafana URL %s is a Prometheus server (version %s), not Grafana: it has no /api/health and answers Prometheus's /api/v1/status/buildinfo. promrecover reads Prometheus's data through Grafana's HTTP API; give the address you open Grafana at, of a Grafana that has this Prometheus as a datasource; or read this Prometheus directly, without Grafana, as the source URL", c.base.String(), version)}
	}
	// The 404 is not wrapped: callers take a 404 for a datasource or an
	// endpoint that is missing, and would look further.
	return "", &extract.AbortError{Err: extract.ParamErrorf("%s: %s%s, which every Grafana answers without credentials, is not there, so the Grafana URL %s is not Grafana's address: another application, or a Grafana served under a sub-path (such as /grafana) that the URL lacks; give the address you open Grafana at, with its sub-path", se.Error(), c.base.String(), healthPath, c.base.String())}
}

// prometheusVersion asks what answers in Grafana's place whether it is a
// Prometheus, whose build information endpoint needs no credentials either.
func (c *Client) prometheusVersion(ctx context.Context) (string, bool) {
	var info struct {
		Status string
		Data   struct{ Version string }
	}
	err := c.exchange(ctx, http.MethodGet, "/api/v1/status/buildinfo", nil, nil, func(_ int, body io.Reader) error {
		return json.NewDecoder(io.LimitReader(body, 1<<16)).Decode(&info)
	})
	return info.Data.Version, err == nil && info.Status == "success" && info.Data.Version != ""
}

// redirected explains an answer that sends the client elsewhere. The client
// follows no redirect: one to another host would carry the credentials
// there, and one from http to https has already sent them in clear.
func redirected(method, path string, status int, location *url.URL, base string) error {
	shown := (&url.URL{Scheme: location.Scheme, Host: location.Host, Path: location.Path}).String()
	reqPath, _, _ := strings.Cut(path, "?")
	if moved, ok := strings.CutSuffix(location.Path, reqPath); ok && location.Host != "" {
		// The same request elsewhere: Grafana's address is the rest.
		to := (&url.URL{Scheme: location.Scheme, Host: location.Host, Path: moved}).String()
		return &extract.AbortError{Err: extract.ParamErrorf("%s %s was redirected (HTTP %d) to %s: Grafana answers at another address; give %s as the Grafana URL", method, reqPath, status, shown, to)}
	}
	return &extract.AbortError{Err: extract.ParamErrorf("%s %s was redirected (HTTP %d) to %s, not answered: a login proxy in front of Grafana (SSO, oauth2-proxy, an access gateway) sends it to its login page, or the Grafana URL %s is not the address Grafana serves its API at; give the address at which Grafana's API answers (where %s answers JSON), or one that bypasses the login proxy", method, reqPath, status, shown, base, healthPath)}
}

// noRedirects hands a redirect back to the client instead of following it.
type noRedirects struct{}

func (noRedirects) Apply(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
