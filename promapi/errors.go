package promapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/split"
)

// message is the error text of a refused request's body: Prometheus's
// {"status":"error","error":...}, Grafana Cloud's {"error":...}, Grafana's
// {"message":...}, or the body as it is.
func message(raw []byte) string {
	var m struct{ Error, Message string }
	if json.Unmarshal(raw, &m) == nil && (m.Error != "" || m.Message != "") {
		return m.Error + m.Message
	}
	return strings.TrimSpace(string(raw))
}

// refusal explains an answer that is not a 2xx: credentials refused and an
// address that serves no Prometheus API stop the run (an
// *extract.AbortError naming the fix), others are an *AnswerError for
// retries and splitting to judge.
func (c *Client) refusal(ctx context.Context, endpoint string, status int, body io.Reader) error {
	raw, _ := io.ReadAll(io.LimitReader(body, 4096))
	ae := &AnswerError{HTTPStatus: status, Message: message(raw)}
	msg := strings.ToLower(ae.Message)
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return &extract.AbortError{Err: c.credentials(ae, msg)}
	case status == http.StatusNotFound && c.isGrafana(ctx):
		return &extract.AbortError{Err: extract.ParamErrorf("the source URL %s is Grafana, not a Prometheus API: read through Grafana with the Grafana URL instead, or give as the source URL the Prometheus endpoint itself (for Grafana Cloud the stack's Prometheus URL, ending in /api/prom, from its details page)", c.base)}
	case status == http.StatusNotFound:
		return &extract.AbortError{Err: extract.ParamErrorf("%w: the source URL %s serves no Prometheus API (no /api/v1/%s under it); give the address /api/v1/query is under: for Grafana Cloud the stack's Prometheus URL ending in /api/prom, for Mimir its /prometheus prefix, for Prometheus its address", ae, c.base, endpoint)}
	}
	return ae
}

// credentials explains credentials the server refused, by the texts
// Grafana Cloud's endpoint answers with.
func (c *Client) credentials(ae *AnswerError, msg string) error {
	a := c.opts.Auth
	switch {
	case a.Token == "" && a.User == "":
		return extract.ParamErrorf("%w: the source wants credentials: give the source's user and password (for Grafana Cloud the stack's instance ID and an access policy token) or its token", ae)
	case strings.Contains(msg, "invalid scope requested"):
		return extract.ParamErrorf("%w: the token lacks the metrics:read scope for this stack (a metrics:write token, for one, gets this answer): create an access policy token with metrics:read for the stack in Grafana Cloud under Administration > Users and access > Cloud access policies, and give it as the source's password with the stack's instance ID as its user", ae)
	case strings.Contains(msg, "invalid token"):
		return extract.ParamErrorf("%w: the source does not accept this token: for Grafana Cloud give the stack's numeric instance ID as the source's user and an access policy token (glc_...) as its password; a service account token (glsa_...) is for Grafana's own API, not this endpoint; check that the token is whole, not revoked or expired", ae)
	}
	return ae
}

// isGrafana says whether a Grafana answers at the client's address: its
// /api/health answers JSON with a "database" field, without credentials.
func (c *Client) isGrafana(ctx context.Context) bool {
	c.grafanaOnce.Do(func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/health", nil)
		if err != nil {
			return
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return
		}
		defer resp.Body.Close()
		var h struct{ Database *string }
		c.grafana = resp.StatusCode == http.StatusOK && json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&h) == nil && h.Database != nil
	})
	return c.grafana
}

// retryable says whether another try of the same request may pass: a busy
// or failing server (429, 502, 503, 504) or a network error, unless the
// answer names a limit (it will fail the same way) or nothing listens at
// the address.
func retryable(err error) bool {
	var ae *AnswerError
	var abort *extract.AbortError
	var ne net.Error
	switch {
	case errors.As(err, &abort), errors.Is(err, syscall.ECONNREFUSED):
		return false
	case errors.As(err, &ae) && ae.Err == nil:
		switch ae.HTTPStatus {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return split.LimitIn(ae.Message) == ""
		}
		return false
	case errors.As(err, &ne):
		var dns *net.DNSError
		return !errors.As(err, &dns) || !dns.IsNotFound
	}
	return errors.Is(err, io.ErrUnexpectedEOF)
}

// unreachable explains a request that found nothing at the address (no
// such host, or nothing listening), or returns err as it is.
func (c *Client) unreachable(err error) error {
	var dns *net.DNSError
	var ue *url.Error
	if (errors.As(err, &dns) && dns.IsNotFound) || (errors.Is(err, syscall.ECONNREFUSED) && errors.As(err, &ue)) {
		return &extract.AbortError{Err: extract.ParamErrorf("%w: nothing answers there; check the host and port of the source URL %s", err, c.base)}
	}
	return err
}

// timedOut says whether a query's error is a timeout that outlasted the
// retries: a 504, Prometheus's "timeout" error type, or the client's own
// timeout.
func timedOut(err error) bool {
	var ae *AnswerError
	if errors.As(err, &ae) {
		msg := strings.ToLower(ae.Message)
		return ae.HTTPStatus == http.StatusGatewayTimeout || strings.Contains(msg, "timeout") || strings.Contains(msg, "timed out") || strings.Contains(msg, "deadline exceeded")
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// classify judges the error of one query for splitting: over a limit of
// the server, by the limit its answer names, or timed out after the
// retries.
func classify(err error) split.Failure {
	var ae *AnswerError
	if errors.As(err, &ae) {
		if limit := split.LimitIn(ae.Message); limit != "" {
			return split.OverLimit(limit, err.Error())
		}
	}
	if timedOut(err) {
		return split.Failure{Kind: split.Slow}
	}
	return split.Failure{}
}

// checkURL refuses a source URL that is no http(s) address, or that holds
// credentials, which would end up in logs and the resume state.
func checkURL(base string) error {
	u, err := url.Parse(base)
	switch {
	case base == "":
		return extract.ParamErrorf("no source URL given: give the address of the Prometheus API, e.g. https://prometheus-prod-10-prod-us-west-0.grafana.net/api/prom")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return extract.ParamErrorf("the source URL %q is not an http(s) URL; give the address of the Prometheus API, e.g. https://prometheus-prod-10-prod-us-west-0.grafana.net/api/prom or http://localhost:9090", base)
	case u.User != nil:
		return extract.ParamErrorf("the source URL holds credentials; give them as the source's user and password instead, so they stay out of logs")
	}
	return nil
}

// Check refuses what cannot work before any data is asked for: an address
// that is no URL, two kinds of credentials; then
// sends the smallest query there is, so that the address and the
// credentials are proved (or refused, naming the fix) once, before the
// run's workers all meet the same refusal.
func (c *Client) Check(ctx context.Context) error {
	if err := checkURL(c.base); err != nil {
		return extract.Usage(err)
	}
	a := c.opts.Auth
	if a.Token != "" && (a.User != "" || a.Password != "") {
		return extract.Usage(extract.ParamErrorf("give the source one kind of credentials: a token, or a user and password"))
	}
	var vector []struct{}
	if err := c.getJSON(ctx, "query", url.Values{"query": {"vector(0)"}}, &struct{ Result *[]struct{} }{&vector}); err != nil {
		return fmt.Errorf("asking the source: %w", err)
	}
	return nil
}
