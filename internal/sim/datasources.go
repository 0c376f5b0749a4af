package sim

import (
	"net/http"
	"sort"
	"strings"
)

// The datasource endpoints, with the field order of Grafana's DTOs
// (dtos.DataSourceListItemDTO and dtos.DataSource).

type dsListItem struct {
	ID          int64          `json:"id"`
	UID         string         `json:"uid"`
	OrgID       int64          `json:"orgId"`
	Name        string         `json:"name"`
	Type        string         `json:"type"`
	TypeName    string         `json:"typeName"`
	TypeLogoURL string         `json:"typeLogoUrl"`
	Access      string         `json:"access"`
	URL         string         `json:"url"`
	User        string         `json:"user"`
	Database    string         `json:"database"`
	BasicAuth   bool           `json:"basicAuth"`
	IsDefault   bool           `json:"isDefault"`
	JSONData    map[string]any `json:"jsonData"`
	ReadOnly    bool           `json:"readOnly"`
}

type dsDetail struct {
	ID               int64           `json:"id"`
	UID              string          `json:"uid"`
	OrgID            int64           `json:"orgId"`
	Name             string          `json:"name"`
	Type             string          `json:"type"`
	TypeLogoURL      string          `json:"typeLogoUrl"`
	Access           string          `json:"access"`
	URL              string          `json:"url"`
	User             string          `json:"user"`
	Database         string          `json:"database"`
	BasicAuth        bool            `json:"basicAuth"`
	BasicAuthUser    string          `json:"basicAuthUser"`
	WithCredentials  bool            `json:"withCredentials"`
	IsDefault        bool            `json:"isDefault"`
	JSONData         map[string]any  `json:"jsonData"`
	SecureJSONFields map[string]bool `json:"secureJsonFields"`
	Version          int             `json:"version"`
	ReadOnly         bool            `json:"readOnly"`
}

var pluginNames = map[string][2]string{
	"prometheus": {"Prometheus", "public/app/plugins/datasource/prometheus/img/prometheus_logo.svg"},
	"loki":       {"Loki", "public/app/plugins/datasource/loki/img/loki_icon.svg"},
	"tempo":      {"Tempo", "public/app/plugins/datasource/tempo/img/tempo_logo.svg"},
}

// isDefault marks the first prometheus datasource as the org default.
func (s *Server) isDefault(ds Datasource) bool {
	for _, d := range s.cfg.Datasources {
		if d.Type == "prometheus" {
			return d.UID == ds.UID
		}
	}
	return false
}

func jsonData(ds Datasource) map[string]any {
	jd := map[string]any{}
	if ds.Type == "prometheus" {
		jd["httpMethod"] = "POST"
		if ds.TimeInterval != "" {
			jd["timeInterval"] = ds.TimeInterval
		}
	}
	return jd
}

func (s *Server) listDatasources(w http.ResponseWriter, _ *http.Request) {
	items := make([]dsListItem, 0, len(s.cfg.Datasources))
	for _, ds := range s.cfg.Datasources {
		names := pluginNames[ds.Type]
		items = append(items, dsListItem{
			ID: ds.ID, UID: ds.UID, OrgID: 1, Name: ds.Name, Type: ds.Type,
			TypeName: names[0], TypeLogoURL: names[1], Access: "proxy", URL: ds.URL,
			IsDefault: s.isDefault(ds), JSONData: jsonData(ds), ReadOnly: true,
		})
	}
	// Grafana lists datasources by name, ignoring case.
	sort.SliceStable(items, func(i, j int) bool { return strings.ToLower(items[i].Name) < strings.ToLower(items[j].Name) })
	writeJSON(w, http.StatusOK, items)
}

func (s *Server) datasourceByUID(w http.ResponseWriter, r *http.Request) {
	ds, ok := s.findDatasource(func(d Datasource) bool { return d.UID == r.PathValue("uid") })
	s.writeDatasource(w, ds, ok)
}

func (s *Server) datasourceByName(w http.ResponseWriter, r *http.Request) {
	ds, ok := s.findDatasource(func(d Datasource) bool { return d.Name == r.PathValue("name") })
	s.writeDatasource(w, ds, ok)
}

func (s *Server) findDatasource(match func(Datasource) bool) (Datasource, bool) {
	for _, d := range s.cfg.Datasources {
		if match(d) {
			return d, true
		}
	}
	return Datasource{}, false
}

func (s *Server) writeDatasource(w http.ResponseWriter, ds Datasource, ok bool) {
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Data source not found"})
		return
	}
	writeJSON(w, http.StatusOK, dsDetail{
		ID: ds.ID, UID: ds.UID, OrgID: 1, Name: ds.Name, Type: ds.Type,
		TypeLogoURL: pluginNames[ds.Type][1], Access: "proxy", URL: ds.URL,
		IsDefault: s.isDefault(ds), JSONData: jsonData(ds), SecureJSONFields: map[string]bool{},
		Version: 1, ReadOnly: true,
	})
}
