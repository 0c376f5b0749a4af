package sim

import (
	"context"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Label lookups through the datasource's resources: Grafana forwards
// /api/datasources/uid/UID/resources/api/v1/labels and .../label/NAME/values
// to Prometheus (promlib's CallResource) and hands back Prometheus's status
// and JSON unchanged. Answers come from the store: the names or values of
// the series that match any match[] selector and have samples in
// [start, end], as web/api/v1 answers them.

func (s *Server) labelNames(w http.ResponseWriter, r *http.Request) {
	s.labelLookup(w, r, "/api/v1/labels", "")
}

func (s *Server) labelValues(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.labelLookup(w, r, "/api/v1/label/"+name+"/values", name)
}

// series answers /api/v1/series: the label sets of the series that match
// any match[] selector (at least one is required, as in Prometheus) and have
// samples in [start, end].
func (s *Server) series(w http.ResponseWriter, r *http.Request) {
	s.labelLookup(w, r, seriesPath, "")
}

const seriesPath = "/api/v1/series"

// labelLookup answers a label names lookup when name is "", else the
// values of label name; a series lookup when path is seriesPath.
func (s *Server) labelLookup(w http.ResponseWriter, r *http.Request, path, name string) {
	ds, ok := s.promDatasource(w, r)
	if !ok {
		return
	}
	s.lookups.Add(1)
	s.promCalls.Add(1)
	// A POST through the datasource proxy carries its parameters in a form
	// body; Form holds them and the URL's alike.
	_ = r.ParseForm()
	q := r.Form
	matches := q["match[]"]
	start, err := promParseTime(q.Get("start"), minTime)
	if err != nil {
		writePromError(w, http.StatusBadRequest, "bad_data", `invalid parameter "start": `+err.Error())
		return
	}
	end, err := promParseTime(q.Get("end"), maxTime)
	if err != nil {
		writePromError(w, http.StatusBadRequest, "bad_data", `invalid parameter "end": `+err.Error())
		return
	}
	if s.cfg.Intercept != nil {
		call := PromCall{Datasource: ds.UID, Path: path, Match: matches, Start: start, End: end}
		if rep := s.cfg.Intercept(call); rep != nil && (rep.Status < 200 || rep.Status >= 300) {
			writeReply(w, rep)
			return
		}
	}
	if name != "" && !model.UTF8Validation.IsValidLabelName(name) {
		writePromError(w, http.StatusBadRequest, "bad_data", "invalid label name: "+strconv.Quote(name))
		return
	}
	sets, err := parser.NewParser(parser.Options{}).ParseMetricSelectors(matches)
	if err != nil {
		writePromError(w, http.StatusBadRequest, "bad_data", `invalid parameter "match[]": `+err.Error())
		return
	}
	qr := &querier{st: s.store, mint: start.UnixMilli(), maxt: end.UnixMilli()}
	if path == seriesPath {
		if len(sets) == 0 {
			writePromError(w, http.StatusBadRequest, "bad_data", "no match[] parameter provided")
			return
		}
		found := map[string]labels.Labels{}
		for _, ms := range sets {
			qr.matching(ms, func(i int) {
				ls := qr.st.src.labels(i)
				found[ls.String()] = ls
			})
		}
		data := make([]map[string]string, 0, len(found))
		for _, k := range sortedKeys(mapKeys(found)) {
			data = append(data, found[k].Map())
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "success", "data": data})
		return
	}
	if len(sets) == 0 {
		sets = [][]*labels.Matcher{nil}
	}
	seen := map[string]struct{}{}
	for _, ms := range sets {
		var list []string
		if name == "" {
			list, _, _ = qr.LabelNames(context.Background(), nil, ms...)
		} else {
			list, _, _ = qr.LabelValues(context.Background(), name, nil, ms...)
		}
		for _, v := range list {
			seen[v] = struct{}{}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "data": sortedKeys(seen)})
}

// promDatasource finds the datasource of a request forwarded to
// Prometheus (resources or proxy), or answers the refusal Grafana gives.
func (s *Server) promDatasource(w http.ResponseWriter, r *http.Request) (Datasource, bool) {
	ds, ok := s.findDatasource(func(d Datasource) bool { return d.UID == r.PathValue("uid") })
	switch {
	case !ok:
		writeJSON(w, errDSNotFound.status, errDSNotFound.body)
	case ds.Type != "prometheus":
		writeJSON(w, errPluginNotRegistered.status, errPluginNotRegistered.body)
	default:
		return ds, true
	}
	return ds, false
}

// writeReply hands an intercepted upstream reply on unchanged, as Grafana
// forwards Prometheus's answer.
func writeReply(w http.ResponseWriter, rep *PromReply) {
	ct := "text/plain; charset=utf-8"
	if strings.HasPrefix(strings.TrimSpace(rep.Body), "{") {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(rep.Status)
	_, _ = io.WriteString(w, rep.Body)
}

func mapKeys[V any](m map[string]V) map[string]struct{} {
	out := make(map[string]struct{}, len(m))
	for k := range m {
		out[k] = struct{}{}
	}
	return out
}

// The times web/api/v1 takes when start or end is missing.
var (
	minTime = time.Unix(math.MinInt64/1000+62135596801, 0).UTC()
	maxTime = time.Unix(math.MaxInt64/1000-62135596801, 999999999).UTC()
)

// promParseTime is web/api/v1's parseTime: float unix seconds (to the
// millisecond) or RFC 3339.
func promParseTime(s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	if t, err := strconv.ParseFloat(s, 64); err == nil {
		sec, ns := math.Modf(t)
		ns = math.Round(ns*1000) / 1000
		return time.Unix(int64(sec), int64(ns*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, errCannotParse(s)
}

type errCannotParse string

func (e errCannotParse) Error() string {
	return "cannot parse " + strconv.Quote(string(e)) + " to a valid timestamp"
}

func writePromError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]any{"status": "error", "errorType": typ, "error": msg})
}
