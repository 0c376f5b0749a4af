package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

// POST /api/ds/query as pkg/api/ds_query.go and pkg/services/query run it:
// every datasource is resolved before anything runs, queries of one
// datasource run concurrently, and the body lists every refId, sorted, with
// HTTP 400 when any of them failed.

// maxConcurrent bounds the queries of one request running at once, as the
// reference gives Grafana's limit.
const maxConcurrent = 8

var (
	errNoQueries = errutilBody(http.StatusBadRequest, "query.noQueries", "No queries found")
	errInvalidDS = errutilBody(http.StatusBadRequest, "query.invalidDatasourceId",
		"Query does not contain a valid data source identifier")
	errDSNotFound          = &authError{status: http.StatusNotFound, body: map[string]any{"message": "Data source not found"}}
	errPluginNotRegistered = errutilBody(http.StatusNotFound, "plugin.notRegistered", "Plugin not registered")
)

// dsGroup is the queries of one datasource, in request order.
type dsGroup struct {
	ds      Datasource
	queries []dsQuery
}

func (s *Server) dsQuery(w http.ResponseWriter, r *http.Request) {
	s.dsQueries.Add(1)
	var req metricRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "bad request data"})
		return
	}
	if len(req.Queries) == 0 {
		writeJSON(w, errNoQueries.status, errNoQueries.body)
		return
	}
	now := s.cfg.Now()
	from := parseTimeRange(req.From, now, false)
	to := parseTimeRange(req.To, now, true)

	var groups []*dsGroup
	byUID := map[string]*dsGroup{}
	for _, raw := range req.Queries {
		q := parseQuery(raw)
		ds, aerr := s.resolveDatasource(q)
		if aerr != nil {
			writeJSON(w, aerr.status, aerr.body)
			return
		}
		g := byUID[ds.UID]
		if g == nil {
			g = &dsGroup{ds: ds}
			byUID[ds.UID] = g
			groups = append(groups, g)
		}
		g.queries = append(g.queries, q)
	}
	if len(groups) == 1 && groups[0].ds.Type != "prometheus" {
		writeJSON(w, errPluginNotRegistered.status, errPluginNotRegistered.body)
		return
	}

	results, closers := s.runGroups(r, groups, from, to)
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	status := http.StatusOK
	for _, res := range results {
		if res.err != "" {
			status = http.StatusBadRequest
		}
	}
	// Grafana's gzip middleware ([server] enable_gzip, always on in
	// Grafana Cloud) compresses the answer as it is written.
	writeMaybeGzip(w, r, status, func(out io.Writer) error { return writeResponse(out, results) })
}

// writeMaybeGzip writes a JSON answer, gzipped as it is written when the
// client accepts gzip.
func writeMaybeGzip(w http.ResponseWriter, r *http.Request, status int, write func(io.Writer) error) {
	w.Header().Set("Content-Type", "application/json")
	if !acceptsGzip(r.Header) {
		w.WriteHeader(status)
		_ = write(w)
		return
	}
	w.Header().Set("Content-Encoding", "gzip")
	w.Header().Add("Vary", "Accept-Encoding")
	w.WriteHeader(status)
	gz := gzipWriters.Get().(*gzip.Writer)
	gz.Reset(w)
	if write(gz) == nil {
		_ = gz.Close()
	}
	gz.Reset(io.Discard)
	gzipWriters.Put(gz)
}

// gzipLevel is the fastest, nginx's default for dynamic answers: on frames
// JSON it compresses within a few percent of the default level (about 2.9x
// on the synthetic set) at twice its speed.
const gzipLevel = gzip.BestSpeed

var gzipWriters = sync.Pool{New: func() any {
	gz, _ := gzip.NewWriterLevel(io.Discard, gzipLevel)
	return gz
}}

// acceptsGzip reports whether an Accept-Encoding header allows gzip
// (RFC 9110: "gzip" or "*", unless given q=0).
func acceptsGzip(h http.Header) bool {
	for _, v := range h.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding != "gzip" && coding != "x-gzip" && coding != "*" {
				continue
			}
			q := 1.0
			for p := range strings.SplitSeq(params, ";") {
				if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
						q = f
					}
				}
			}
			if q > 0 {
				return true
			}
		}
	}
	return false
}

// resolveDatasource is the query service's getDataSourceFromQuery.
func (s *Server) resolveDatasource(q dsQuery) (Datasource, *authError) {
	if q.dsUID != "" {
		if ds, ok := s.findDatasource(func(d Datasource) bool { return d.UID == q.dsUID }); ok {
			return ds, nil
		}
		// Expressions (__expr__) and the built-in grafana datasource are
		// not simulated and are as unknown as any other uid.
		return Datasource{}, errDSNotFound
	}
	if q.dsID > 0 {
		if ds, ok := s.findDatasource(func(d Datasource) bool { return d.ID == q.dsID }); ok {
			return ds, nil
		}
		return Datasource{}, errDSNotFound
	}
	return Datasource{}, errInvalidDS
}

// runGroups runs every group and returns the results sorted by refId. A
// repeated refId keeps the later query's answer.
func (s *Server) runGroups(r *http.Request, groups []*dsGroup, from, to time.Time) ([]result, []func()) {
	type answer struct {
		order   int
		res     result
		closers []func()
	}
	var (
		mu      sync.Mutex
		answers []answer
		wg      sync.WaitGroup
		slots   = make(chan struct{}, maxConcurrent)
	)
	order := 0
	for _, g := range groups {
		for _, q := range g.queries {
			wg.Add(1)
			n := order
			order++
			go func(g *dsGroup, q dsQuery) {
				defer wg.Done()
				slots <- struct{}{}
				defer func() { <-slots }()
				var a answer
				if g.ds.Type == "prometheus" {
					res, cl := s.runQuery(r.Context(), g.ds, q, from, to)
					a = answer{order: n, res: res, closers: cl}
				} else {
					// The query service's buildErrorResponses for a
					// datasource whose plugin failed.
					s.queries.Add(1)
					s.failed.Add(1)
					a = answer{order: n, res: result{refID: q.refID, err: "[plugin.notRegistered] plugin not registered"}}
				}
				mu.Lock()
				answers = append(answers, a)
				mu.Unlock()
			}(g, q)
		}
	}
	wg.Wait()

	latest := map[string]answer{}
	var closers []func()
	for _, a := range answers {
		closers = append(closers, a.closers...)
		if old, ok := latest[a.res.refID]; !ok || a.order > old.order {
			latest[a.res.refID] = a
		}
	}
	results := make([]result, 0, len(latest))
	for _, a := range latest {
		results = append(results, a.res)
	}
	sortResults(results)
	return results, closers
}
