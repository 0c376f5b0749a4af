// Package remoteread is a door to the data through Prometheus's remote
// read API (POST /api/v1/read), which Prometheus, Mimir (Grafana Cloud's
// .../api/prom), Cortex and Thanos serve. It asks for the stored chunks
// (STREAMED_XOR_CHUNKS) and reads plain samples where a server answers
// without streaming, so floats, native histograms of both kinds and stale
// markers arrive exactly as the server holds them, at a fraction of the
// bytes a query API sends.
//
// Remote read has no lookups of its own: splitting a unit too big for the
// server's limits by series uses the label lookups of a Discovery when one
// is given (the Prometheus HTTP API at the same address), and the prefixes
// of values otherwise; a Discovery also shards. Splitting by time needs
// nothing.
//
// Of Prometheus it uses the protobuf types (prompb) and the chunk decoders
// (tsdb/chunkenc); storage/remote's frame reader and query encoding are
// followed line for line but not imported, since that package links the
// write path too (some 80 packages). Its ReadClient is not used: its
// errors lose the status and the body that splitting and the fixes read,
// and its series sets decode a sample at a time through an interface.
package remoteread

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/split"
	"github.com/promrecover/promrecover/internal/redact"
)

// Defaults of Options.
const (
	DefaultTimeout = 5 * time.Minute
	DefaultRetries = 3
	// DefaultFrameLimit is Prometheus's own client's bound on a frame
	// (config.DefaultChunkedReadLimit): a server's frames are about 1 MiB.
	DefaultFrameLimit = 50e6
)

// Options tune a Source; zero values take the defaults.
type Options struct {
	// Tenant is sent as X-Scope-OrgID, the tenant of Mimir and Cortex.
	Tenant string
	// User and Password are basic auth (Grafana Cloud: the stack's
	// numeric instance ID and a glc_ token with metrics:read); Token is
	// sent as a Bearer token instead.
	User, Password, Token string
	UserAgent             string
	// Timeout bounds one request, its answer read whole; 0 is
	// DefaultTimeout.
	Timeout time.Duration
	// Retries is how many times a request that may pass later (a
	// connection broken, an answer cut short, 429, 502, 503, 504) is sent
	// again; 0 is DefaultRetries, negative none. RetryWait is the first
	// wait (default 1s), doubled each time.
	Retries   int
	RetryWait time.Duration
	// FrameLimit bounds one frame of a streamed answer; 0 is
	// DefaultFrameLimit.
	FrameLimit uint64
	// Split bounds the splitting of a unit over the server's limits.
	Split split.Options
	// Discovery looks up label names and values for splitting by series,
	// and shards; nil splits by the prefixes of values and shards nothing.
	Discovery Discovery
	Log       *slog.Logger
	// Redact, when set, learns the credentials the source sends, so that
	// no message quotes them, even one that copies a server's error body.
	Redact *redact.Set
}

// Discovery is what splitting by series and sharding ask of another door
// to the same data, since remote read lists no labels.
type Discovery interface {
	split.Lookup
	Shard(ctx context.Context, selectors []string, from, to int64, maxSeries int) ([]string, int)
}

// Source reads units through remote read at one address.
type Source struct {
	base, url string
	opts      Options
	http      *http.Client
	// received counts the answers' bytes as they came over the wire;
	// streamed says how the last answer came (0 none yet, 1 streamed, 2
	// samples).
	received, requests, retries atomic.Int64
	streamed                    atomic.Int32
}

// Stats count a source's traffic.
type Stats struct {
	Requests, Retries, WireBytes int64
}

