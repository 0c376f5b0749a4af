// Package promapi reads a Prometheus HTTP API directly: any Prometheus,
// Thanos Query or VictoriaMetrics, Mimir under /prometheus and Grafana
// Cloud's endpoint under /api/prom. Its Client sends the requests (basic
// auth or a Bearer token, Mimir's tenant header, timeouts, retries of what
// may pass another time); its Source is the `--via prometheus` door to the
// data, an extract.Source that shards and splits like Grafana's (see
// package split); gaps reads the surviving data of a running Prometheus
// through QueryMatrix. Answers are read with format/promjson, the decoder
// of Grafana's datasource proxy, which hands on the same JSON.
//
// It uses net/http rather than resty (which grafana's client uses for its
// session rotation and auth fallbacks): a POSTed form with a timeout, a
// few retries and one kind of credentials need nothing more, and the body
// goes to promjson as it arrives.
package promapi

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/promjson"
	"github.com/promrecover/promrecover/internal/redact"
)

// DefaultTimeout bounds a request, answer included, when Options say
// nothing: generous, since a raw query over a long range returns much, but
// a Prometheus that hangs does not hang the run.
const DefaultTimeout = 5 * time.Minute

// Options tune a Client.
type Options struct {
	// Timeout bounds each request, reading the answer included; 0 is
	// DefaultTimeout.
	Timeout time.Duration
	Auth    Auth
	// Tenant, when set, is sent as X-Scope-OrgID, the tenant of Mimir and
	// Cortex (Grafana Cloud takes it from the user instead).
	Tenant string
	// MaxRetries bounds the retries of a request that failed with 429,
	// 502, 503, 504 or a network error.
	MaxRetries uint
	// RetryWait is the wait before the first retry, doubled for each
	// next one up to 30s; 0 is 1s.
	RetryWait time.Duration
	UserAgent string
	Log       *slog.Logger // nil logs nothing
	// Redact, when set, learns the credentials the client sends, so that no
	// message quotes them, even one that copies a server's error body.
	Redact *redact.Set
}

// Auth is one kind of credentials for the API.
type Auth struct {
	// User and Password are sent as basic auth: for Grafana Cloud the
	// stack's numeric metrics instance ID and an access policy token
	// (glc_...) with the metrics:read scope.
	User, Password string
	Token          string // sent as Bearer
}

// Stats count a client's traffic.
type Stats struct {
	Requests, Retries int64
	// WireBytes are the answers' bytes as they came (gzipped where the
	// server gzips), Bytes as they were read.
	WireBytes, Bytes int64
}

// Client asks one Prometheus API; it is safe for concurrent use.
type Client struct {
	base string
	opts Options
	http *http.Client

	requests, retries, wireBytes, bytes atomic.Int64

	// grafana says, once asked, whether a Grafana answers at base: a
	// Prometheus API that is not there is often the Grafana URL given
	// for it.
	grafanaOnce sync.Once
	grafana     bool
}

// New returns a client of the Prometheus API at base (http://host:9090,
// or a path prefix under which /api/v1 is).
func New(base string, opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.RetryWait <= 0 {
		opts.RetryWait = time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Auth.User != "" || opts.Auth.Password != "" {
		opts.Redact.AddBasic(opts.Auth.User, opts.Auth.Password)
	}
	opts.Redact.Add(opts.Auth.Token)
	return &Client{base: strings.TrimRight(base, "/"), opts: opts, http: &http.Client{Timeout: opts.Timeout}}
}

// URL is the API's address as given, without a trailing slash.
func (c *Client) URL() string { return c.base }

// Stats returns the traffic so far.
func (c *Client) Stats() Stats {
	return Stats{Requests: c.requests.Load(), Retries: c.retries.Load(), WireBytes: c.wireBytes.Load(), Bytes: c.bytes.Load()}
}

// AnswerError is an answer that is not a matrix of series: HTTP's status,
// the server's error text if it gave one, and what reading it found (nil
// when the answer was well-formed but not a success).
type AnswerError struct {
	HTTPStatus int
	Message    string
	Err        error
}

func (e *AnswerError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("HTTP %d: %s", e.HTTPStatus, e.Message)
	}
	return fmt.Sprintf("HTTP %d: %s%v", e.HTTPStatus, e.Message, e.Err)
}

func (e *AnswerError) Unwrap() error { return e.Err }

