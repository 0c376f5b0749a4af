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
	"time"

	"github.com/promrecover/promrecover/extract"
)

// The errors here are the ones users met and could not act on from
// Grafana's own text: each names the fix. None may quote a credential:
// Auth values are never formatted into them.

// ErrManyCredentials is returned by NewClient for more than one kind of
// credentials; the caller knows which came from the environment.
var ErrManyCredentials = extract.Usage(extract.ParamErrorf("give one kind of credentials: a token, a session, or a user and password"))

// checkCredentials refuses, before anything is sent, credentials that can
// never work on Grafana's HTTP API: Grafana Cloud access-policy tokens
// (glc_...) authorize Grafana Cloud's Prometheus, Loki and other endpoints,
// not Grafana itself, and Grafana would only answer "Invalid API key".
func checkCredentials(a Auth) error {
	create := extract.ParamErrorf("create a service account token (glsa_...) in Grafana under Administration > Users and access > Service accounts, give it the Viewer role (or datasources:query), and give it as the token")
	switch {
	case strings.HasPrefix(a.Token, "glc_"):
		return fmt.Errorf("the token is a Grafana Cloud access-policy token (glc_...), which authorizes Grafana Cloud's Prometheus endpoint but not the Grafana HTTP API that promrecover reads through; %w", create)
	case strings.HasPrefix(a.Password, "glc_"):
		return fmt.Errorf("the password is a Grafana Cloud access-policy token (glc_...): with the stack's instance id as user it logs in to Grafana Cloud's Prometheus endpoint, not to Grafana; %w", create)
	}
	return nil
}

// checkURL refuses an address that is certainly not Grafana's: the
// Prometheus (Mimir) endpoint of a Grafana Cloud stack, or any /api/prom
// path, which users copy from the stack's details page next to the token.
func checkURL(u *url.URL) error {
	host := strings.ToLower(u.Hostname())
	if (strings.HasPrefix(host, "prometheus-") && strings.HasSuffix(host, ".grafana.net")) || strings.HasPrefix(u.Path, "/api/prom") {
		return extract.ParamErrorf("the Grafana URL %s is a Prometheus (Mimir) endpoint, not Grafana: promrecover reads through Grafana's HTTP API; give the address you open Grafana at, e.g. https://<stack>.grafana.net; or read this Prometheus API directly, without Grafana, as the source URL", u.Redacted())
	}
	return nil
}

// orgMismatch explains a token refused for the organization asked for: a service account
// token belongs to one organization and works only in it.
func orgMismatch(se *StatusError, orgID int64) error {
	return extract.ParamErrorf("%w: the token belongs to another organization than %d; ask for no organization to use the token's own, or create a service account token in organization %d", se, orgID, orgID)
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
		return "", extract.Usage(extract.ParamErrorf("the session is neither a cookie value nor a Cookie header; give the value of the %s cookie only", cookieName))
	}
	return "", extract.Usage(extract.ParamErrorf("the session holds the cookies %s but none named %s; give the value of the %s cookie, or the cookie's name if this Grafana's [auth] login_cookie_name is another", strings.Join(names, ", "), cookieName, cookieName))
}

// relogin says how to get a session cookie that works again.
func relogin(cookieName string) error {
	return extract.ParamErrorf("log in again to Grafana in a browser, copy the value of the new %s cookie (developer tools > Application or Storage > Cookies) and give it as the session; or use a service account token, which never needs rotating", cookieName)
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
			return rotationAdvice(extract.ParamErrorf("%s (it set %s: if this Grafana's [auth] login_cookie_name is one of these, give it as the cookie's name)", why, strings.Join(other, ", ")), cookieName)
		}
		why += " (a proxy in front of Grafana may drop Set-Cookie headers)"
	}
	return rotationAdvice(errors.New(why), cookieName)
}

