package doctor

import (
	"slices"
	"strings"
)

// The fixes are advice to a person at promrecover's command line, so they
// name its flags, unlike the errors of the libraries (which the command
// words itself). They are all here, matched in order, the first that fits
// a row giving its fix.

// A fix applies to a row of one of doors (any when nil) in state whose
// message holds text (lower case; any when "") and whose status is status
// (any when 0).
type fix struct {
	doors  []Door
	state  State
	text   string
	status int
	fix    string
}

var sampleDoors = []Door{DSQuery, Proxy, Prometheus, RemoteRead}

var fixes = []fix{
	{doors: grafanaDoors, state: NotTried, text: "no grafana url given", fix: "to try the doors through Grafana, give --grafana-url (or GRAFANA_URL), the address you open Grafana at, with its credentials (--token, --session, or --user and --password)"},
	{doors: []Door{Prometheus, RemoteRead}, state: NotTried, fix: "to read the data without Grafana, give --source-url (or PROMRECOVER_SOURCE_URL): for Grafana Cloud the stack's Prometheus URL ending in /api/prom (its details page), for Mimir its /prometheus prefix, for Prometheus its address; with --source-user and --source-password (Grafana Cloud: the instance ID and a glc_ token with metrics:read) or --source-token"},
	{state: NotTried},
	{doors: sampleDoors, state: Works, text: "no samples", fix: "give --match a selector of series that get samples now, e.g. one from a Grafana panel of the lost data"},
	{state: Works},
	{doors: grafanaDoors, state: Unreachable, fix: "check the host and port of --grafana-url (the address you open Grafana at), and that this machine reaches it (a firewall; HTTPS_PROXY and NO_PROXY; a private CA in SSL_CERT_FILE)"},
	{state: Unreachable, fix: "check the host and port of --source-url, and that this machine reaches it (a firewall; HTTPS_PROXY and NO_PROXY; a private CA in SSL_CERT_FILE)"},
	{doors: []Door{Credentials}, text: "access-policy token", fix: "a glc_ token opens Grafana Cloud's Prometheus endpoint, not Grafana: give it as --source-password with the stack's instance ID as --source-user and --source-url the stack's Prometheus URL (ending in /api/prom); for Grafana itself, create a service account token (glsa_...) with the Viewer role and give it as --token"},
	{doors: []Door{Credentials}, text: "invalid api key", fix: "give --token a service account token (glsa_...) of this Grafana that is not expired (Administration > Users and access > Service accounts, Viewer role); a Grafana Cloud access policy token (glc_...) is for --source-password instead"},
	{doors: []Door{Credentials}, text: "session cookie", fix: "the session expired or was logged out: log in to Grafana in a browser again and give the new grafana_session cookie's value as --session (or GRAFANA_SESSION); or use --token, which never expires unless told to"},
	{doors: []Door{Credentials}, text: "organization", fix: "leave --org-id out to use the token's own organization, or create the token in the organization asked for"},
	{doors: []Door{Credentials}, text: "wants credentials", fix: "give Grafana credentials: --token (a service account token), --session (a browser's grafana_session cookie) or --user and --password"},
	{doors: []Door{Credentials}, status: 401, fix: "Grafana refused the credentials: give --token a service account token of this Grafana, --session a fresh grafana_session cookie, or --user and --password of a user allowed to log in with them"},
	{doors: []Door{Datasource}, text: "not found by uid or name", fix: "give --datasource one of the uids 'promrecover datasources' lists (or the last part of the datasource's URL in Grafana under Connections > Data sources)"},
	{doors: []Door{Datasource}, text: "no datasource given", fix: "give --datasource one of the uids the message lists"},
	{doors: []Door{Datasource}, text: "not prometheus", fix: "give --datasource a Prometheus datasource: 'promrecover datasources' lists them"},
	{doors: []Door{Proxy}, status: 403, fix: "Grafana does not let these credentials through the datasource proxy: read through /api/ds/query (--via ds, no native histograms), or ask a Grafana admin for the datasource's query permission with the datasource's access set to Server"},
	{doors: []Door{Resources}, fix: "Grafana does not serve the datasource's resources to these credentials: recover still works, counting series with queries instead (slower sharding); a Grafana admin can grant datasources:query"},
	{doors: []Door{Prometheus, RemoteRead}, text: "wants credentials", fix: "give the source's credentials: --source-user and --source-password (Grafana Cloud: the instance ID and a glc_ token with metrics:read) or --source-token; --user, --password and --token are Grafana's here"},
	{doors: []Door{Prometheus, RemoteRead}, text: "invalid scope requested", fix: "the token lacks the metrics:read scope for this stack: create an access policy token with metrics:read in Grafana Cloud (Administration > Users and access > Cloud access policies) and give it as --source-password, with the stack's instance ID as --source-user"},
	{doors: []Door{Prometheus, RemoteRead}, text: "invalid token", fix: "give --source-user the stack's numeric instance ID and --source-password an access policy token (glc_...) with metrics:read that is whole and not revoked; a service account token (glsa_...) is Grafana's, for --token"},
	{doors: []Door{Prometheus, RemoteRead}, status: 401, fix: "the source refused the credentials: give --source-user and --source-password, or --source-token, that this source accepts"},
	{doors: []Door{Prometheus, RemoteRead}, text: "is grafana", fix: "give --source-url the Prometheus endpoint itself (Grafana Cloud: the stack's Prometheus URL ending in /api/prom), and this address as --grafana-url"},
	{doors: []Door{RemoteRead}, text: "remote read is not exposed", fix: "remote read is not served there: read through the Prometheus HTTP API at the same address (--via prometheus)"},
	{doors: []Door{Prometheus}, status: 404, fix: "give --source-url the address /api/v1/query is under: Grafana Cloud's stack Prometheus URL ending in /api/prom, Mimir's /prometheus prefix, or Prometheus's own address"},
	{doors: []Door{Health}, fix: "give --grafana-url the address you open Grafana at (with a sub-path such as /grafana if it has one), where /api/health answers JSON"},
	{status: 429, fix: "the server is busy or limits this client: try again in a minute"},
}

// fixFor is the fix of row's first fitting entry, "" when none fits or
// the entry gives none.
func fixFor(row Row) string {
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
