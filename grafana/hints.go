package grafana

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/promrecover/promrecover/extract"
)

// The errors here are the ones users met and could not act on from
// Grafana's own text: each names the fix. None may quote a credential:
// Auth values are never formatted into them.

// ErrManyCredentials is returned by NewClient for more than one kind of
// credentials; the caller knows which came from the environment.
var ErrManyCredentials = errors.New("give one kind of credentials: --token, --session, or --user/--password")

// checkCredentials refuses, before anything is sent, credentials that can
// never work on Grafana's HTTP API: Grafana Cloud access-policy tokens
// (glc_...) authorize Grafana Cloud's Prometheus, Loki and other endpoints,
// not Grafana itself, and Grafana would only answer "Invalid API key".
func checkCredentials(a Auth) error {
	const create = "create a service account token (glsa_...) in Grafana under Administration > Users and access > Service accounts, give it the Viewer role (or datasources:query), and pass it with --token or GRAFANA_TOKEN"
	switch {
	case strings.HasPrefix(a.Token, "glc_"):
		return errors.New("the token is a Grafana Cloud access-policy token (glc_...), which authorizes Grafana Cloud's Prometheus endpoint but not the Grafana HTTP API that promrecover reads through; " + create)
	case strings.HasPrefix(a.Password, "glc_"):
		return errors.New("the password is a Grafana Cloud access-policy token (glc_...): with the stack's instance id as user it logs in to Grafana Cloud's Prometheus endpoint, not to Grafana; " + create)
	}
	return nil
}

// checkURL refuses an address that is certainly not Grafana's: the
// Prometheus (Mimir) endpoint of a Grafana Cloud stack, or any /api/prom
// path, which users copy from the stack's details page next to the token.
func checkURL(u *url.URL) error {
	host := strings.ToLower(u.Hostname())
	if (strings.HasPrefix(host, "prometheus-") && strings.HasSuffix(host, ".grafana.net")) || strings.HasPrefix(u.Path, "/api/prom") {
		return fmt.Errorf("--grafana-url %s is a Prometheus (Mimir) endpoint, not Grafana: promrecover reads through Grafana's HTTP API; give the address you open Grafana at, e.g. https://<stack>.grafana.net", u.Redacted())
	}
	return nil
}

// orgMismatch explains a token refused for --org-id: a service account
// token belongs to one organization and works only in it.
func orgMismatch(se *StatusError, orgID int64) error {
	return fmt.Errorf("%w: the token belongs to another organization than --org-id %d; leave --org-id out to use the token's own organization, or create a service account token in organization %d", se, orgID, orgID)
}

// SessionValue accepts what users paste as the session: the cookie's value,
// or a whole Cookie header copied from a browser's developer tools, from
// which it takes the value of the cookie named cookieName. A value with
// cookie syntax but no such cookie is refused, naming the cookies found
// (never their values).
func SessionValue(v, cookieName string) (string, error) {
	v = strings.TrimSpace(v)
	if !strings.ContainsAny(v, "=;") {
		return v, nil
	}
	header, _ := strings.CutPrefix(v, "Cookie:")
	cookies, err := http.ParseCookie(strings.TrimSpace(header))
	var names []string
	for _, ck := range cookies {
		if ck.Name == cookieName {
			return ck.Value, nil
		}
		names = append(names, ck.Name)
	}
	if err != nil || len(names) == 0 {
		return "", fmt.Errorf("the session (--session or GRAFANA_SESSION) is neither a cookie value nor a Cookie header; pass the value of the %s cookie only", cookieName)
	}
	return "", fmt.Errorf("the session (--session or GRAFANA_SESSION) holds the cookies %s but none named %s; pass the value of the %s cookie, or --cookie-name NAME if this Grafana's [auth] login_cookie_name is another", strings.Join(names, ", "), cookieName, cookieName)
}

// relogin says how to get a session cookie that works again.
func relogin(cookieName string) string {
	return fmt.Sprintf("log in again to Grafana in a browser, copy the value of the new %s cookie (developer tools > Application or Storage > Cookies) and pass it with --session or GRAFANA_SESSION; or use a service account token (--token), which never needs rotating", cookieName)
}

// rotationRefused explains a session that must be rotated but cannot be:
// the rotate endpoint refused (the token is past its maximum lifetime, was
// revoked meanwhile, or the endpoint is missing), or it answered without the
// new cookie. No other request can pass with that session, so the run stops.
func rotationRefused(status int, set []*http.Cookie, cookieName string) error {
	why := fmt.Sprintf("Grafana refused to rotate it (HTTP %d)", status)
	if status == http.StatusOK {
		why = fmt.Sprintf("Grafana answered without a new %s cookie", cookieName)
		// Cookie names are not secrets; their values are never read here.
		var other []string
		for _, ck := range set {
			if ck.Name != cookieName && ck.Name != "grafana_session_expiry" && !slices.Contains(other, ck.Name) {
				other = append(other, ck.Name)
			}
		}
		if len(other) > 0 {
			why += fmt.Sprintf(" (it set %s: if this Grafana's [auth] login_cookie_name is one of these, pass it with --cookie-name)", strings.Join(other, ", "))
		} else {
			why += " (a proxy in front of Grafana may drop Set-Cookie headers)"
		}
	}
	return &extract.AbortError{Err: fmt.Errorf("the session is due for rotation (401 session.token.rotate) and %s; %s", why, relogin(cookieName))}
}

