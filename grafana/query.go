package grafana

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/split"
	"github.com/promrecover/promrecover/grafana/frames"
)

// Datasource is a Grafana datasource as the API lists it.
type Datasource struct {
	ID   int64  `json:"id"`
	UID  string `json:"uid"`
	Name string `json:"name"`
	Type string `json:"type"`
	URL  string `json:"url"`
}

type dsRef struct {
	UID  string `json:"uid"`
	Type string `json:"type"`
}

type query struct {
	RefID         string `json:"refId"`
	Datasource    dsRef  `json:"datasource"`
	Expr          string `json:"expr"`
	Range         bool   `json:"range"`
	Instant       bool   `json:"instant"`
	Interval      string `json:"interval,omitempty"`
	IntervalMs    int64  `json:"intervalMs"`
	MaxDataPoints int64  `json:"maxDataPoints"`
	Format        string `json:"format"`
}

type queryRequest struct {
	From    string  `json:"from"`
	To      string  `json:"to"`
	Queries []query `json:"queries"`
}

// buildQuery turns a unit into one /api/ds/query request (see
// split.UnitQuery).
// In step mode "interval" sets the minimum step and maxDataPoints is high
// enough that Grafana's own calculation never goes above it;
// extract.NewPlan keeps a window under 11,000 points.
func buildQuery(ds Datasource, u extract.Unit) (queryRequest, bool) {
	pq, ok := split.UnitQuery(u)
	if !ok {
		return queryRequest{}, false
	}
	q := query{RefID: "A", Datasource: dsRef{UID: ds.UID, Type: ds.Type}, Format: "time_series", MaxDataPoints: extract.MaxPointsPerSeries, Expr: pq.Expr}
	if pq.Instant {
		q.Instant = true
		q.IntervalMs = 1000
	} else {
		q.Range = true
		q.Interval = formatInterval(u.Step)
		q.IntervalMs = u.Step.Milliseconds()
	}
	return queryRequest{From: strconv.FormatInt(pq.From, 10), To: strconv.FormatInt(pq.To, 10), Queries: []query{q}}, true
}

