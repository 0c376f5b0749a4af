package sim

import (
	"io"
	"net/http"
	"slices"
	"strings"
)

// Grafana Cloud's Prometheus endpoint, https://prometheus-prod-NN-....
// grafana.net/api/prom: the Prometheus API of the stack's Mimir, behind
// basic auth with the stack's metrics instance ID as the user and an access
// policy token as the password, and its remote read (read.go). A token whose policy lacks metrics:read
// (a metrics:write token, say) is refused with 401 "authentication error:
// invalid scope requested"; a token the stack does not know, or another
// user, with 401 "authentication error: invalid token". It answers from the
// first Prometheus datasource's data, with its limits and Intercept: the
// datasource is that same Mimir.

// CloudPrefix is where the simulator serves the endpoint.
const CloudPrefix = "/api/prom"

// Cloud configures the endpoint.
type Cloud struct {
	Instance string // the numeric metrics instance ID, the basic-auth user
	// Tokens maps each access policy token the stack knows to its scopes,
	// e.g. "metrics:read" or "metrics:write".
	Tokens map[string][]string
}

func (s *Server) cloudRoutes(m *http.ServeMux) {
	if s.cfg.Cloud == nil {
		return
	}
	for _, p := range []string{"query", "query_range"} {
		m.Handle("GET "+CloudPrefix+"/api/v1/"+p, s.cloudAuthed(s.proxyQuery))
		m.Handle("POST "+CloudPrefix+"/api/v1/"+p, s.cloudAuthed(s.proxyQuery))
	}
	m.Handle("POST "+CloudPrefix+"/api/v1/read", s.cloudAuthed(s.remoteRead))
	m.Handle("GET "+CloudPrefix+"/api/v1/status/buildinfo", s.cloudAuthed(s.buildInfo))
	for p, h := range map[string]http.HandlerFunc{"series": s.series, "labels": s.labelNames, "label/{name}/values": s.labelValues} {
		m.Handle("GET "+CloudPrefix+"/api/v1/"+p, s.cloudAuthed(h))
		m.Handle("POST "+CloudPrefix+"/api/v1/"+p, s.cloudAuthed(h))
	}
}

// cloudAuthed checks the endpoint's basic auth and answers as the first
// Prometheus datasource's Prometheus would.
func (s *Server) cloudAuthed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, token, ok := r.BasicAuth()
		scopes, known := s.cfg.Cloud.Tokens[token]
		switch {
		case !ok || user != s.cfg.Cloud.Instance || !known:
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "authentication error: invalid token"})
			return
		case !slices.Contains(scopes, "metrics:read"):
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "authentication error: invalid scope requested"})
			return
		}
		ds, _ := s.findDatasource(func(d Datasource) bool { return strings.Contains(d.Type, "prometheus") })
		r.SetPathValue("uid", ds.UID)
		h(w, r)
	})
}

// buildInfo answers as Mimir does, with its own application and version,
// or, where the range selectors are closed, as a Prometheus 2.
func (s *Server) buildInfo(w http.ResponseWriter, _ *http.Request) {
	info := `{"application":"Grafana Mimir","version":"2.14.0"}`
	if s.cfg.PrometheusV2 {
		info = `{"version":"2.42.0"}`
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"status":"success","data":`+info+`}`)
}