// QueryMatrix runs an instant query at t (ms) whose answer is a matrix, a
// range selector's, and hands each series to add (valid only during the
// call). A failed request returns net/http's error, an answer that cannot
// be read "reading the answer: ...", and one that is no matrix an
// *AnswerError.
func (c *Client) QueryMatrix(ctx context.Context, expr string, t int64, add func(extract.Series) error) error {
	_, err := c.matrix(ctx, "query", url.Values{"query": {expr}, "time": {promTime(t)}}, add)
	return err
}

// matrix POSTs form to /api/v1/endpoint, whose answer is a matrix, and
// hands each series to add as it is decoded; it returns the server's
// warnings. See QueryMatrix for its errors.
func (c *Client) matrix(ctx context.Context, endpoint string, form url.Values, add func(extract.Series) error) ([]string, error) {
	var notes []string
	err := c.post(ctx, endpoint, form, func(status int, body io.Reader) error {
		var err error
		notes, err = promjson.Read(body, add)
		var st *promjson.StatusError
		switch {
		case errors.As(err, &st):
			return &AnswerError{HTTPStatus: status, Message: st.Err}
		case errors.Is(err, promjson.ErrNoData), errors.Is(err, promjson.ErrNoResult):
			return nil // a matrix of no series
		case err != nil:
			return &AnswerError{HTTPStatus: status, Err: err}
		}
		return nil
	})
	return notes, err
}

// post sends form to /api/v1/endpoint and hands a 2xx answer to read,
// retried where another try may pass (see retryable). A retry after read
// had part of an answer hands it the answer again from its start.
func (c *Client) post(ctx context.Context, endpoint string, form url.Values, read func(status int, body io.Reader) error) error {
	wait := c.opts.RetryWait
	for try := uint(0); ; try++ {
		err := c.once(ctx, endpoint, form, read)
		if err == nil || try >= c.opts.MaxRetries || ctx.Err() != nil || !retryable(err) {
			return err
		}
		c.retries.Add(1)
		c.opts.Log.Debug("retrying a Prometheus API request", "endpoint", endpoint, "err", err, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// once sends one request. The answer is read as it arrives, gunzipped
// where the server gzipped it; a connection that breaks while it is read
// is told from an answer that is wrong by the error of the body itself.
func (c *Client) once(ctx context.Context, endpoint string, form url.Values, read func(int, io.Reader) error) error {
	// A nil form is a GET: the status endpoints take no POST.
	method, body := http.MethodGet, io.Reader(nil)
	if form != nil {
		method, body = http.MethodPost, strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/api/v1/"+endpoint, body)
	if err != nil {
		return err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	// Asked for by hand, so that the bytes on the wire can be counted.
	req.Header.Set("Accept-Encoding", "gzip")
	c.authorize(req)
	c.requests.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		return c.unreachable(err)
	}
	defer resp.Body.Close()
	wire := &counted{r: resp.Body, n: &c.wireBytes}
	body = wire
	if resp.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(wire)
		if err != nil {
			return fmt.Errorf("reading the answer: %w", err)
		}
		body = gz
	}
	body = &counted{r: body, n: &c.bytes}
	if extra := extract.BytesCounter(ctx); extra != nil {
		body = &counted{r: body, n: extra}
	}
	if resp.StatusCode/100 != 2 {
		return c.refusal(ctx, endpoint, resp.StatusCode, body)
	}
	err = read(resp.StatusCode, body)
	if wire.err != nil {
		return fmt.Errorf("reading the answer: %w", wire.err)
	}
	return err
}

func (c *Client) authorize(req *http.Request) {
	a := c.opts.Auth
	switch {
	case a.Token != "":
		req.Header.Set("Authorization", "Bearer "+a.Token)
	case a.User != "":
		req.SetBasicAuth(a.User, a.Password)
	}
	if c.opts.Tenant != "" {
		req.Header.Set("X-Scope-OrgID", c.opts.Tenant)
	}
	if c.opts.UserAgent != "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
}

// counted counts the bytes read through it, and keeps the error of a read
// that failed other than at the end.
type counted struct {
	r   io.Reader
	n   *atomic.Int64
	err error
}

func (c *counted) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// promTime writes epoch ms as the unix seconds Prometheus's API reads.
func promTime(ms int64) string {
	return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)
}

// Or is a's credentials, or fallback's where a has none: a program that
// also talks to Grafana may take the same credentials for both.
func (a Auth) Or(fallback Auth) Auth {
	if a == (Auth{}) {
		return fallback
	}
	return a
}