// originRefused explains Grafana's CSRF refusal. promrecover sends no Origin
// header, so something between it and Grafana (a reverse proxy, an API
// gateway, a corporate proxy) added one that does not match the host.
func originRefused(err error) error {
	return &extract.AbortError{Err: fmt.Errorf("%w: Grafana's CSRF check refused a cookie-authenticated request whose Origin header names another host than the one Grafana was asked for. promrecover sends no Origin header: a proxy between it and Grafana added it. Fix one of: make the proxy stop adding Origin (or forward the Host Grafana expects); add that origin's host to Grafana's [security] csrf_trusted_origins; or use a service account token (--token), which the CSRF check does not apply to", err)}
}

// limitHint names the flag that avoids a datasource limit, for a part that
// stayed over it even split as far as it goes.
func limitHint(limit string) string {
	switch limit {
	case "exceeded maximum resolution":
		return "; Prometheus answers at most 11,000 points per series and query: choose a larger --step (at least the range of a query / 11,000), or leave --step out to fetch the raw samples, which this limit does not apply to"
	case "err-mimir-max-series-per-query":
		return "; narrow the selector with --match, or lower --max-series-per-query so large selectors are sharded before fetching"
	}
	return ""
}

// errHTMLPage lets discovery tell a page (a gateway refusing a route)
// from Grafana's own answers.
var errHTMLPage = errors.New("an HTML page")

// htmlAnswer explains an API call answered with a web page instead of
// JSON: no retry can fix that, and Grafana's API never does it.
func htmlAnswer(method, path, url string) error {
	err := fmt.Errorf("%s %s answered with %w, not Grafana's JSON API: either --grafana-url %s is not the address Grafana serves its API at (a missing sub-path such as /grafana, or another application), or a login proxy in front of Grafana (SSO, oauth2-proxy, an access gateway) answered with its login page; give the URL at which %s/api/health answers JSON, or one that bypasses the login proxy", method, path, errHTMLPage, url, url)
	if strings.HasPrefix(path, "/api/datasources/proxy/") {
		// Grafana hands back whatever the datasource's server answered,
		// headers included: a page there passes through unchanged.
		err = fmt.Errorf("%w. Through the datasource proxy the page may also come from the datasource's URL, which Grafana forwards the query to (a login page in front of Prometheus, or an address that is not Prometheus's): check it in Grafana under Connections > Data sources with Save & test, or read through /api/ds/query (--via ds)", err)
	}
	return &extract.AbortError{Err: err}
}

// unreachable explains a request that cannot reach Grafana for a reason no
// retry changes, or returns nil: the client would otherwise retry it for
// minutes as a network failure.
func unreachable(err error, base string) error {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns) && dns.IsNotFound:
		return &extract.AbortError{Err: fmt.Errorf("%w: no such host; check the spelling of --grafana-url %s (the address you open Grafana at)", err, base)}
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci):
		return &extract.AbortError{Err: fmt.Errorf("%w: this machine does not trust the TLS certificate of %s; if Grafana's certificate comes from a private CA, add the CA to the system's trust store or point SSL_CERT_FILE at its PEM file, and check that --grafana-url names the host the certificate is for", err, base)}
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return &extract.AbortError{Err: fmt.Errorf("%w: %s answers plain HTTP on that port: write http:// in --grafana-url, or give the port Grafana serves HTTPS on", err, base)}
	}
	return nil
}

// datasourceNotFound lists the Prometheus datasources the credentials can
// see, so the fix is in the message; where listing is not allowed, it says
// where else to find the uid.
func (c *Client) datasourceNotFound(ctx context.Context, ref string) error {
	msg := fmt.Sprintf("datasource %q not found by uid or name", ref)
	list, err := c.Datasources(ctx)
	if ctx.Err() != nil {
		// Interrupted: the run stops as cancelled, not on a bad flag.
		return fmt.Errorf("%s; listing the datasources: %w", msg, context.Cause(ctx))
	}
	if err != nil {
		return &extract.AbortError{Err: fmt.Errorf("%s; find its uid in Grafana under Connections > Data sources: it is the last part of the datasource's URL", msg)}
	}
	var known []string
	for _, ds := range list {
		if strings.Contains(ds.Type, "prometheus") {
			known = append(known, fmt.Sprintf("%s (%s)", ds.UID, ds.Name))
		}
	}
	switch {
	case len(known) == 0:
		msg += "; these credentials see no Prometheus datasource (check --org-id, or the service account's permissions)"
	case len(known) > 10:
		msg += fmt.Sprintf("; give --datasource one of the uids or names of 'promrecover datasources', e.g. %s (%d more)", strings.Join(known[:10], ", "), len(known)-10)
	default:
		msg += "; give --datasource one of the uids (or names) 'promrecover datasources' lists: " + strings.Join(known, ", ")
	}
	return &extract.AbortError{Err: errors.New(msg)}
}

// nothingAnswered explains a connection that could not even be made after
// every retry. The client retries it as a passing network fault (Grafana
// restarting, mid-run), but once the retries are spent every other request
// would wait as long for the same answer, so the run stops with the fix.
func nothingAnswered(err error) error {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		return err
	}
	return &extract.AbortError{Err: fmt.Errorf("%w; nothing answered there after every retry: check the host and port of --grafana-url (the address you open Grafana at; GRAFANA_URL when the flag is not given) and that this machine can reach it (a firewall; HTTPS_PROXY and NO_PROXY when a proxy is needed)", err)}
}
