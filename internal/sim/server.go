// Package sim is a Grafana imitation for tests and for the demo command: it
// answers Grafana's HTTP API (POST /api/ds/query, datasource lookups, session
// rotation) the way Grafana with its Prometheus datasource (promlib) does,
// evaluating PromQL with Prometheus's own engine over in-memory series.
//
// What it reproduces, with the source it follows: the step math and
// AlignTimeRange of promlib, Prometheus's query_range checks and error
// classes, promlib's frames and the plugin SDK's JSON encoding of them byte
// for byte, Grafana's refId and HTTP status rules, and its authentication
// (service-account tokens, basic auth, session cookies that must be rotated,
// the CSRF origin check). Label lookups through the datasource's resources
// (/api/datasources/uid/UID/resources/api/v1/labels and .../label/NAME/values)
// answer from the same series (Config can refuse them, and the proxy's
// lookups, as a Grafana or gateway that does not serve them would), and
// Config can play Mimir's series and samples limits. The datasource proxy
// (/api/datasources/proxy/uid/UID/api/v1/query, query_range, series, labels,
// label/NAME/values) answers Prometheus's own JSON from the same engine,
// native histograms included, which /api/ds/query turns into heatmap cells.
//
// For benchmarks, Config.Synthetic serves a large data set (10,000 series
// by default) computed as it is read, and answers to raw-sample queries are
// streamed series by series, so neither the data set nor an answer is ever
// held whole. /api/ds/query answers are gzipped for clients that accept it,
// as Grafana does with [server] enable_gzip (and Grafana Cloud always).
package sim

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
)

// Datasource is one Grafana datasource. Only type "prometheus" answers
// queries; others are listed but behave like a datasource whose plugin is
// not installed.
type Datasource struct {
	ID   int64
	UID  string
	Name string
	Type string
	URL  string
	// TimeInterval is the datasource's scrape interval setting
	// (jsonData.timeInterval), a fallback of the step math; "" means 15s.
	TimeInterval string
}

// Config sets up a Server. Zero values get Grafana Cloud-like defaults.
type Config struct {
	Datasources []Datasource
	// Series is what every prometheus datasource serves. The server keeps
	// references to the sample slices: do not change them afterwards.
	Series []extract.Series
	// Synthetic, when set, is served instead of Series: a data set
	// computed as it is read, so the server holds only its label sets.
	// Raw-sample queries (an instant query of a plain range selector,
	// sel[r]) are then answered without the engine holding the answer:
	// each series' points are computed as its frame is written.
	Synthetic   *gen.Synthetic
	Tokens      []string          // accepted Bearer tokens (service-account tokens)
	Users       map[string]string // login -> password, for basic auth
	CookieName  string            // default "grafana_session"
	RotateAfter time.Duration     // session age after which API calls get 401 session.token.rotate; default 10m
	Now         func() time.Time  // default time.Now
	// RotateEvery, when set, also makes a session due for rotation once
	// this many API calls have passed with it since its last rotation: a
	// Grafana whose rotation interval is short next to a run's requests,
	// so that a request resent after a rotation may meet another demand.
	RotateEvery int
	// PrometheusV2 makes range selectors and subqueries include their left
	// end, [t-r, t], as Prometheus 2.x did; by default they are left-open,
	// (t-r, t], as in Prometheus 3.x and Mimir.
	PrometheusV2 bool
	// Intercept, when set, sees every call Grafana would make to
	// Prometheus; a non-nil reply with a non-2xx status replaces
	// Prometheus's answer, so tests can play Mimir limits, 429s and 5xx.
	// It is called from concurrent goroutines and may block to add latency.
	// Label lookups through the datasource's resources (Path
	// /api/v1/labels and /api/v1/label/NAME/values) pass through it too;
	// Grafana hands their refusal to the client unchanged.
	Intercept func(PromCall) *PromReply
	// MaxSeriesPerQuery, when positive, plays Mimir's
	// -querier.max-fetched-series-per-query: a query whose selectors fetch
	// more series fails with 422 execution "... (err-mimir-max-series-per-query)".
	MaxSeriesPerQuery int
	// MaxSamplesPerQuery, when positive, is the engine's -query.max-samples
	// (default 50e6): a query that would hold more samples at once fails
	// with 422 execution "query processing would load too many samples
	// into memory in query execution".
	MaxSamplesPerQuery int
	// MaxChunksPerQuery, when positive, plays Mimir's
	// -querier.max-fetched-chunks-per-query on remote read: a read that
	// would hand on more chunks fails with "... (err-mimir-max-chunks-per-query)",
	// after the frames already streamed, as Prometheus's handler writes an
	// error met while streaming.
	MaxChunksPerQuery int
	// RefuseResources, when set, is the status every request under
	// /api/datasources/uid/UID/resources/ gets, with Grafana's JSON
	// message, as from a Grafana whose Prometheus plugin serves no
	// resources (404) or whose credentials may query but not call them
	// (403).
	RefuseResources int
	// RefuseProxyLookups, when set, is the status the datasource proxy's
	// label and series lookups get (labels, label/NAME/values, series),
	// as behind a gateway that passes only query and query_range; the
	// proxy's queries still answer.
	RefuseProxyLookups int
	// Cloud, when set, also serves Grafana Cloud's Prometheus endpoint
	// under CloudPrefix (see cloud.go).
	Cloud *Cloud
	// Org is the organization the tokens, users and sessions belong to, the
	// one a request without X-Grafana-Org-Id reads; 0 means 1.
	Org int64
}

