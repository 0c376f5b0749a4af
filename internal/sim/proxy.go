package sim

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// The datasource proxy, /api/datasources/proxy/uid/UID/...: Grafana
// (pkg/api/pluginproxy/ds_proxy.go) forwards the request to the Prometheus
// behind the datasource with the datasource's own credentials and hands back
// Prometheus's status and JSON unchanged, with two exceptions this file
// plays: a 401 from Prometheus becomes 400 "Authentication to data source
// failed" (so a 401 always means Grafana refused the caller), and a POST to
// a path the Prometheus plugin does not allow-list is refused with 403.
// GET is allowed on every path.

const proxyPrefix = "/api/datasources/proxy/uid/{uid}/api/v1/"

// proxyPOSTs are the paths the Prometheus plugin allow-lists for POST
// (plugin.json routes); query_exemplars is not simulated.
var proxyPOSTs = []string{"query", "query_range", "series", "labels"}

func (s *Server) proxyRoutes(m *http.ServeMux) {
	for _, p := range proxyPOSTs {
		h := s.proxyQuery
		switch p {
		case "series":
			h = refuse(s.cfg.RefuseProxyLookups, s.series)
		case "labels":
			h = refuse(s.cfg.RefuseProxyLookups, s.labelNames)
		}
		m.Handle("GET "+proxyPrefix+p, s.authed(dsProxy(h)))
		m.Handle("POST "+proxyPrefix+p, s.authed(dsProxy(h)))
	}
	m.Handle("GET "+proxyPrefix+"label/{name}/values", s.authed(dsProxy(refuse(s.cfg.RefuseProxyLookups, s.labelValues))))
	m.Handle("POST /api/datasources/proxy/uid/{uid}/", s.authed(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusForbidden, map[string]any{"message": "non allow-listed POSTs not allowed on proxied Prometheus datasource"})
	}))
}

// dsProxy applies the proxy's rewrite of an upstream 401.
func dsProxy(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h(&upstream401{ResponseWriter: w}, r)
	}
}

// upstream401 turns a 401 from Prometheus into Grafana's 400 with a plain
// text body, dropping the upstream body.
type upstream401 struct {
	http.ResponseWriter
	refused bool
}

const dsAuthFailed = "Authentication to data source failed"

func (w *upstream401) WriteHeader(code int) {
	if code != http.StatusUnauthorized {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.refused = true
	h := w.Header()
	h.Del("Content-Encoding")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.ResponseWriter.WriteHeader(http.StatusBadRequest)
	_, _ = io.WriteString(w.ResponseWriter, dsAuthFailed)
}

func (w *upstream401) Write(b []byte) (int, error) {
	if w.refused {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// proxyQuery answers /api/v1/query and /api/v1/query_range as web/api/v1
// does, from the same engine, storage, limits and Intercept as
// /api/ds/query.
func (s *Server) proxyQuery(w http.ResponseWriter, r *http.Request) {
	ds, ok := s.promDatasource(w, r)
	if !ok {
		return
	}
	s.proxyQueries.Add(1)
	if err := r.ParseForm(); err != nil {
		writePromError(w, http.StatusBadRequest, "bad_data", "error parsing form values: "+err.Error())
		return
	}
	call := PromCall{Datasource: ds.UID, Path: "/api/v1/" + path.Base(r.URL.Path), Expr: r.Form.Get("query")}
	if call.Path == "/api/v1/query" {
		call.Instant = true
		t, err := promParseTime(r.Form.Get("time"), s.cfg.Now())
		if err != nil {
			writePromError(w, http.StatusBadRequest, "bad_data", `invalid parameter "time": `+err.Error())
			return
		}
		call.Start, call.End = t, t
	} else {
		for _, p := range []struct {
			name string
			dst  *time.Time
		}{{"start", &call.Start}, {"end", &call.End}} {
			t, err := promParseTime(r.Form.Get(p.name), time.Time{})
			if err == nil && r.Form.Get(p.name) == "" {
				err = errCannotParse("")
			}
			if err != nil {
				writePromError(w, http.StatusBadRequest, "bad_data", `invalid parameter "`+p.name+`": `+err.Error())
				return
			}
			*p.dst = t
		}
		step, err := promParseDuration(r.Form.Get("step"))
		if err != nil {
			writePromError(w, http.StatusBadRequest, "bad_data", `invalid parameter "step": `+err.Error())
			return
		}
		call.Step = step
	}
	ans := s.callProm(r.Context(), call)
	if ans.close != nil {
		defer ans.close()
	}
	switch {
	case ans.reply != nil:
		writeReply(w, ans.reply)
		return
	case ans.unexpected != "":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(ans.status)
		_, _ = io.WriteString(w, ans.unexpected)
		return
	case ans.err != "":
		// callProm words errors as promlib does, "<errorType>: <error>".
		typ, msg, _ := strings.Cut(ans.err, ": ")
		writePromError(w, ans.status, typ, msg)
		return
	}
	val := ans.value
	if ans.stream != nil {
		val = ans.stream.matrix()
	}
	body := promSuccess{Status: "success", Data: promData{ResultType: val.Type(), Result: val}}
	if len(ans.warnings) > 0 {
		body.Warnings, body.Infos = ans.warnings.AsStrings(call.Expr, 10, 10)
	}
	writeMaybeGzip(w, r, http.StatusOK, func(out io.Writer) error { return json.NewEncoder(out).Encode(body) })
}

// promSuccess is web/api/v1's response, in its field order.
type promSuccess struct {
	Status   string   `json:"status"`
	Data     promData `json:"data"`
	Warnings []string `json:"warnings,omitempty"`
	Infos    []string `json:"infos,omitempty"`
}

type promData struct {
	ResultType parser.ValueType `json:"resultType"`
	Result     parser.Value     `json:"result"`
}

// matrix reads a streamed range selector's points into an ordinary
// answer: the proxy writes Prometheus's JSON, not frames, and holds it
// whole while encoding it, unlike /api/ds/query's streamed frames. It
// serves tests and the demo, not the large synthetic benchmarks.
func (sm *streamMatrix) matrix() parser.Value {
	out := make(promql.Matrix, 0, len(sm.series))
	for _, ser := range sm.series {
		out = append(out, promql.Series{Metric: ser.Labels(), Floats: appendPoints(nil, ser)})
	}
	return out
}

// promParseDuration is web/api/v1's parseDuration: float seconds or a
// Prometheus duration.
func promParseDuration(s string) (time.Duration, error) {
	if d, err := strconv.ParseFloat(s, 64); err == nil {
		ts := d * float64(time.Second)
		if ts > float64(math.MaxInt64) || ts < float64(math.MinInt64) {
			return 0, errCannotParse(s)
		}
		return time.Duration(ts), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, errCannotParseDuration(s)
}

type errCannotParseDuration string

func (e errCannotParseDuration) Error() string {
	return "cannot parse " + strconv.Quote(string(e)) + " to a valid duration"
}
