package doctor

import (
	"slices"
	"strings"
)

// Fix names the advice for a row, for the program to give in its own
// words (its flags): the package names none.
type Fix string

// The fixes, one a kind of trouble.
const (
	FixGrafanaURLMissing          Fix = "grafana-url-missing"
	FixSourceURLMissing           Fix = "source-url-missing"
	FixNoSamples                  Fix = "no-samples"
	FixGrafanaUnreachable         Fix = "grafana-unreachable"
	FixSourceUnreachable          Fix = "source-unreachable"
	FixAccessPolicyTokenToGrafana Fix = "access-policy-token-to-grafana"
	FixInvalidAPIKey              Fix = "invalid-api-key"
	FixSessionExpired             Fix = "session-expired"
	FixOtherOrganization          Fix = "other-organization"
	FixGrafanaWantsCredentials    Fix = "grafana-wants-credentials"
	FixGrafanaRefused             Fix = "grafana-refused"
	FixDatasourceNotFound         Fix = "datasource-not-found"
	FixDatasourceNotGiven         Fix = "datasource-not-given"
	FixDatasourceNotPrometheus    Fix = "datasource-not-prometheus"
	FixProxyRefused               Fix = "proxy-refused"
	FixResourcesRefused           Fix = "resources-refused"
	FixSourceWantsCredentials     Fix = "source-wants-credentials"
	FixInvalidScope               Fix = "invalid-scope"
	FixInvalidToken               Fix = "invalid-token"
	FixSourceRefused              Fix = "source-refused"
	FixSourceIsGrafana            Fix = "source-is-grafana"
	FixNoRemoteRead               Fix = "no-remote-read"
	FixNoPrometheusAPI            Fix = "no-prometheus-api"
	FixNotGrafana                 Fix = "not-grafana"
	FixBusy                       Fix = "busy"
)

// Fixes lists every Fix a row may name.
var Fixes = []Fix{FixGrafanaURLMissing, FixSourceURLMissing, FixNoSamples, FixGrafanaUnreachable, FixSourceUnreachable, FixAccessPolicyTokenToGrafana, FixInvalidAPIKey, FixSessionExpired, FixOtherOrganization, FixGrafanaWantsCredentials, FixGrafanaRefused, FixDatasourceNotFound, FixDatasourceNotGiven, FixDatasourceNotPrometheus, FixProxyRefused, FixResourcesRefused, FixSourceWantsCredentials, FixInvalidScope, FixInvalidToken, FixSourceRefused, FixSourceIsGrafana, FixNoRemoteRead, FixNoPrometheusAPI, FixNotGrafana, FixBusy}

// A fix applies to a row of one of doors (any when nil) in state whose
// message holds text (lower case; any when "") and whose status is status
// (any when 0).
type fix struct {
	doors  []Door
	state  State
	text   string
	status int
	fix    Fix
}

var sampleDoors = []Door{DSQuery, Proxy, Prometheus, RemoteRead}

// fixes say which fix a row gets, by its door, state, status and message:
// matched in order, the first entry that fits giving it.
var fixes = []fix{
	{doors: []Door{Health}, state: NotTried, text: "no grafana url given", fix: FixGrafanaURLMissing},
	{doors: []Door{Prometheus}, state: NotTried, text: "no source url given", fix: FixSourceURLMissing},
	{state: NotTried},
	{doors: sampleDoors, state: Works, text: "no samples", fix: FixNoSamples},
	{state: Works},
	{doors: grafanaDoors, state: Unreachable, fix: FixGrafanaUnreachable},
	{state: Unreachable, fix: FixSourceUnreachable},
	{doors: []Door{Credentials}, text: "access-policy token", fix: FixAccessPolicyTokenToGrafana},
	{doors: []Door{Credentials}, text: "invalid api key", fix: FixInvalidAPIKey},
	{doors: []Door{Credentials}, text: "session cookie", fix: FixSessionExpired},
	{doors: []Door{Credentials}, text: "organization", fix: FixOtherOrganization},
	{doors: []Door{Credentials}, text: "wants credentials", fix: FixGrafanaWantsCredentials},
	{doors: []Door{Credentials}, status: 401, fix: FixGrafanaRefused},
	{doors: []Door{Datasource}, text: "not found by uid or name", fix: FixDatasourceNotFound},
	{doors: []Door{Datasource}, text: "no datasource given", fix: FixDatasourceNotGiven},
	{doors: []Door{Datasource}, text: "not prometheus", fix: FixDatasourceNotPrometheus},
	{doors: []Door{Proxy}, status: 403, fix: FixProxyRefused},
	{doors: []Door{Resources}, fix: FixResourcesRefused},
	{doors: []Door{Prometheus, RemoteRead}, text: "wants credentials", fix: FixSourceWantsCredentials},
	{doors: []Door{Prometheus, RemoteRead}, text: "invalid scope requested", fix: FixInvalidScope},
	{doors: []Door{Prometheus, RemoteRead}, text: "invalid token", fix: FixInvalidToken},
	{doors: []Door{Prometheus, RemoteRead}, status: 401, fix: FixSourceRefused},
	{doors: []Door{Prometheus, RemoteRead}, status: 403, fix: FixSourceRefused},
	{doors: []Door{Prometheus, RemoteRead}, text: "is grafana", fix: FixSourceIsGrafana},
	{doors: []Door{RemoteRead}, text: "remote read is not exposed", fix: FixNoRemoteRead},
	{doors: []Door{Prometheus}, status: 404, fix: FixNoPrometheusAPI},
	{doors: []Door{Health}, fix: FixNotGrafana},
	{status: 429, fix: FixBusy},
}

// fixFor is the fix of row's first fitting entry, "" when none fits or
// the entry names none.
func fixFor(row Row) Fix {
	msg := strings.ToLower(row.Message)
	for _, f := range fixes {
		if (f.doors == nil || slices.Contains(f.doors, row.Door)) &&
			(f.state == "" || f.state == row.State) && (f.state != "" || row.State == Refused || row.State == Unreachable) &&
			strings.Contains(msg, f.text) && (f.status == 0 || f.status == row.Status) {
			return f.fix
		}
	}
	return ""
}
