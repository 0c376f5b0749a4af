package main

import "github.com/promrecover/promrecover/doctor"

// doctorFixes are doctor's fixes in the command's words: what to give or
// change, by flag. TestEveryDoctorFixHasItsWords keeps the table whole.
var doctorFixes = map[doctor.Fix]string{
	doctor.FixGrafanaURLMissing:          "to try the doors through Grafana, give --grafana-url (or GRAFANA_URL), the address you open Grafana at, with its credentials (--token, --session, or --user and --password)",
	doctor.FixSourceURLMissing:           "to read the data without Grafana, give --source-url (or PROMRECOVER_SOURCE_URL): for Grafana Cloud the stack's Prometheus URL ending in /api/prom (its details page), for Mimir its /prometheus prefix, for Prometheus its address; with --source-user and --source-password (Grafana Cloud: the instance ID and a glc_ token with metrics:read) or --source-token",
	doctor.FixNoSamples:                  "give --match a selector of series that get samples now, e.g. one from a Grafana panel of the lost data",
	doctor.FixGrafanaUnreachable:         "check the host and port of --grafana-url (the address you open Grafana at), and that this machine reaches it (a firewall; HTTPS_PROXY and NO_PROXY; a private CA in SSL_CERT_FILE)",
	doctor.FixSourceUnreachable:          "check the host and port of --source-url, and that this machine reaches it (a firewall; HTTPS_PROXY and NO_PROXY; a private CA in SSL_CERT_FILE)",
	doctor.FixAccessPolicyTokenToGrafana: "a glc_ token opens Grafana Cloud's Prometheus endpoint, not Grafana: give it as --source-password with the stack's instance ID as --source-user and --source-url the stack's Prometheus URL (ending in /api/prom); for Grafana itself, create a service account token (glsa_...) with the Viewer role and give it as --token",
	doctor.FixInvalidAPIKey:              "give --token a service account token (glsa_...) of this Grafana that is not expired (Administration > Users and access > Service accounts, Viewer role); a Grafana Cloud access policy token (glc_...) is for --source-password instead",
	doctor.FixSessionExpired:             "the session expired or was logged out: log in to Grafana in a browser again and give the new grafana_session cookie's value as --session (or GRAFANA_SESSION); or use --token, which never expires unless told to",
	doctor.FixOtherOrganization:          "leave --org-id out to use the token's own organization, or create the token in the organization asked for",
	doctor.FixGrafanaWantsCredentials:    "give Grafana credentials: --token (a service account token), --session (a browser's grafana_session cookie) or --user and --password",
	doctor.FixGrafanaRefused:             "Grafana refused the credentials: give --token a service account token of this Grafana, --session a fresh grafana_session cookie, or --user and --password of a user allowed to log in with them",
	doctor.FixDatasourceNotFound:         "give --datasource one of the uids 'promrecover datasources' lists (or the last part of the datasource's URL in Grafana under Connections > Data sources)",
	doctor.FixDatasourceNotGiven:         "give --datasource one of the uids the message lists",
	doctor.FixDatasourceNotPrometheus:    "give --datasource a Prometheus datasource: 'promrecover datasources' lists them",
	doctor.FixProxyRefused:               "Grafana does not let these credentials through the datasource proxy: read through /api/ds/query (--via ds, no native histograms), or ask a Grafana admin for the datasource's query permission with the datasource's access set to Server",
	doctor.FixResourcesRefused:           "Grafana does not serve the datasource's resources to these credentials: recover still works, counting series with queries instead (slower sharding); a Grafana admin can grant datasources:query",
	doctor.FixSourceWantsCredentials:     "give the source's credentials: --source-user and --source-password (Grafana Cloud: the instance ID and a glc_ token with metrics:read) or --source-token; --user, --password and --token are Grafana's here",
	doctor.FixInvalidScope:               "the token lacks the metrics:read scope for this stack: create an access policy token with metrics:read in Grafana Cloud (Administration > Users and access > Cloud access policies) and give it as --source-password, with the stack's instance ID as --source-user",
	doctor.FixInvalidToken:               "give --source-user the stack's numeric instance ID and --source-password an access policy token (glc_...) with metrics:read that is whole and not revoked; a service account token (glsa_...) is Grafana's, for --token",
	doctor.FixSourceRefused:              "the source refused the credentials: give --source-user and --source-password (Grafana Cloud: the stack's instance ID and a glc_ token with metrics:read), or --source-token, that this source accepts",
	doctor.FixSourceIsGrafana:            "give --source-url the Prometheus endpoint itself (Grafana Cloud: the stack's Prometheus URL ending in /api/prom), and this address as --grafana-url",
	doctor.FixNoRemoteRead:               "remote read is not served there: read through the Prometheus HTTP API at the same address (--via prometheus)",
	doctor.FixNoPrometheusAPI:            "give --source-url the address /api/v1/query is under: Grafana Cloud's stack Prometheus URL ending in /api/prom, Mimir's /prometheus prefix, or Prometheus's own address",
	doctor.FixNotGrafana:                 "give --grafana-url the address you open Grafana at (with a sub-path such as /grafana if it has one), where /api/health answers JSON",
	doctor.FixBusy:                       "the server is busy or limits this client: try again in a minute",
}