// rotationAdvice ends a refused rotation with how to log in again.
func rotationAdvice(why error, cookieName string) error {
	return &extract.AbortError{Err: fmt.Errorf("the session is due for rotation (401 session.token.rotate) and %w; %w", why, relogin(cookieName))}
}

// rotatedInVain explains a request that met a rotation demand after each
// of n rotations in a row: the session is not refused, but no call gets
// through with it, because something rotates it faster.
func rotatedInVain(n int, cookieName string) error {
	return rotationAdvice(fmt.Errorf("it was due again after each of %d rotations in a row: another client using the same session (a browser tab) keeps rotating it, or Grafana's [auth] token_rotation_interval_minutes is shorter than a request takes", n), cookieName)
}

// originRefused explains Grafana's CSRF refusal. promrecover sends no Origin
// header, so something between it and Grafana (a reverse proxy, an API
// gateway, a corporate proxy) added one that does not match the host.
func originRefused(err error) error {
	return &extract.AbortError{Err: extract.ParamErrorf("%w: Grafana's CSRF check refused a cookie-authenticated request whose Origin header names another host than the one Grafana was asked for. promrecover sends no Origin header: a proxy between it and Grafana added it. Fix one of: make the proxy stop adding Origin (or forward the Host Grafana expects); add that origin's host to Grafana's [security] csrf_trusted_origins; or use a service account token, which the CSRF check does not apply to", err)}
}

// errHTMLPage lets discovery tell a page (a gateway refusing a route)
// from Grafana's own answers.
var errHTMLPage = errors.New("an HTML page")

// htmlAnswer explains an API call answered with a web page instead of
// JSON: no retry can fix that, and Grafana's API never does it.
func htmlAnswer(method, path, url string) error {
	var err error = extract.ParamErrorf("%s %s answered with %w, not Grafana's JSON API: either the Grafana URL %s is not the address Grafana serves its API at (a missing sub-path such as /grafana, or another application), or a login proxy in front of Grafana (SSO, oauth2-proxy, an access gateway) answered with its login page; give the URL at which %s/api/health answers JSON, or one that bypasses the login proxy", method, path, errHTMLPage, url, url)
	if strings.HasPrefix(path, "/api/datasources/proxy/") {
		// Grafana hands back whatever the datasource's server answered,
		// headers included: a page there passes through unchanged.
		err = extract.ParamErrorf("%w. Through the datasource proxy the page may also come from the datasource's URL, which Grafana forwards the query to (a login page in front of Prometheus, or an address that is not Prometheus's): check it in Grafana under Connections > Data sources with Save & test, or read through /api/ds/query", err)
	}
	return &extract.AbortError{Err: err}
}

// slowBody is an answer whose body was still coming, far from complete,
// when the request timed out. Grafana and Prometheus compute an answer
// whole before they send it, so a body that comes slowly is held back on
// the way (a proxy, a poor link): a smaller query would come as slowly.
type slowBody struct {
	err     error
	got     int64
	timeout time.Duration
}

func (e *slowBody) Error() string {
	return fmt.Sprintf("%v: the answer was still arriving when the request timeout of %s ran out, with %d bytes of it received; something between promrecover and Grafana (a proxy, a slow link) holds answers back, and each retry or smaller query would wait as long again, so the run stops: check that path, or raise the request timeout", e.err, e.timeout, e.got)
}
func (e *slowBody) Unwrap() error { return e.err }

// heldBackBytes: a body that brought less than this before the request
// timed out is held back, not big.
const heldBackBytes = 1 << 20

// heldBack returns err, a failure to read a body after got bytes, as a
// *slowBody when the request's timeout cut it and it had come slowly.
func heldBack(err error, got int64, timeout time.Duration) error {
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || got >= heldBackBytes {
		return err
	}
	return &slowBody{err: err, got: got, timeout: timeout}
}