// New returns the Source of the remote read API under base (the address
// /api/v1/read is under: http://host:9090, https://.../api/prom).
func New(base string, opts Options) (*Source, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, extract.ParamErrorf("the source URL %q is not an http(s) URL; give the address the Prometheus API is under, e.g. https://prometheus-prod-10-prod-us-west-0.grafana.net/api/prom", base)
	}
	if u.User != nil {
		return nil, extract.ParamErrorf("the source URL holds credentials; give them as the source's user and password instead, so they stay out of logs")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Retries == 0 {
		opts.Retries = DefaultRetries
	}
	if opts.RetryWait <= 0 {
		opts.RetryWait = time.Second
	}
	if opts.FrameLimit == 0 {
		opts.FrameLimit = DefaultFrameLimit
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	opts.Redact.AddBasic(opts.User, opts.Password)
	opts.Redact.Add(opts.Token)
	base = strings.TrimRight(base, "/")
	return &Source{base: base, url: base + "/api/v1/read", opts: opts, http: &http.Client{}}, nil
}

// Received is how many bytes the answers took on the wire so far.
func (s *Source) Received() int64 { return s.received.Load() }

// Stats returns the traffic so far.
func (s *Source) Stats() Stats {
	return Stats{Requests: s.requests.Load(), Retries: s.retries.Load(), WireBytes: s.received.Load()}
}

// Check sends the smallest read there is, of a series no one has over the
// last millisecond before at, so that an address that serves no remote
// read, or credentials it refuses, are found before any data is asked for.
func (s *Source) Check(ctx context.Context, at int64) error {
	u := extract.Unit{Selector: `{__name__="promrecover_remote_read_check"}`, From: at - 1, To: at}
	return s.retry(ctx, func() error {
		return s.read(ctx, u, func(extract.Series) error { return nil })
	})
}

// Streamed reports whether the last answer was streamed chunks; known is
// false before any answer.
func (s *Source) Streamed() (streamed, known bool) {
	v := s.streamed.Load()
	return v == 1, v != 0
}

// Stream implements extract.Source. The unit is one request whose series
// go to add as they are decoded; a unit the server refuses as over one of
// its limits is split (see package split) and its parts, gathered, are
// added at the end. A request over a limit is never sent again unchanged.
func (s *Source) Stream(ctx context.Context, u extract.Unit, add func([]extract.Series) error) error {
	if u.Step != 0 {
		return &extract.AbortError{Err: extract.ParamErrorf("remote read returns the stored samples, not a query's evaluations at a step; leave the step out")}
	}
	var one [1]extract.Series
	err := s.retry(ctx, func() error {
		return s.read(ctx, u, func(ser extract.Series) error {
			one[0] = ser
			return add(one[:])
		})
	})
	if err == nil {
		return nil
	}
	series, err := s.splitter().Split(ctx, u, err)
	if len(series) > 0 {
		if aerr := add(series); aerr != nil {
			return aerr
		}
	}
	return err
}

// fetch asks one part of a split, whole: a retry starts the part again.
func (s *Source) fetch(ctx context.Context, u extract.Unit) ([]extract.Series, error) {
	var out []extract.Series
	err := s.retry(ctx, func() error {
		out = out[:0]
		return s.read(ctx, u, func(ser extract.Series) error {
			out = append(out, ser)
			return nil
		})
	})
	return out, err
}

// Shard implements recovery.Source through the Discovery; without one the
// selectors stay as they are and the series are not counted (-1).
func (s *Source) Shard(ctx context.Context, selectors []string, from, to int64, maxSeries int) ([]string, int) {
	if s.opts.Discovery == nil {
		return selectors, -1
	}
	return s.opts.Discovery.Shard(ctx, selectors, from, to, maxSeries)
}

// retry runs one request until it passes, fails in a way no retry mends,
// or has been sent Retries more times.
func (s *Source) retry(ctx context.Context, do func() error) error {
	wait := s.opts.RetryWait
	for attempt := 0; ; attempt++ {
		err := do()
		if err == nil || attempt >= s.opts.Retries || !retriable(ctx, err) {
			return err
		}
		s.retries.Add(1)
		s.opts.Log.Debug("remote read failed; trying again", "attempt", attempt+1, "wait", wait, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// read sends the request of one unit and decodes its answer.
func (s *Source) read(ctx context.Context, u extract.Unit, add func(extract.Series) error) error {
	body, err := s.request(u)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	s.headers(req.Header)
	s.requests.Add(1)
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	in := &tail{r: resp.Body, n: &s.received}
	if resp.StatusCode/100 != 2 {
		return s.statusError(resp, in)
	}
	d := decoder{from: u.From, to: u.To, add: add}
	ct := resp.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, streamedType):
		s.streamed.Store(1)
		err = d.streamed(in, s.opts.FrameLimit)
		var se *streamError
		if errors.As(err, &se) {
			// A server that fails after it began streaming writes its
			// error after the frames: read it, it may name a limit.
			if limit := limitIn(in.text()); limit != nil {
				return limit
			}
		}
	case strings.HasPrefix(ct, "text/html"):
		return &extract.AbortError{Err: extract.ParamErrorf("POST %s answered with a web page, not remote read's protobuf: the source URL is not the address the Prometheus API is under (a missing path such as /api/prom or /prometheus), or a login proxy answered", s.url)}
	default:
		s.streamed.Store(2)
		err = d.sampled(in)
	}
	if err != nil {
		return fmt.Errorf("POST %s: %w", s.url, err)
	}
	return nil
}

// request encodes the unit as remote read's request: the selector's
// matchers over [From, To-1] (remote read's range includes its end),
// asking for chunks first and samples second.
func (s *Source) request(u extract.Unit) ([]byte, error) {
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(u.Selector)
	if err != nil {
		return nil, err
	}
	q := &prompb.Query{StartTimestampMs: u.From, EndTimestampMs: u.To - 1, Matchers: make([]*prompb.LabelMatcher, len(ms))}
	for i, m := range ms {
		q.Matchers[i] = &prompb.LabelMatcher{Type: matchTypes[m.Type], Name: m.Name, Value: m.Value}
	}
	rr := &prompb.ReadRequest{
		Queries:               []*prompb.Query{q},
		AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS, prompb.ReadRequest_SAMPLES},
	}
	raw, err := rr.Marshal()
	if err != nil {
		return nil, err
	}
	return snappy.Encode(nil, raw), nil
}

// matchTypes is remote.ToLabelMatchers's table.
var matchTypes = map[labels.MatchType]prompb.LabelMatcher_Type{
	labels.MatchEqual:     prompb.LabelMatcher_EQ,
	labels.MatchNotEqual:  prompb.LabelMatcher_NEQ,
	labels.MatchRegexp:    prompb.LabelMatcher_RE,
	labels.MatchNotRegexp: prompb.LabelMatcher_NRE,
}

func (s *Source) headers(h http.Header) {
	h.Set("Content-Encoding", "snappy")
	h.Set("Content-Type", "application/x-protobuf")
	h.Set("X-Prometheus-Remote-Read-Version", "0.1.0")
	if s.opts.UserAgent != "" {
		h.Set("User-Agent", s.opts.UserAgent)
	}
	if s.opts.Tenant != "" {
		h.Set("X-Scope-OrgID", s.opts.Tenant)
	}
	switch {
	case s.opts.Token != "":
		h.Set("Authorization", "Bearer "+s.opts.Token)
	case s.opts.User != "" || s.opts.Password != "":
		r := http.Request{Header: h}
		r.SetBasicAuth(s.opts.User, s.opts.Password)
	}
}

// tail reads an answer, counting its bytes and keeping the last of them,
// so that an error a server writes after its frames can be read.
type tail struct {
	r    io.Reader
	n    *atomic.Int64
	last []byte
}

const tailSize = 4096

func (t *tail) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.n.Add(int64(n))
	t.last = append(t.last, p[max(0, n-tailSize):n]...)
	if len(t.last) > 2*tailSize {
		t.last = append(t.last[:0], t.last[len(t.last)-tailSize:]...)
	}
	return n, err
}

// text is the end of what was read and what is left, up to tailSize.
func (t *tail) text() string {
	_, _ = io.Copy(io.Discard, io.LimitReader(t, tailSize))
	return string(t.last)
}