// PromCall is one request Grafana's Prometheus datasource sends upstream.
type PromCall struct {
	RefID      string
	Datasource string // uid
	// Path is the Prometheus API path: /api/v1/query or
	// /api/v1/query_range, or for a label lookup /api/v1/labels or
	// /api/v1/label/NAME/values, or /api/v1/read for each query of a
	// remote read to the cloud endpoint (its matchers in Match).
	Path       string
	Expr       string
	Match      []string // the match[] selectors of a label lookup
	Instant    bool
	Start, End time.Time     // as Prometheus reads them; equal for an instant query
	Step       time.Duration // 0 for an instant query and a label lookup
}

// PromReply is the HTTP answer an intercepted upstream call gets. Grafana
// parses bodies of 400, 422 and 503 as Prometheus JSON
// ({"status":"error","errorType":...,"error":...}); any other status becomes
// "unexpected response with status code N: <first 1024 bytes of Body>".
type PromReply struct {
	Status int
	Body   string
}

// Counters are what tests assert about the traffic the server saw.
type Counters struct {
	Requests      int64 // HTTP requests under /api
	DSQueries     int64 // authorized POST /api/ds/query requests
	Queries       int64 // refIds run
	FailedQueries int64 // refIds answered with an error
	PromCalls     int64 // upstream Prometheus calls (an instant+range query makes two; label lookups count too)
	LabelLookups  int64 // authorized label lookups through datasource resources or the proxy
	ProxyQueries  int64 // authorized query and query_range requests through the datasource proxy
	Rotations     int64 // session rotations performed
	Unauthorized  int64 // 401 answers
	Forbidden     int64 // 403 answers
	// BodyBytes is the bytes of response bodies written under /api, as
	// they went on the wire (after compression).
	BodyBytes int64
	// RemoteReads is the remote read requests that passed the
	// endpoint's auth.
	RemoteReads int64
}

// Server is a Grafana imitation; it is an http.Handler.
type Server struct {
	cfg    Config
	store  *store
	engine *promql.Engine
	mux    *http.ServeMux
	parser parser.Parser // the engine's
	// stream answers plain range selectors from storage as they are
	// written (see streamSelector), with the engine's MaxSamples.
	stream     bool
	maxSamples int

	mu       sync.Mutex
	sessions map[string]*sessionToken

	requests, dsQueries, queries, failed, promCalls atomic.Int64
	rotations, unauthorized, forbidden, lookups     atomic.Int64
	proxyQueries                                    atomic.Int64
	bodyBytes                                       atomic.Int64
	remoteReads                                     atomic.Int64
}