// tooDeep explains an answer nested deeper than JSON decoders go (10,000
// levels: encoding/json's limit, and Prometheus's, Mimir's and Grafana's
// decoders' too): the same query gets the same answer, so a retry cannot
// pass, and no Prometheus matrix or data frame nests more than a few
// levels, so the answer is not one at all.
func tooDeep(err error) error {
	return fmt.Errorf("%w: the answer nests JSON more than 10,000 levels deep, which no Prometheus or Grafana answer does, so no retry can pass: something between promrecover and Grafana (a proxy, another application at the Grafana URL), or between Grafana and its datasource (check the datasource's URL in Grafana under Connections > Data sources), answers in Grafana's place", err)
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
		return &extract.AbortError{Err: extract.ParamErrorf("%w: no such host; check the spelling of the Grafana URL %s (the address you open Grafana at)", err, base)}
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci):
		return &extract.AbortError{Err: extract.ParamErrorf("%w: this machine does not trust the TLS certificate of %s; if Grafana's certificate comes from a private CA, add the CA to the system's trust store or point SSL_CERT_FILE at its PEM file, and check that the Grafana URL names the host the certificate is for", err, base)}
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return &extract.AbortError{Err: extract.ParamErrorf("%w: %s answers plain HTTP on that port: write http:// in the Grafana URL, or give the port Grafana serves HTTPS on", err, base)}
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
		// Interrupted: the run stops as cancelled, not on a bad parameter.
		return fmt.Errorf("%s; listing the datasources: %w", msg, context.Cause(ctx))
	}
	if err != nil {
		return &extract.AbortError{Err: fmt.Errorf("%s; find its uid in Grafana under Connections > Data sources: it is the last part of the datasource's URL", msg)}
	}
	return &extract.AbortError{Err: pickOne(msg, prometheusOnes(list))}
}

// onlyDatasource is the datasource of a run not told which: the one
// Prometheus datasource the credentials see. With several it refuses,
// listing them, rather than guess and recover another Prometheus's data.
func (c *Client) onlyDatasource(ctx context.Context) (Datasource, error) {
	list, err := c.Datasources(ctx)
	if err != nil {
		return Datasource{}, err
	}
	proms := prometheusOnes(list)
	if len(proms) == 1 {
		c.opts.Log.Info("no datasource given; using the only Prometheus datasource these credentials see", "datasource", proms[0].Name, "uid", proms[0].UID)
		return proms[0], nil
	}
	msg := "no datasource given"
	if len(proms) > 1 {
		msg = "no datasource given, and these credentials see several Prometheus datasources"
	}
	return Datasource{}, &extract.AbortError{Err: pickOne(msg, proms)}
}

// prometheusOnes are the Prometheus datasources of list.
func prometheusOnes(list []Datasource) []Datasource {
	var proms []Datasource
	for _, ds := range list {
		if strings.Contains(ds.Type, "prometheus") {
			proms = append(proms, ds)
		}
	}
	return proms
}

// pickOne is msg with the Prometheus datasources to choose from.
func pickOne(msg string, proms []Datasource) error {
	known := make([]string, len(proms))
	for i, ds := range proms {
		known[i] = fmt.Sprintf("%s (%s)", ds.UID, ds.Name)
	}
	switch {
	case len(known) == 0:
		return extract.Usage(extract.ParamErrorf("%s; these credentials see no Prometheus datasource (check the organization, or the service account's permissions)", msg))
	case len(known) > 10:
		return extract.Usage(extract.ParamErrorf("%s; give as the datasource one of the uids or names the datasources list, e.g. %s (%d more)", msg, strings.Join(known[:10], ", "), len(known)-10))
	}
	return extract.Usage(extract.ParamErrorf("%s; give as the datasource one of the uids (or names) the datasources list: %s", msg, strings.Join(known, ", ")))
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
	return &extract.AbortError{Err: extract.ParamErrorf("%w; nothing answered there after every retry: check the host and port of the Grafana URL (the address you open Grafana at) and that this machine can reach it (a firewall; HTTPS_PROXY and NO_PROXY when a proxy is needed)", err)}
}
