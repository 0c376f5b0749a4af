package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/split"
)

// Discovery: which metric names and label values a selection covers, and
// how many series each holds, before fetching it. Sharding, adaptive
// splitting and plan all ask through the lookups of this file, which try,
// in order:
//
//  1. Prometheus's label and series API through the datasource's
//     resources, /api/datasources/uid/UID/resources/api/v1/...;
//  2. the same API through the datasource proxy,
//     /api/datasources/proxy/uid/UID/api/v1/... (first when the source
//     reads through the proxy, whose queries already take that path);
//  3. count queries through the run's own query path (see countBy).
//
// A path Grafana refuses (see routeRefused) is remembered per client and
// datasource, so later lookups go straight to the next one. A 401 is never
// a refused path: it means the credentials, and aborts as everywhere.

// Discovery names where a lookup's answer came from.
type Discovery int

const (
	SeriesAPI       Discovery = iota // the label and series API through the datasource's resources
	DatasourceProxy                  // the label and series API through the datasource proxy
	CountQueries                     // count queries through the query path
)

func (d Discovery) String() string {
	switch d {
	case DatasourceProxy:
		return "via the datasource proxy"
	case CountQueries:
		return "via count queries"
	}
	return "via the series API"
}

// pathKey is a label API path of one datasource, for Client.refused.
type pathKey struct {
	uid  string
	path Discovery
}

// apiRefused says Grafana refused every path to Prometheus's label API;
// count queries are left.
type apiRefused struct{ why string }

func (e *apiRefused) Error() string {
	return "Grafana refused Prometheus's label API on every path (" + e.why + ")"
}

// and is the error of the count query asked after the refusal, saying
// both; nil when it passed.
func (e *apiRefused) and(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s, and the count query failed: %w", e.Error(), err)
}