// New builds a server over cfg.
func New(cfg Config) *Server {
	if cfg.Datasources == nil {
		cfg.Datasources = []Datasource{{
			ID: 1, UID: "grafanacloud-prom", Name: "grafanacloud-prom", Type: "prometheus",
			URL: "https://prometheus-prod-01.grafana.net/api/prom",
		}}
	}
	if cfg.CookieName == "" {
		cfg.CookieName = "grafana_session"
	}
	if cfg.RotateAfter == 0 {
		cfg.RotateAfter = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{
		cfg:      cfg,
		sessions: map[string]*sessionToken{},
		parser:   rangeParser{Parser: parser.NewParser(parser.Options{}), closed: cfg.PrometheusV2},
	}
	if cfg.Synthetic != nil {
		s.store, s.stream = &store{src: newSynthSource(cfg.Synthetic)}, true
	} else {
		s.store = newStore(cfg.Series)
	}
	maxSamples := 50_000_000
	if cfg.MaxSamplesPerQuery > 0 {
		maxSamples = cfg.MaxSamplesPerQuery
	}
	s.maxSamples = maxSamples
	s.engine = promql.NewEngine(promql.EngineOpts{
		MaxSamples:           maxSamples,
		Timeout:              2 * time.Minute,
		LookbackDelta:        5 * time.Minute,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		// Prometheus's default global evaluation interval.
		NoStepSubqueryIntervalFn: func(int64) int64 { return time.Minute.Milliseconds() },
		Parser:                   s.parser,
	})
	s.routes()
	return s
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /api/health", s.health)
	m.Handle("POST /api/ds/query", s.authed(s.dsQuery))
	m.Handle("GET /api/datasources", s.authed(s.listDatasources))
	m.Handle("GET /api/datasources/uid/{uid}", s.authed(s.datasourceByUID))
	m.Handle("GET /api/datasources/name/{name}", s.authed(s.datasourceByName))
	m.Handle("GET /api/datasources/uid/{uid}/resources/api/v1/labels", s.authed(refuse(s.cfg.RefuseResources, s.labelNames)))
	m.Handle("GET /api/datasources/uid/{uid}/resources/api/v1/label/{name}/values", s.authed(refuse(s.cfg.RefuseResources, s.labelValues)))
	m.Handle("GET /api/datasources/uid/{uid}/resources/api/v1/series", s.authed(refuse(s.cfg.RefuseResources, s.series)))
	s.proxyRoutes(m)
	s.cloudRoutes(m)
	m.Handle("POST /api/user/auth-tokens/rotate", s.csrf(http.HandlerFunc(s.rotate)))
	m.HandleFunc("/api/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not found"})
	})
	s.mux = m
}

// refuse answers every request with status, when set, as Grafana refuses a
// route: JSON with its message; else h answers.
func refuse(status int, h http.HandlerFunc) http.HandlerFunc {
	if status == 0 {
		return h
	}
	return func(w http.ResponseWriter, _ *http.Request) {
		msg := "Not found"
		if status == http.StatusForbidden {
			msg = "You'll need additional permissions to perform this action. Permissions needed: datasources:query"
		}
		writeJSON(w, status, map[string]any{"message": msg})
	}
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.Path) >= 4 && r.URL.Path[:4] == "/api" {
		s.requests.Add(1)
	}
	s.mux.ServeHTTP(&countingWriter{ResponseWriter: w, s: s}, r)
}

// Counters returns a snapshot of the traffic counters.
func (s *Server) Counters() Counters {
	return Counters{
		Requests:      s.requests.Load(),
		DSQueries:     s.dsQueries.Load(),
		Queries:       s.queries.Load(),
		FailedQueries: s.failed.Load(),
		PromCalls:     s.promCalls.Load(),
		LabelLookups:  s.lookups.Load(),
		ProxyQueries:  s.proxyQueries.Load(),
		Rotations:     s.rotations.Load(),
		Unauthorized:  s.unauthorized.Load(),
		Forbidden:     s.forbidden.Load(),
		BodyBytes:     s.bodyBytes.Load(),
		RemoteReads:   s.remoteReads.Load(),
	}
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"commit": "sim", "database": "ok", "version": "12.0.0-sim"})
}

// countingWriter counts refusals by status, whichever handler wrote them,
// and the body bytes written.
type countingWriter struct {
	http.ResponseWriter
	s *Server
}

func (w *countingWriter) WriteHeader(code int) {
	switch code {
	case http.StatusUnauthorized:
		w.s.unauthorized.Add(1)
	case http.StatusForbidden:
		w.s.forbidden.Add(1)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.s.bodyBytes.Add(int64(n))
	return n, err
}

func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// rangeParser makes every range selector and subquery 1ms longer when closed
// is set. On millisecond data, (t-r-1ms, t] is exactly Prometheus 2.x's
// [t-r, t], so the 3.x engine answers as 2.x did.
type rangeParser struct {
	parser.Parser
	closed bool
}

func (p rangeParser) ParseExpr(input string) (parser.Expr, error) {
	expr, err := p.Parser.ParseExpr(input)
	if err != nil || !p.closed {
		return expr, err
	}
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.MatrixSelector:
			if n.RangeExpr == nil {
				n.Range += time.Millisecond
			}
		case *parser.SubqueryExpr:
			if n.RangeExpr == nil {
				n.Range += time.Millisecond
			}
		}
		return nil
	})
	return expr, nil
}
