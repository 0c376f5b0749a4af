// Package promapi is a client for a Prometheus HTTP API: gaps reads the
// surviving data of a running Prometheus through it. Answers are read with
// format/promjson.
//
// It uses net/http rather than resty (which grafana's client uses for its
// retries and auth rotation): one GET with a timeout and the caller's
// context needs nothing more, and the body goes to promjson as it is.
package promapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/promjson"
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
}

// Client asks one Prometheus.
type Client struct {
	base string
	http *http.Client
}

// New returns a client of the Prometheus API at base (http://host:9090,
// or a path prefix under which /api/v1 is).
func New(base string, opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	return &Client{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: opts.Timeout}}
}

// AnswerError is an answer that is not a matrix of series: HTTP's status,
// Prometheus's error text if it gave one, and what reading it found (nil
// when the answer was well-formed but not a success).
type AnswerError struct {
	HTTPStatus int
	Message    string
	Err        error
}

func (e *AnswerError) Error() string {
	return fmt.Sprintf("HTTP %d: %s%v", e.HTTPStatus, e.Message, e.Err)
}

func (e *AnswerError) Unwrap() error { return e.Err }

// QueryMatrix runs an instant query at t (ms) whose answer is a matrix, a
// range selector's, and hands each series to add (valid only during the
// call). A failed request returns net/http's error, an answer that cannot
// be read "reading the answer: ...", and one that is no matrix an
// *AnswerError.
func (c *Client) QueryMatrix(ctx context.Context, expr string, t int64, add func(extract.Series) error) error {
	q := url.Values{"query": {expr}, "time": {strconv.FormatFloat(float64(t)/1000, 'f', 3, 64)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1/query?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// Read whole before decoding, so that a connection that breaks is
	// told from an answer that is wrong.
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	_, err = promjson.Read(bytes.NewReader(body), add)
	var st *promjson.StatusError
	switch {
	case errors.As(err, &st):
		return &AnswerError{HTTPStatus: resp.StatusCode, Message: st.Err}
	case errors.Is(err, promjson.ErrNoData), errors.Is(err, promjson.ErrNoResult):
		return nil // a matrix of no series
	case err != nil:
		return &AnswerError{HTTPStatus: resp.StatusCode, Err: err}
	}
	return nil
}