// promAnswer is Prometheus's API answer; Data is set to where its data
// goes before decoding.
type promAnswer struct {
	Status    string `json:"status"`
	Data      any    `json:"data"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
}

// promAPI GETs Prometheus's /api/v1/endpoint through the first path
// Grafana allows, decoding its data into data, and says which path
// answered. When every path is refused the error is an *apiRefused.
func (s *Source) promAPI(ctx context.Context, endpoint string, q url.Values, data any) (Discovery, error) {
	paths := []Discovery{SeriesAPI, DatasourceProxy}
	if s.Via == Proxy {
		paths = []Discovery{DatasourceProxy, SeriesAPI}
	}
	var whys []string
	for _, d := range paths {
		key := pathKey{s.Datasource.UID, d}
		if why, ok := s.Client.refused.Load(key); ok {
			whys = append(whys, why.(string))
			continue
		}
		err := s.ask(ctx, d, endpoint, q, data)
		why, refused := routeRefused(err)
		if !refused || ctx.Err() != nil {
			return d, err
		}
		why = strings.TrimPrefix(d.String(), "via ") + ": " + why
		s.Client.refused.Store(key, why)
		s.Client.opts.Log.Info("Grafana refuses label lookups on this path; trying the next", "why", why)
		whys = append(whys, why)
	}
	return 0, &apiRefused{why: strings.Join(whys, "; ")}
}

// ask GETs Prometheus's /api/v1/endpoint through path d only.
func (s *Source) ask(ctx context.Context, d Discovery, endpoint string, q url.Values, data any) error {
	uid := url.PathEscape(s.Datasource.UID)
	prefix := "/api/datasources/uid/" + uid + "/resources/api/v1/"
	if d == DatasourceProxy {
		prefix = "/api/datasources/proxy/uid/" + uid + "/api/v1/"
	}
	path := prefix + endpoint + "?" + q.Encode()
	ans := promAnswer{Data: data}
	err := s.Client.call(ctx, http.MethodGet, path, nil, nil, decodeJSON(&ans))
	if err == nil && ans.Status != "success" {
		err = fmt.Errorf("GET %s: Prometheus answered %q: %s: %s", path, ans.Status, ans.ErrorType, ans.Error)
	}
	return err
}

// LabelNamesVia lists the label names of the series that match selector
// in [from, to] (epoch ms) through path d alone: no other path is tried and
// a refusal is not remembered, so that a check of one path (doctor) sees
// that path's own answer.
func (s *Source) LabelNamesVia(ctx context.Context, d Discovery, selector string, from, to int64) ([]string, error) {
	var names []string
	err := s.ask(ctx, d, "labels", lookupQuery([]string{selector}, from, to), &names)
	return names, err
}

// routeRefused reports whether err says that Grafana, or a gateway in
// front of it, does not serve this route to these credentials, so another
// path may: any 4xx but 401 (the credentials themselves) and 429 (busy),
// unless its body is Prometheus's own error (the route works; Prometheus
// judged the request); a 501, or a 5xx that says the plugin or its
// resource is missing; an HTML page. It says why in a few words.
func routeRefused(err error) (string, bool) {
	if errors.Is(err, errHTMLPage) {
		return "an HTML page", true
	}
	var se *StatusError
	if !errors.As(err, &se) {
		return "", false
	}
	why := fmt.Sprintf("HTTP %d", se.Status)
	if se.Message != "" {
		why += ": " + se.Message
	}
	var prom promAnswer
	msg := strings.ToLower(se.Message)
	switch {
	case se.Status == http.StatusUnauthorized, se.Status == http.StatusTooManyRequests,
		json.Unmarshal([]byte(se.Message), &prom) == nil && prom.Status == "error":
		return "", false
	case se.Status >= 400 && se.Status < 500, se.Status == http.StatusNotImplemented,
		pluginMissing(msg), strings.Contains(msg, "resource not found"):
		return why, true
	}
	return "", false
}

// lookupQuery is the query string of a label or series lookup.
func lookupQuery(selectors []string, from, to int64) url.Values {
	q := url.Values{}
	for _, s := range selectors {
		q.Add("match[]", s)
	}
	q.Set("start", promTime(from))
	q.Set("end", promTime(to))
	return q
}

// LabelNames lists the label names of the series that match selector and
// have samples in [from, to] (epoch ms).
func (s *Source) LabelNames(ctx context.Context, selector string, from, to int64) ([]string, Discovery, error) {
	var names []string
	d, err := s.promAPI(ctx, "labels", lookupQuery([]string{selector}, from, to), &names)
	var ar *apiRefused
	if errors.As(err, &ar) {
		d = CountQueries
		names, err = s.probeLabelNames(ctx, []string{selector}, from, to)
		err = ar.and(err)
	}
	return names, d, err
}

// LabelValues lists the values of each label of names among the series
// that match selector and have samples in [from, to] (epoch ms): one
// lookup a name through the label API, or one batch of count queries.
func (s *Source) LabelValues(ctx context.Context, names []string, selector string, from, to int64) ([][]string, Discovery, error) {
	out := make([][]string, len(names))
	var d Discovery
	for i, name := range names {
		var err error
		d, err = s.promAPI(ctx, "label/"+url.PathEscape(name)+"/values", lookupQuery([]string{selector}, from, to), &out[i])
		var ar *apiRefused
		if errors.As(err, &ar) {
			counts, err := s.countBy(ctx, []string{selector}, names, from, to)
			for i, c := range counts {
				delete(c, "") // the series without the label
				out[i] = slices.Sorted(maps.Keys(c))
			}
			return out, CountQueries, ar.and(err)
		}
		if err != nil {
			return nil, d, err
		}
	}
	return out, d, nil
}

// Series lists the label sets of the series that match any of selectors and
// have samples in [from, to] (epoch ms), through Prometheus's /api/v1/series.
// The answer holds every label set, so it is for counting a selection before
// fetching it, not for listing a whole datasource. Where Grafana refuses the
// API on every path the error is an *apiRefused; Census falls back to
// count queries then.
func (s *Source) Series(ctx context.Context, selectors []string, from, to int64) ([]labels.Labels, Discovery, error) {
	var data []map[string]string
	d, err := s.promAPI(ctx, "series", lookupQuery(selectors, from, to), &data)
	if err != nil {
		return nil, d, err
	}
	out := make([]labels.Labels, len(data))
	for i, m := range data {
		out[i] = labels.FromMap(m)
	}
	return out, d, nil
}

// Census is what discovery knows of a selection's series: their label
// sets when the series API listed them, else only how to count them.
// Sharding and plan read counts by a label's values from it, whichever
// source it has.
type Census struct {
	Via Discovery
	// Sets are the series' label sets; nil via count queries.
	Sets     split.Sets
	src      *Source
	matchers [][]*labels.Matcher // one set a selector
	from, to int64
	refused  *apiRefused // why the series API could not answer
}

// Census looks up the series that match any of selectors in [from, to]
// (epoch ms): their label sets through the series API where Grafana allows
// it; where it does not, nothing is asked yet, and Count asks count
// queries.
func (s *Source) Census(ctx context.Context, selectors []string, from, to int64) (*Census, error) {
	c := &Census{src: s, from: from, to: to}
	for _, sel := range selectors {
		ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(sel)
		if err != nil {
			return nil, err
		}
		c.matchers = append(c.matchers, ms)
	}
	sets, d, err := s.Series(ctx, selectors, from, to)
	var ar *apiRefused
	switch {
	case errors.As(err, &ar):
		c.Via, c.refused = CountQueries, ar
	case err != nil:
		return nil, err
	default:
		c.Via, c.Sets = d, sets
	}
	return c, nil
}

// Count counts the series by their value of each of names (a map a
// name); the series without it count under "".
func (c *Census) Count(ctx context.Context, names ...string) ([]map[string]int, error) {
	if c.Via == CountQueries {
		counts, err := c.src.countBy(ctx, c.selectors(), names, c.from, c.to)
		return counts, c.refused.and(err)
	}
	return c.Sets.Count(ctx, names...)
}

// LabelNames lists the label names of the series.
func (c *Census) LabelNames(ctx context.Context) ([]string, error) {
	if c.Via == CountQueries {
		names, err := c.src.probeLabelNames(ctx, c.selectors(), c.from, c.to)
		return names, c.refused.and(err)
	}
	return c.Sets.LabelNames(ctx)
}

// Narrow is the census of the series whose label name equals value.
func (c *Census) Narrow(name, value string) *Census {
	n := *c
	n.Sets = c.Sets.Where(name, value)
	m := labels.MustNewMatcher(labels.MatchEqual, name, value)
	n.matchers = make([][]*labels.Matcher, len(c.matchers))
	for i, ms := range c.matchers {
		n.matchers[i] = append(slices.Clone(ms), m)
	}
	return &n
}

func (c *Census) selectors() []string {
	out := make([]string, len(c.matchers))
	for i, ms := range c.matchers {
		out[i] = extract.Canonical(ms)
	}
	return out
}

// countSlice is the longest range one count query looks back over. A
// count query fetches every chunk of every series it counts, so a week's
// range selector over a large selection may be refused by the datasource
// (Mimir's max-fetched-chunks-per-query, 2,000,000 on Grafana Cloud) where
// a day's passes; longer ranges are counted a day at a time.
const countSlice = 24 * time.Hour

// countStep is the step of a count query's one point: the smallest
// Grafana takes, so the point sits at most a second after the range.
const countStep = time.Second

// countBy counts the series that match any of selectors and have samples
// in [from, to] by their value of each of names (those without it under
// ""), with queries such as
//
//	count by (instance) (last_over_time(up[86400001ms]))
//
// one a name and a day of the range, through the run's own query path.
// last_over_time keeps the metric name (unlike the other _over_time
// functions), so name __name__ counts series per metric. Each query is a
// range query of a single step, so both transports answer it with the
// matrix their decoders already read, one number per value: a cheap
// answer, however many series it counts. Over several days a value counts
// the most series any one day holds: what a query of one window meets,
// which is what sharding sizes (series that come and go over the days are
// counted once a day).
func (s *Source) countBy(ctx context.Context, selectors, names []string, from, to int64) ([]map[string]int, error) {
	out := make([]map[string]int, len(names))
	exprs := make([]func(string) string, len(names))
	for i, name := range names {
		out[i] = map[string]int{}
		by := name
		if !model.LegacyValidation.IsValidLabelName(name) {
			by = strconv.Quote(name) // Prometheus 3's form for UTF-8 names
		}
		exprs[i] = func(sel string) string { return "count by (" + by + ") (" + sel + ")" }
	}
	err := s.countQueries(ctx, selectors, from, to, false, exprs, func(i int, ser extract.Series) {
		v := ser.Labels.Get(names[i])
		out[i][v] = max(out[i][v], int(ser.Samples[len(ser.Samples)-1].V))
	})
	return out, err
}

// probeLabelNames lists the label names of a few series (probeSeries)
// that match any of selectors in the last day of [from, to], with
// topk(probeSeries, ...): the series of one metric nearly always share
// their label names, a few of them show those that only some lack, and a
// count by each name then tells which cuts them best. Listing the names of
// every series would take an answer as big as the series API's.
func (s *Source) probeLabelNames(ctx context.Context, selectors []string, from, to int64) ([]string, error) {
	seen := map[string]struct{}{}
	probe := func(sel string) string { return "topk(" + strconv.Itoa(probeSeries) + ", " + sel + ")" }
	err := s.countQueries(ctx, selectors, from, to, true, []func(string) string{probe}, func(_ int, ser extract.Series) {
		ser.Labels.Range(func(l labels.Label) { seen[l.Name] = struct{}{} })
	})
	return slices.Sorted(maps.Keys(seen)), err
}

const probeSeries = 10

// countQueries asks each of exprs(last_over_time(selector[range]) or ...)
// once a countSlice of [from, to], newest slice first (only that one when
// lastOnly), and hands each series of the answers to add with the index of
// its expression. The queries of one slice share their time, so they go
// as one batch (one /api/ds/query request of up to 8; one request each
// through the proxy). A series may come twice (a retried query): add must
// take that.
func (s *Source) countQueries(ctx context.Context, selectors []string, from, to int64, lastOnly bool, exprs []func(string) string, add func(int, extract.Series)) error {
	slice := countSlice.Milliseconds()
	step := countStep.Milliseconds()
	for end := to; ; end -= slice {
		start := max(from, end-slice)
		at := split.CeilTo(end, step)
		terms := make([]string, len(selectors))
		for i, sel := range selectors {
			// One millisecond more: the left end is left out by
			// Prometheus 3 and Mimir.
			terms[i] = "last_over_time(" + sel + "[" + strconv.FormatInt(at-start+1, 10) + "ms])"
		}
		sel := strings.Join(terms, " or ")
		for first := 0; first < len(exprs); first += s.MaxBatch() {
			batch := exprs[first:min(first+s.MaxBatch(), len(exprs))]
			units := make([]extract.Unit, len(batch))
			for i, expr := range batch {
				units[i] = extract.Unit{Selector: expr(sel), From: at, To: at + step, Step: countStep}
			}
			errs := s.StreamBatch(ctx, units, func(i int, ss []extract.Series) error {
				for _, ser := range ss {
					if len(ser.Samples) > 0 {
						add(first+i, ser)
					}
				}
				return nil
			})
			if err := errors.Join(errs...); err != nil {
				return err
			}
		}
		if lastOnly || start <= from {
			return nil
		}
	}
}

// promTime writes epoch ms as the unix seconds Prometheus's API reads.
func promTime(ms int64) string {
	return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)
}

// Points implements extract.Counter through the source's own path,
// retried but never split.
func (s *Source) Points(ctx context.Context, expr string, start, end int64, step time.Duration, add func(labels.Labels, int64, float64)) error {
	return s.stream(ctx, extract.PointsUnit(expr, start, end, step), extract.PointsOf(add))
}
