package remoteread

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/split"
)

// StatusError is an answer other than 2xx that no other error explains.
type StatusError struct {
	URL     string
	Status  int
	Message string // the server's error text, if it gave one
}

func (e *StatusError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("POST %s: HTTP %d: %s", e.URL, e.Status, msg)
}

// statusError reads a non-2xx answer: over a limit, refused, remote read
// not served there, or a status for retry to judge.
func (s *Source) statusError(resp *http.Response, body io.Reader) error {
	raw, _ := io.ReadAll(io.LimitReader(body, tailSize))
	se := &StatusError{URL: s.url, Status: resp.StatusCode, Message: message(raw)}
	if tb := limitIn(se.Message); tb != nil {
		tb.err = se
		return tb
	}
	switch resp.StatusCode {
	case http.StatusNotFound:
		return &extract.AbortError{Err: extract.ParamErrorf("%w: remote read is not exposed at %s: read through the Prometheus HTTP API at the same address instead; if that is refused too, the URL lacks the path the API is under, such as /api/prom or /prometheus", se, s.base)}
	case http.StatusUnauthorized, http.StatusForbidden:
		if strings.Contains(se.Message, "invalid scope requested") {
			return &extract.AbortError{Err: extract.ParamErrorf("%w: the token lacks the metrics:read scope for this stack; create an access policy token with metrics:read (Grafana Cloud: Administration > Users and access > Cloud access policies) and give it as the source's password, with the stack's instance ID as the user", se)}
		}
		return &extract.AbortError{Err: extract.ParamErrorf("%w: the source refused the credentials; give the source's user and password (Grafana Cloud: the stack's numeric instance ID and a token with metrics:read) or its token", se)}
	}
	return se
}

// message is the error text of a body: Prometheus's JSON error form
// ({"status":"error","error":...}, which Grafana Cloud's gateway answers)
// or the plain text Prometheus's and Mimir's read handlers write.
func message(raw []byte) string {
	var pe struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(raw, &pe) == nil && pe.Error != "" {
		return pe.Error
	}
	return strings.TrimSpace(string(raw))
}

// limits are the texts of the limits no retry of the same read can pass,
// and how splitting mends each: Mimir's (pkg/util/limiter/errors.go),
// Cortex's older wording, and Prometheus's sample limit on SAMPLES
// answers (--storage.remote.read-sample-limit).
var limits = []struct {
	text string
	kind split.Kind
}{
	{"err-mimir-max-series-per-query", split.SeriesOnly},
	{"max number of series limit", split.SeriesOnly},
	{"err-mimir-max-chunks-per-query", split.SeriesFirst},
	{"err-mimir-max-chunks-bytes-per-query", split.SeriesFirst},
	{"err-mimir-max-fetched-chunk-bytes-per-query", split.SeriesFirst},
	{"err-mimir-max-estimated-chunks-per-query", split.SeriesFirst},
	{"err-mimir-max-estimated-memory-consumption-per-query", split.SeriesFirst},
	{"max number of chunks limit", split.SeriesFirst},
	{"chunks size limit", split.SeriesFirst},
	{"exceeded sample limit", split.SeriesFirst},
	{"err-mimir-max-query-length", split.TimeFirst},
	{"err-mimir-max-total-query-length", split.TimeFirst},
	{"the query time range exceeds the limit", split.TimeFirst},
}

// tooBigError is a read over one of the server's limits.
type tooBigError struct {
	err   error
	limit string
	kind  split.Kind
}

func (e *tooBigError) Error() string {
	return e.err.Error() + "; the read is over the source's limits: it is split into smaller ones, never sent again as it is"
}
func (e *tooBigError) Unwrap() error { return e.err }

// limitIn finds the limit a text names; nil when it names none. The text
// may follow the binary frames of a streamed answer: it is lowered byte
// by byte, since strings.ToLower would widen invalid UTF-8 and move the
// index found off the text's own.
func limitIn(text string) *tooBigError {
	lower := []byte(text)
	for i, c := range lower {
		if 'A' <= c && c <= 'Z' {
			lower[i] = c + 'a' - 'A'
		}
	}
	for _, l := range limits {
		if i := bytes.Index(lower, []byte(l.text)); i >= 0 {
			return &tooBigError{err: errors.New(strings.TrimSpace(text[max(0, strings.LastIndexByte(text[:i], '\n')+1):])), limit: l.text, kind: l.kind}
		}
	}
	return nil
}

// retriable reports whether the same request may pass if sent again.
func retriable(ctx context.Context, err error) bool {
	var (
		ae *extract.AbortError
		tb *tooBigError
		se *StatusError
		st *streamError
		ne net.Error
	)
	switch {
	case ctx.Err() != nil, errors.As(err, &ae), errors.As(err, &tb):
		return false
	case errors.As(err, &se):
		switch se.Status {
		case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	return errors.As(err, &st) || errors.As(err, &ne)
}

// splitter splits the units of s.
func (s *Source) splitter() *split.Splitter {
	var lookup split.Lookup = noLookup{}
	if s.opts.Discovery != nil {
		lookup = s.opts.Discovery
	}
	return &split.Splitter{Lookup: lookup, Query: s.fetch, Classify: classify, Brief: brief, Options: s.opts.Split, Log: s.opts.Log}
}

// classify judges the error of one read for splitting: over a limit, or
// still timing out after the retries.
func classify(err error) split.Failure {
	var tb *tooBigError
	if errors.As(err, &tb) {
		f := split.Failure{Kind: tb.kind, Limit: tb.limit, Msg: tb.err.Error()}
		if tb.kind == split.SeriesOnly {
			f.Hint = "; nothing told this part's series apart under the server's series limit: raise the tenant's series limit (Mimir: max_fetched_series_per_query), or narrow the selector"
		}
		return f
	}
	var (
		se *StatusError
		ne net.Error
	)
	if errors.As(err, &se) && se.Status == http.StatusGatewayTimeout ||
		errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return split.Failure{Kind: split.Slow}
	}
	return split.Failure{}
}

// brief says an error in a few words for a gap's reason.
func brief(err error) string {
	var se *StatusError
	if errors.As(err, &se) {
		return fmt.Sprintf("HTTP %d: %s", se.Status, se.Message)
	}
	return err.Error()
}

// noLookup is splitting's Lookup without a Discovery: every lookup fails,
// so splitting by series goes by the prefixes of values.
type noLookup struct{}

var errNoLookups = errors.New("remote read lists no labels")

func (noLookup) LabelNames(context.Context, string, int64, int64) ([]string, error) {
	return nil, errNoLookups
}

func (noLookup) LabelValues(context.Context, []string, string, int64, int64) ([][]string, error) {
	return nil, errNoLookups
}