// formatInterval writes a step the way Grafana's interval parser reads it
// (a Go duration or a plain unit suffix), without Go's "1m30s" forms that
// would be harder to read back in logs.
func formatInterval(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// Source fetches units through /api/ds/query, or through the datasource
// proxy when Via is Proxy; splitting and sharding work the same either way.
// It implements extract.Source.
type Source struct {
	Client     *Client
	Datasource Datasource
	Via        Transport
	// Split bounds the adaptive splitting of a unit that is too big for
	// the datasource's limits or keeps timing out; zero values take the
	// defaults (see split.Options).
	Split split.Options
}

// Fetch implements extract.Source. A unit the datasource refuses as too big
// (Mimir's series, chunk and sample limits, Prometheus's 11,000 points), or
// one that still times out after the client's retries, is split by metric
// name, by a label's values and by time, and the parts are fetched one by
// one (see package split). Parts that cannot pass even at the smallest size are
// returned as an *extract.PartialError beside everything that was fetched.
func (s *Source) Fetch(ctx context.Context, u extract.Unit) ([]extract.Series, error) {
	var out []extract.Series
	err := s.Stream(ctx, u, split.Collect(&out))
	return out, err
}

// Stream implements extract.Source. The unit is asked in one query whose
// series go to add as they are decoded, so memory holds a frame, not an
// answer. A query too big or too slow is split into parts; those are
// gathered (pieces of one series must be merged) and added at the end.
func (s *Source) Stream(ctx context.Context, u extract.Unit, add func([]extract.Series) error) error {
	err := s.stream(ctx, u, add)
	if err == nil {
		return nil
	}
	return s.recover(ctx, u, err, add)
}

// recover splits a unit whose query failed in a way a split may mend.
func (s *Source) recover(ctx context.Context, u extract.Unit, err error, add func([]extract.Series) error) error {
	series, err := s.splitter().Split(ctx, u, err)
	if len(series) > 0 {
		if aerr := add(series); aerr != nil {
			return aerr
		}
	}
	return err
}

// fetch asks one query for the unit and returns its series.
func (s *Source) fetch(ctx context.Context, u extract.Unit) ([]extract.Series, error) {
	var out []extract.Series
	err := s.stream(ctx, u, split.Collect(&out))
	return out, err
}

// stream asks one request for the unit, retried by the client where a
// retry may pass, never split. A retry after part of an answer was streamed
// sends those series again; sinks take identical repeats as one.
func (s *Source) stream(ctx context.Context, u extract.Unit, add func([]extract.Series) error) error {
	if s.Via == Proxy {
		return s.proxyStream(ctx, u, add)
	}
	errs, err := s.request(ctx, []extract.Unit{u}, func(_ int, ss []extract.Series) error { return add(ss) })
	if err != nil {
		return err
	}
	return errs[0]
}

// MaxBatch implements extract.BatchSource: Grafana runs at most 8 queries
// of one /api/ds/query request at a time; the proxy takes one query a
// request.
func (s *Source) MaxBatch() int {
	if s.Via == Proxy {
		return 1
	}
	return 8
}

// StreamBatch implements extract.BatchSource. Every refId of the answer is
// read; only the failed ones are asked again, each on its own, where another
// try or a split may pass. Through the proxy each unit is its own request.
func (s *Source) StreamBatch(ctx context.Context, units []extract.Unit, add func(int, []extract.Series) error) []error {
	if s.Via == Proxy {
		errs := make([]error, len(units))
		for i, u := range units {
			errs[i] = s.Stream(ctx, u, func(ss []extract.Series) error { return add(i, ss) })
		}
		return errs
	}
	errs, err := s.request(ctx, units, add)
	for i, u := range units {
		e := errs[i]
		if err != nil {
			e = err
		}
		if e == nil {
			continue
		}
		var abort *extract.AbortError
		var rq *retryQuery
		addOne := func(ss []extract.Series) error { return add(i, ss) }
		switch {
		case errors.As(e, &abort) || ctx.Err() != nil:
			errs[i] = e
		case err != nil && splitKindOf(ctx, err) == split.NoSplit:
			// The request failed as a whole and no smaller one would fare
			// better: the server is down or refuses us.
			errs[i] = e
		case err != nil && len(units) == 1:
			// The request was this unit's alone, so its error is the
			// unit's own, after the client's retries: sent again
			// unchanged it would only fail again.
			errs[i] = s.recover(ctx, u, e, addOne)
		case err != nil || errors.As(e, &rq):
			errs[i] = s.Stream(ctx, u, addOne)
		default:
			errs[i] = s.recover(ctx, u, e, addOne)
		}
	}
	return errs
}

// request sends units of one window (so one from/to) as one /api/ds/query
// request, a refId each, and hands each refId's series to add with its unit's
// index as they are decoded. It returns each unit's own error, and the error
// of the request as a whole. A request of one unit returns that unit's error
// as the request's, so the client retries what may pass.
func (s *Source) request(ctx context.Context, units []extract.Unit, add func(int, []extract.Series) error) ([]error, error) {
	errs := make([]error, len(units))
	var req queryRequest
	index := map[string]int{}
	for i, u := range units {
		one, ok := buildQuery(s.Datasource, u)
		if !ok {
			continue
		}
		q := one.Queries[0]
		q.RefID = string(rune('A' + i))
		index[q.RefID] = i
		req.From, req.To = one.From, one.To
		req.Queries = append(req.Queries, q)
	}
	if len(req.Queries) == 0 {
		return errs, nil
	}
	single := len(req.Queries) == 1
	err := s.Client.call(ctx, http.MethodPost, "/api/ds/query", req, []int{http.StatusBadRequest}, func(status int, body io.Reader) error {
		h := &answer{s: s, req: req, units: units, index: index, add: add, errs: errs, single: single, seen: map[string]bool{}, series: map[string]int{}}
		if err := frames.Decode(body, h); err != nil {
			if h.verdict != nil {
				return h.verdict // a refId's own error, for the client to judge
			}
			return decodeFailure(fmt.Errorf("decoding the answer to %s: %w", req.Queries[0].Expr, err))
		}
		for _, q := range req.Queries {
			if !h.seen[q.RefID] {
				err := fmt.Errorf("the answer to %s has no result for refId %s (HTTP %d)", q.Expr, q.RefID, status)
				if single {
					return err
				}
				errs[index[q.RefID]] = err
			}
		}
		return nil
	})
	return errs, err
}

// answer routes a streamed /api/ds/query answer: each series to its unit's
// add as soon as its frame is decoded, each refId's verdict to errs when the
// refId ends. For a request of one unit the verdict stops decoding instead,
// so the client can retry what may pass.
type answer struct {
	s       *Source
	req     queryRequest
	units   []extract.Unit
	index   map[string]int
	add     func(int, []extract.Series) error
	errs    []error
	single  bool
	seen    map[string]bool // refIds whose result ended
	series  map[string]int  // series seen by refId
	verdict error
	one     [1]extract.Series
}

// MaxRows implements frames.RowLimiter with extract.MaxPoints.
func (a *answer) MaxRows(refID string) int {
	i, ok := a.index[refID]
	if !ok {
		return 0
	}
	u := a.units[i]
	q, _ := split.UnitQuery(u)
	return maxPoints(u, q)
}

// maxPoints is the most points a series of u's query q can hold: a point a
// millisecond of an instant query's range, or a point a step.
func maxPoints(u extract.Unit, q split.Query) int {
	if q.Instant {
		return extract.MaxPoints(q.From, q.To, 0)
	}
	return extract.MaxPoints(q.From, q.To, u.Step)
}

func (a *answer) Series(refID string, s extract.Series) error {
	i, ok := a.index[refID]
	if !ok {
		return nil // not asked: nothing of ours
	}
	a.series[refID]++
	a.one[0] = s
	return a.add(i, a.one[:])
}

func (a *answer) Result(r *frames.Result) error {
	i, ok := a.index[r.RefID]
	if !ok {
		return nil
	}
	a.seen[r.RefID] = true
	expr := a.req.Queries[slices.IndexFunc(a.req.Queries, func(q query) bool { return q.RefID == r.RefID })].Expr
	var err error
	if r.Error != "" {
		err = queryError(expr, r)
	} else {
		err = a.s.check(expr, a.units[i], r, a.series[r.RefID])
	}
	if err != nil && a.single {
		a.verdict = err
		return err
	}
	a.errs[i] = err
	return nil
}

// check judges one refId's answer once its series have gone by: a step
// other than the one asked for, or frames that are not float series, fail
// the unit (and so its window, which is discarded whole).
func (s *Source) check(expr string, u extract.Unit, res *frames.Result, series int) error {
	for _, n := range res.Notices {
		s.Client.opts.Log.Warn("Grafana notice", "query", expr, "severity", n.Severity, "text", n.Text)
	}
	if len(res.Unsupported) > 0 {
		return extract.ParamErrorf("%s: %s; /api/ds/query cannot carry these faithfully (native histograms arrive as heatmap cells without count and sum), so nothing of them is written; recover them through the datasource proxy", expr, strings.Join(res.Unsupported, "; "))
	}
	if u.Step > 0 && series > 0 {
		if err := checkStep(res.ExecutedQueryString, u.Step); err != nil {
			return fmt.Errorf("%s: %w", expr, err)
		}
	}
	return nil
}

// checkStep compares the step Grafana says it ran with the one asked for:
// a datasource "min interval" or a Grafana that computes steps differently
// would otherwise resample the data silently.
func checkStep(executed string, want time.Duration) error {
	const prefix = "Step: "
	i := strings.LastIndex(executed, prefix)
	if i < 0 {
		//lint:ignore ST1005 Grafana is a name, and this text is a NOT RECOVERED line's reason
		return fmt.Errorf("Grafana did not report the step it used (no %q in executedQueryString %q), so the exact step %s cannot be confirmed", prefix, executed, want)
	}
	got, err := time.ParseDuration(strings.TrimSpace(executed[i+len(prefix):]))
	if err != nil {
		return fmt.Errorf("cannot read the step in executedQueryString %q: %v", executed, err)
	}
	if got != want {
		return extract.ParamErrorf("Grafana ran the query at step %s, not the %s asked for (a datasource minimum interval above %s forces this); choose the step %s or lower the datasource's scrape interval setting", got, want, want, got)
	}
	return nil
}

// queryError explains a failed refId and says whether another try may pass:
// a *retryQuery may, a *tooBigError never will unchanged (split it), and an
// *extract.AbortError means no other query can pass either.
func queryError(expr string, r *frames.Result) error {
	err := fmt.Errorf("query %s failed (status %d): %s", expr, r.Status, r.Error)
	msg := strings.ToLower(r.Error)
	switch {
	case refusedByDatasource(msg, r.Status):
		return &extract.AbortError{Err: fmt.Errorf("%w: the datasource refused Grafana's credentials (Grafana accepted promrecover's own credentials, then the Prometheus behind the datasource answered 401/403 to Grafana); fix the datasource's authentication in Grafana under Connections > Data sources (its URL, user, password or token), use Save & test there, and run again", err)}
	case pluginMissing(msg):
		return &extract.AbortError{Err: fmt.Errorf("%w: Grafana cannot run queries on this datasource (its plugin is missing or failed, or the datasource is gone); check it in Grafana under Connections > Data sources, or pick another with 'promrecover datasources'", err)}
	case split.LimitIn(msg) != "":
		// Before the retryable kinds: a limit's text may mention a
		// timeout flag, and retrying it unchanged can never pass.
		return &tooBigError{err: err, limit: split.LimitIn(msg)}
	case strings.Contains(msg, "too many outstanding requests"),
		strings.Contains(msg, "status code 429"),
		strings.Contains(msg, "status code 502"),
		strings.Contains(msg, "status code 503"),
		strings.Contains(msg, "status code 504"),
		strings.Contains(msg, "timeout"), strings.Contains(msg, "timed out"),
		strings.Contains(msg, "deadline exceeded"),
		r.Status == http.StatusServiceUnavailable, r.Status == http.StatusTooManyRequests:
		return &retryQuery{err}
	}
	return err
}

// tooBigError is an answer that no retry of the same query can pass: the
// query is over one of the datasource's limits.
type tooBigError struct {
	err   error
	limit string // which limit, as the answer names it
}

func (e *tooBigError) Error() string {
	return e.err.Error() + "; the query is too big for the datasource's limits: it is split into smaller ones, never retried as it is"
}
func (e *tooBigError) Unwrap() error { return e.err }

// refusedByDatasource recognises a refId error in which the Prometheus (or
// Mimir) behind the datasource refused Grafana's request with 401 or 403:
// promlib reports statuses it does not parse as "unexpected response with
// status code N: <body>"; older versions kept the status on the result.
func refusedByDatasource(msg string, status int) bool {
	return strings.Contains(msg, "status code 401") || strings.Contains(msg, "status code 403") ||
		strings.Contains(msg, "authentication to data source failed") ||
		status == http.StatusUnauthorized || status == http.StatusForbidden
}

// pluginMissing recognises a refId error saying the datasource's plugin is
// not there or not working, or the datasource itself is gone.
func pluginMissing(msg string) bool {
	for _, s := range []string{"plugin.notregistered", "plugin not registered", "plugin.unavailable", "plugin unavailable",
		"plugin not found", "plugin.notfound", "data source not found", "datasource not found"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// Datasources lists the datasources the credentials can see.
func (c *Client) Datasources(ctx context.Context) ([]Datasource, error) {
	var out []Datasource
	err := c.call(ctx, http.MethodGet, "/api/datasources", nil, nil, decodeJSON(&out))
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) && se.Status == http.StatusForbidden {
			return nil, fmt.Errorf("%w: listing datasources needs the datasources:read permission (often Admin); ask an admin for the uid, or open the datasource in Grafana's UI (Connections > Data sources): the uid is the last part of its URL", err)
		}
		return nil, err
	}
	return out, nil
}

// ResolveDatasource finds a datasource by uid, then by name. Where the
// credentials may not read datasources, the value is taken as a uid as it
// is, since querying may still be allowed. An empty ref is the only
// Prometheus datasource the credentials see.
func (c *Client) ResolveDatasource(ctx context.Context, ref string) (Datasource, error) {
	if ref == "" {
		return c.onlyDatasource(ctx)
	}
	var ds Datasource
	for _, path := range []string{"/api/datasources/uid/", "/api/datasources/name/"} {
		err := c.call(ctx, http.MethodGet, path+url.PathEscape(ref), nil, nil, decodeJSON(&ds))
		var se *StatusError
		switch {
		case err == nil:
			if !strings.Contains(ds.Type, "prometheus") {
				return ds, fmt.Errorf("datasource %q is of type %q, not Prometheus; list the Prometheus ones with 'promrecover datasources'", ref, ds.Type)
			}
			return ds, nil
		case errors.As(err, &se) && se.Status == http.StatusNotFound:
			continue
		case errors.As(err, &se) && se.Status == http.StatusForbidden:
			c.opts.Log.Debug("cannot read datasource settings; using the value as a uid", "datasource", ref)
			return Datasource{UID: ref, Name: ref, Type: "prometheus"}, nil
		default:
			return ds, err
		}
	}
	return ds, c.datasourceNotFound(ctx, ref)
}
