package main

import (
	"slices"
	"strings"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/relabel"
	"github.com/promrecover/promrecover/extract/state"
	"github.com/promrecover/promrecover/internal/shellquote"
)

// The libraries say what is wrong in their own terms (the Grafana URL, the
// step, the output directory) and return it as an *extract.ParamError; the
// user gave those values as flags, so what the user reads names the flags.
// flagWording holds, for each library Format, the same text in flag terms,
// with the same verbs in the same order.
var flagWording = map[string]string{
	"the range's start (%s) must be before its end (%s)":                                                        "--from (%s) must be before --to (%s)",
	"the step must be positive":                                                                                 "--step must be positive",
	"the step %s: Prometheus steps are whole milliseconds":                                                      "--step %s: Prometheus steps are whole milliseconds",
	"the step %s is too fine: a 2h window would need more than %d points a series; use 1s or more":              "--step %s is too fine: a 2h window would need more than %d points a series; use 1s or more",
	"the selector %q is not a series selector (%v); write one like 'up' or '{job=\"node\"}'":                    "--match %q is not a series selector (%v); write one like 'up' or '{job=\"node\"}'",
	"the selector %q has no matcher; give at least one, e.g. '{job=\"node\"}', or no selector for every series": "--match %q has no matcher; give at least one, e.g. '{job=\"node\"}', or leave --match out for every series",
	"the selector %q is not a series selector Prometheus accepts: it needs at least one matcher that does not match the empty string, e.g. '{job=\"node\"}' or '{job=~\".+\"}'": "--match %q is not a series selector Prometheus accepts: it needs at least one matcher that does not match the empty string, e.g. '{job=\"node\"}' or '{job=~\".+\"}'",
	"the Grafana URL %q is not an http(s) URL; give the address you open Grafana at, e.g. https://example.grafana.net":                                                          "--grafana-url %q is not an http(s) URL; give the address you open Grafana at, e.g. https://example.grafana.net",
	"the Grafana URL holds credentials; give them as the user and password instead, so they stay out of logs":                                                                   "--grafana-url holds credentials; pass them with --user/--password or GRAFANA_USER/GRAFANA_PASSWORD instead, so they stay out of logs",
	"a user needs a password": "--user needs --password (or GRAFANA_PASSWORD)",
	"%w: Grafana wants credentials: give a token, a session or a user and password":                                                                                                                                                                                    "%w: Grafana wants credentials: pass --token, --session or --user/--password",
	"%s: %s; /api/ds/query cannot carry these faithfully (native histograms arrive as heatmap cells without count and sum), so nothing of them is written; recover them through the datasource proxy":                                                                  "%s: %s; /api/ds/query cannot carry these faithfully (native histograms arrive as heatmap cells without count and sum), so nothing of them is written; recover them with --via proxy",
	"Grafana ran the query at step %s, not the %s asked for (a datasource minimum interval above %s forces this); choose the step %s or lower the datasource's scrape interval setting":                                                                                "Grafana ran the query at step %s, not the %s asked for (a datasource minimum interval above %s forces this); choose --step %s or lower the datasource's scrape interval setting",
	"give one kind of credentials: a token, a session, or a user and password":                                                                                                                                                                                         "give one kind of credentials: --token, --session, or --user/--password",
	"create a service account token (glsa_...) in Grafana under Administration > Users and access > Service accounts, give it the Viewer role (or datasources:query), and give it as the token":                                                                        "create a service account token (glsa_...) in Grafana under Administration > Users and access > Service accounts, give it the Viewer role (or datasources:query), and pass it with --token or GRAFANA_TOKEN",
	"the Grafana URL %s is a Prometheus (Mimir) endpoint, not Grafana: promrecover reads through Grafana's HTTP API; give the address you open Grafana at, e.g. https://<stack>.grafana.net; or read this Prometheus API directly, without Grafana, as the source URL": "--grafana-url %s is a Prometheus (Mimir) endpoint, not Grafana: promrecover reads through Grafana's HTTP API; give the address you open Grafana at, e.g. https://<stack>.grafana.net; or read this Prometheus API directly, without Grafana: --via prometheus --source-url with this address",
	"%w: the token belongs to another organization than %d; ask for no organization to use the token's own, or create a service account token in organization %d":                                                                                                      "%w: the token belongs to another organization than --org-id %d; leave --org-id out to use the token's own organization, or create a service account token in organization %d",
	"the session is neither a cookie value nor a Cookie header; give the value of the %s cookie only":                                                                                                                                                                  "the session (--session or GRAFANA_SESSION) is neither a cookie value nor a Cookie header; pass the value of the %s cookie only",
	"the session holds the cookies %s but none named %s; give the value of the %s cookie, or the cookie's name if this Grafana's [auth] login_cookie_name is another":                                                                                                  "the session (--session or GRAFANA_SESSION) holds the cookies %s but none named %s; pass the value of the %s cookie, or --cookie-name NAME if this Grafana's [auth] login_cookie_name is another",
	"log in again to Grafana in a browser, copy the value of the new %s cookie (developer tools > Application or Storage > Cookies) and give it as the session; or use a service account token, which never needs rotating":                                            "log in again to Grafana in a browser, copy the value of the new %s cookie (developer tools > Application or Storage > Cookies) and pass it with --session or GRAFANA_SESSION; or use a service account token (--token), which never needs rotating",
	"%w: Grafana's CSRF check refused a cookie-authenticated request whose Origin header names another host than the one Grafana was asked for. promrecover sends no Origin header: a proxy between it and Grafana added it. Fix one of: make the proxy stop adding Origin (or forward the Host Grafana expects); add that origin's host to Grafana's [security] csrf_trusted_origins; or use a service account token, which the CSRF check does not apply to": "%w: Grafana's CSRF check refused a cookie-authenticated request whose Origin header names another host than the one Grafana was asked for. promrecover sends no Origin header: a proxy between it and Grafana added it. Fix one of: make the proxy stop adding Origin (or forward the Host Grafana expects); add that origin's host to Grafana's [security] csrf_trusted_origins; or use a service account token (--token), which the CSRF check does not apply to",
	"; Prometheus answers at most 11,000 points per series and query: choose a larger step (at least the range of a query / 11,000), or no step to fetch the raw samples, which this limit does not apply to":                                                                                                                                                                                                                                                  "; Prometheus answers at most 11,000 points per series and query: choose a larger --step (at least the range of a query / 11,000), or leave --step out to fetch the raw samples, which this limit does not apply to",
	"; nothing told this part's series apart under the server's series limit: raise that limit, or narrow the selector": "; nothing told this part's series apart under the server's series limit: raise that limit, or narrow --match",
	"%s %s answered with %w, not Grafana's JSON API: either the Grafana URL %s is not the address Grafana serves its API at (a missing sub-path such as /grafana, or another application), or a login proxy in front of Grafana (SSO, oauth2-proxy, an access gateway) answered with its login page; give the URL at which %s/api/health answers JSON, or one that bypasses the login proxy": "%s %s answered with %w, not Grafana's JSON API: either --grafana-url %s is not the address Grafana serves its API at (a missing sub-path such as /grafana, or another application), or a login proxy in front of Grafana (SSO, oauth2-proxy, an access gateway) answered with its login page; give the URL at which %s/api/health answers JSON, or one that bypasses the login proxy",
	"%w. Through the datasource proxy the page may also come from the datasource's URL, which Grafana forwards the query to (a login page in front of Prometheus, or an address that is not Prometheus's): check it in Grafana under Connections > Data sources with Save & test, or read through /api/ds/query":                                                                             "%w. Through the datasource proxy the page may also come from the datasource's URL, which Grafana forwards the query to (a login page in front of Prometheus, or an address that is not Prometheus's): check it in Grafana under Connections > Data sources with Save & test, or read through /api/ds/query (--via ds)",
	"%w: no such host; check the spelling of the Grafana URL %s (the address you open Grafana at)": "%w: no such host; check the spelling of --grafana-url %s (the address you open Grafana at)",
	"%w: this machine does not trust the TLS certificate of %s; if Grafana's certificate comes from a private CA, add the CA to the system's trust store or point SSL_CERT_FILE at its PEM file, and check that the Grafana URL names the host the certificate is for": "%w: this machine does not trust the TLS certificate of %s; if Grafana's certificate comes from a private CA, add the CA to the system's trust store or point SSL_CERT_FILE at its PEM file, and check that --grafana-url names the host the certificate is for",
	"%w: %s answers plain HTTP on that port: write http:// in the Grafana URL, or give the port Grafana serves HTTPS on":                                                                                                                                               "%w: %s answers plain HTTP on that port: write http:// in --grafana-url, or give the port Grafana serves HTTPS on",
	"%w; nothing answered there after every retry: check the host and port of the Grafana URL (the address you open Grafana at) and that this machine can reach it (a firewall; HTTPS_PROXY and NO_PROXY when a proxy is needed)":                                      "%w; nothing answered there after every retry: check the host and port of --grafana-url (the address you open Grafana at; GRAFANA_URL when the flag is not given) and that this machine can reach it (a firewall; HTTPS_PROXY and NO_PROXY when a proxy is needed)",
	"%s; these credentials see no Prometheus datasource (check the organization, or the service account's permissions)":                                                                                                                                                "%s; these credentials see no Prometheus datasource (check --org-id, or the service account's permissions)",
	"%s; give as the datasource one of the uids or names the datasources list, e.g. %s (%d more)":                                                                                                                                                                      "%s; give --datasource one of the uids or names of 'promrecover datasources', e.g. %s (%d more)",
	"%s; give as the datasource one of the uids (or names) the datasources list: %s":                                                                                                                                                                                   "%s; give --datasource one of the uids (or names) 'promrecover datasources' lists: %s",
	"%s (it set %s: if this Grafana's [auth] login_cookie_name is one of these, give it as the cookie's name)":                                                                                                                                                         "%s (it set %s: if this Grafana's [auth] login_cookie_name is one of these, pass it with --cookie-name)",
	"the output directory %s: no such directory; create it or give the Prometheus data directory (for a Docker volume: docker volume inspect NAME --format '{{ .Mountpoint }}')":                                                                                       "--out %s: no such directory; create it or point --out at the Prometheus data directory (for a Docker volume: docker volume inspect NAME --format '{{ .Mountpoint }}')",
	"the output directory %s: part of the path is a file, not a directory; give the Prometheus data directory (for a Docker volume: docker volume inspect NAME --format '{{ .Mountpoint }}')":                                                                          "--out %s: part of the path is a file, not a directory; point --out at the Prometheus data directory (for a Docker volume: docker volume inspect NAME --format '{{ .Mountpoint }}')",
	"the output directory %s: %w; run as a user who can read and write the Prometheus data directory":                                                                                                                                                                  "--out %s: %w; run as a user who can read and write the Prometheus data directory",
	"the output directory %s: is a file, not a directory; give the Prometheus data directory (the one holding wal/ and the block directories)":                                                                                                                         "--out %s: is a file, not a directory; point --out at the Prometheus data directory (the one holding wal/ and the block directories)",
	"the output directory %s: cannot list it: %w; run as a user who can read and write the Prometheus data directory":                                                                                                                                                  "--out %s: cannot list it: %w; run as a user who can read and write the Prometheus data directory",
	"the output directory %s: does not look like a Prometheus data directory (it holds %q); give an empty directory or the Prometheus data directory (the one holding wal/ and the block directories)":                                                                 "--out %s: does not look like a Prometheus data directory (it holds %q); point --out at an empty directory or at the Prometheus data directory (the one holding wal/ and the block directories)",
	"the output directory %s: cannot write there: %w; run as a user who can write to the Prometheus data directory (the official image runs as uid 65534), or mount it read-write":                                                                                     "--out %s: cannot write there: %w; run as a user who can write to the Prometheus data directory (the official image runs as uid 65534), or mount it read-write",
	"the output directory %s: cannot write there: %w": "--out %s: cannot write there: %w",
	"the output directory %s: staging area %s: %w":    "--out %s: staging area %s: %w",
	"the output directory %s: another promrecover is writing into it (staging area %s is locked); wait for it to finish or stop it, then run again": "--out %s: another promrecover is writing into it (staging area %s is locked); wait for it to finish or stop it, then run again",
	"the output directory %s: removing the staging area %s that an interrupted run left: %w":                                                        "--out %s: removing the staging area %s that an interrupted run left: %w",
	"the output directory %s: %w": "--out %s: %w",
	"the output directory %s: the blocks of %d windows need about %s free, and its disk has %s; free space there, or recover a shorter range at a time":          "--out %s: the blocks of %d windows need about %s free, and its disk has %s; free space there, or recover a shorter range (--from/--to) at a time",
	"the output directory %s: the blocks of %s (%s) need about %s free, and its disk has %s; free space there, or import the file in parts":                      "--out %s: the blocks of %s (%s) need about %s free, and its disk has %s; free space there, or import the file in parts",
	"the blocks being written at once need about %s free at %s (the temporary directory), which has %s free; free space there, or point TMPDIR at a larger disk": "the blocks being written at once need about %s free at %s (the temporary directory), which has %s free; free space there, or point TMPDIR at a larger disk (or lower --concurrency)",
	"the resume state %s is not one this version of promrecover wrote (%v); move it away, or restart to start over":                                              "the resume state %s is not one this version of promrecover wrote (%v); move it away, or pass --restart to start over",
	"the resume state %s is for another recovery (%s); run that recovery again to resume it, or restart to start this one over (blocks already written stay)":    "the resume state %s is for another recovery (%s); run recover again with those flags to resume it, or pass --restart to start this one over (blocks already written stay)",
	"the output directory %s: another promrecover (%s) is writing into it, and holds the lock %s; wait for it to finish or stop it, then run again":              "--out %s: another promrecover (%s) is writing into it, and holds the lock %s; wait for it to finish or stop it, then run again",
	"the output directory %s: lock %s: %w": "--out %s: lock %s: %w",
	"the range ends at %s, %s after the time of the run (%s): a block reaching past now would make Prometheus drop every scrape as out of bounds until then; end the range at the time of the run or earlier": "--to %s is %s after now (%s): a block reaching past now would make Prometheus drop every scrape as out of bounds until then; pass --to now or an earlier time",
	"%s: empty label name":                                                                 "%s: empty label name",
	"%s %q: not a valid label name":                                                        "%s %q: not a valid label name",
	"%s %s: the metric name cannot be dropped or changed":                                  "%s %s: the metric name cannot be dropped or changed",
	"the label to set %q: write NAME=VALUE, e.g. env=prod":                                 "--set-label %q: write NAME=VALUE, e.g. --set-label env=prod",
	"the label to set %q: an empty value removes the label in Prometheus; drop %s instead": "--set-label %q: an empty value removes the label in Prometheus; use --drop-label %s",
	"label %s is both dropped and set; give one":                                           "label %s is both dropped (--drop-label) and set (--set-label); give one",
	"the label to set %s is given twice with different values (%q and %q)":                 "--set-label %s is given twice with different values (%q and %q)",
	"relabelling (%s) merges two series: %s and %s both become %s; drop fewer labels (or set fewer) so that every series stays distinct, or narrow the selector to one of them":                                        "relabelling (%s) merges two series: %s and %s both become %s; drop fewer labels (or set fewer) so that every series stays distinct, or narrow --match to one of them",
	"the source (or a proxy before it) cuts its answers short, or its data changed while it was read: run again, or check its logs; turning the check with the source's counts off installs what it answers unchecked": "the source (or a proxy before it) cuts its answers short, or its data changed while it was read: run again, or check its logs; --no-crosscheck installs what it answers unchecked",
	// The caller's "--from: " or "--to: " names the flag.
	"%q read as %s is %s; give a unix time in seconds or milliseconds, RFC 3339, or now-6h":                                                                                         "%q read as %s is %s; give a unix time in seconds or milliseconds, RFC 3339, or now-6h",
	"%w: nothing answers there; check the host and port of the source URL %s":                                                                                                       "%w: nothing answers there; check the host and port of --source-url %s (or PROMRECOVER_SOURCE_URL)",
	"the source URL %q is not an http(s) URL; give the address of the Prometheus API, e.g. https://prometheus-prod-10-prod-us-west-0.grafana.net/api/prom or http://localhost:9090": "--source-url %q is not an http(s) URL; give the address of the Prometheus API, e.g. https://prometheus-prod-10-prod-us-west-0.grafana.net/api/prom or http://localhost:9090",
	"the source URL holds credentials; give them as the source's user and password instead, so they stay out of logs":                                                               "--source-url holds credentials; pass them with --source-user/--source-password (or PROMRECOVER_SOURCE_USER/PROMRECOVER_SOURCE_PASSWORD) instead, so they stay out of logs",
	"give the source one kind of credentials: a token, or a user and password":                                                                                                      "give the source one kind of credentials: --source-token, or --source-user/--source-password",
	"no source URL given: give the address of the Prometheus API, e.g. https://prometheus-prod-10-prod-us-west-0.grafana.net/api/prom":                                              "--source-url is required with --via prometheus (or PROMRECOVER_SOURCE_URL): the address of the Prometheus API, e.g. https://prometheus-prod-10-prod-us-west-0.grafana.net/api/prom",
	"%w: the token lacks the metrics:read scope for this stack (a metrics:write token, for one, gets this answer): create an access policy token with metrics:read for the stack in Grafana Cloud under Administration > Users and access > Cloud access policies, and give it as the source's password with the stack's instance ID as its user":                                     "%w: the token lacks the metrics:read scope for this stack (a metrics:write token, for one, gets this answer): create an access policy token with metrics:read for the stack in Grafana Cloud under Administration > Users and access > Cloud access policies, and pass it with --source-password (or --password), with the stack's instance ID as --source-user (or --user)",
	"%w: the source does not accept this token: for Grafana Cloud give the stack's numeric instance ID as the source's user and an access policy token (glc_...) as its password; a service account token (glsa_...) is for Grafana's own API, not this endpoint; check that the token is whole, not revoked or expired":                                                              "%w: the source does not accept this token: for Grafana Cloud pass the stack's numeric instance ID with --source-user (or --user) and an access policy token (glc_...) with --source-password (or --password); a service account token (glsa_...) is for Grafana's own API (--grafana-url), not this endpoint; check that the token is whole, not revoked or expired",
	"%w: the source wants credentials: give the source's user and password (for Grafana Cloud the stack's instance ID and an access policy token) or its token":                                                                                                                                                                                                                       "%w: the source wants credentials: pass --source-user and --source-password (for Grafana Cloud the stack's instance ID and an access policy token) or --source-token (or --user/--password, --token)",
	"the source URL %s is Grafana, not a Prometheus API: read through Grafana with the Grafana URL instead, or give as the source URL the Prometheus endpoint itself (for Grafana Cloud the stack's Prometheus URL, ending in /api/prom, from its details page)":                                                                                                                      "--source-url %s is Grafana, not a Prometheus API: read through Grafana with --grafana-url and --via ds or proxy instead, or give --source-url the Prometheus endpoint itself (for Grafana Cloud the stack's Prometheus URL, ending in /api/prom, from its details page)",
	"%w: the source URL %s serves no Prometheus API (no /api/v1/%s under it); give the address /api/v1/query is under: for Grafana Cloud the stack's Prometheus URL ending in /api/prom, for Mimir its /prometheus prefix, for Prometheus its address":                                                                                                                                "%w: --source-url %s serves no Prometheus API (no /api/v1/%s under it); give the address /api/v1/query is under: for Grafana Cloud the stack's Prometheus URL ending in /api/prom, for Mimir its /prometheus prefix, for Prometheus its address",
	"the Grafana URL %s is a Prometheus server (version %s), not Grafana: it has no /api/health and answers Prometheus's /api/v1/status/buildinfo. promrecover reads Prometheus's data through Grafana's HTTP API; give the address you open Grafana at, of a Grafana that has this Prometheus as a datasource; or read this Prometheus directly, without Grafana, as the source URL": "--grafana-url %s is a Prometheus server (version %s), not Grafana: it has no /api/health and answers Prometheus's /api/v1/status/buildinfo. promrecover reads Prometheus's data through Grafana's HTTP API; give --grafana-url the address you open Grafana at, of a Grafana that has this Prometheus as a datasource; or read this Prometheus directly, without Grafana: --via prometheus --source-url with this address",
	"%s: %s%s, which every Grafana answers without credentials, is not there, so the Grafana URL %s is not Grafana's address: another application, or a Grafana served under a sub-path (such as /grafana) that the URL lacks; give the address you open Grafana at, with its sub-path":                                                                                               "%s: %s%s, which every Grafana answers without credentials, is not there, so --grafana-url %s is not Grafana's address: another application, or a Grafana served under a sub-path (such as /grafana) that the URL lacks; give --grafana-url the address you open Grafana at, with its sub-path",
	"%s %s was redirected (HTTP %d) to %s: Grafana answers at another address; give %s as the Grafana URL": "%s %s was redirected (HTTP %d) to %s: Grafana answers at another address; give %s as --grafana-url",
	"%s %s was redirected (HTTP %d) to %s, not answered: a login proxy in front of Grafana (SSO, oauth2-proxy, an access gateway) sends it to its login page, or the Grafana URL %s is not the address Grafana serves its API at; give the address at which Grafana's API answers (where %s answers JSON), or one that bypasses the login proxy": "%s %s was redirected (HTTP %d) to %s, not answered: a login proxy in front of Grafana (SSO, oauth2-proxy, an access gateway) sends it to its login page, or --grafana-url %s is not the address Grafana serves its API at; give --grafana-url the address at which Grafana's API answers (where %s answers JSON), or one that bypasses the login proxy",
	// remoteread's texts, in the flags the --via remote-read wiring adds.
	"the source URL %q is not an http(s) URL; give the address the Prometheus API is under, e.g. https://prometheus-prod-10-prod-us-west-0.grafana.net/api/prom":                                                                                                           "--source-url %q is not an http(s) URL; give the address the Prometheus API is under, e.g. https://prometheus-prod-10-prod-us-west-0.grafana.net/api/prom",
	"remote read returns the stored samples, not a query's evaluations at a step; leave the step out":                                                                                                                                                                      "--via remote-read returns the stored samples, not a query's evaluations at a step; leave --step out",
	"%w: remote read is not exposed at the source URL (or the URL lacks the path the API is under, such as /api/prom or /prometheus); read through the source's Prometheus HTTP API instead":                                                                               "%w: remote read is not exposed at --source-url (or the URL lacks the path the API is under, such as /api/prom or /prometheus); use --via prometheus instead",
	"%w: the token lacks the metrics:read scope for this stack; create an access policy token with metrics:read (Grafana Cloud: Administration > Users and access > Cloud access policies) and give it as the source's password, with the stack's instance ID as the user": "%w: the token lacks the metrics:read scope for this stack; create an access policy token with metrics:read (Grafana Cloud: Administration > Users and access > Cloud access policies) and pass it with --source-password, with the stack's instance ID as --source-user",
	"%w: the source refused the credentials; give the source's user and password (Grafana Cloud: the stack's numeric instance ID and a token with metrics:read) or its token":                                                                                              "%w: the source refused the credentials; pass --source-user and --source-password (Grafana Cloud: the stack's numeric instance ID and a token with metrics:read) or --source-token",
	"POST %s answered with a web page, not remote read's protobuf: the source URL is not the address the Prometheus API is under (a missing path such as /api/prom or /prometheus), or a login proxy answered":                                                             "POST %s answered with a web page, not remote read's protobuf: --source-url is not the address the Prometheus API is under (a missing path such as /api/prom or /prometheus), or a login proxy answered",
	"; nothing told this part's series apart under the server's series limit: raise the tenant's series limit (Mimir: max_fetched_series_per_query), or narrow the selector":                                                                                               "; nothing told this part's series apart under the server's series limit: raise the tenant's series limit (Mimir: max_fetched_series_per_query), or narrow --match",
}

// argWording names the flags behind the words a Format takes as an argument.
var argWording = map[string]string{
	"the label to drop": "--drop-label",
	"the label to set":  "--set-label",
	// A run not told its datasource (grafana's onlyDatasource).
	"no datasource given": "--datasource not given",
	"no datasource given, and these credentials see several Prometheus datasources": "--datasource not given, and these credentials see several Prometheus datasources",
}

// userArg is a Format's argument as the user reads it: words that stand for
// a flag name the flag, and relabelling rules are the flags that gave them.
func userArg(a any) any {
	switch v := a.(type) {
	case string:
		if f := argWording[v]; f != "" {
			return f
		}
	case relabel.Rules:
		return rulesAsFlags(v)
	case state.Plan:
		return planAsFlags(v)
	}
	return a
}

// planAsFlags is a resume state's plan as the flags of recover that resume
// it, quoted for a shell, so that a refusal can be answered by pasting them.
func planAsFlags(p state.Plan) string {
	args := []string{"--grafana-url", p.GrafanaURL, "--datasource", p.Datasource, "--from", p.From, "--to", p.To}
	if p.Step != "raw" {
		args = append(args, "--step", p.Step)
	}
	if !slices.Equal(p.Selectors, []string{extract.AllSeries}) {
		for _, s := range p.Selectors {
			args = append(args, "--match", s)
		}
	}
	// The plan keeps the rules as the flags that gave them, unquoted.
	for _, r := range strings.Split(" "+p.Relabel, " --")[1:] {
		flag, value, _ := strings.Cut(r, " ")
		args = append(args, "--"+flag, value)
	}
	if p.OnlyGaps {
		args = append(args, "--only-gaps")
	}
	return shellquote.Join(args...)
}

// rulesAsFlags is rules as the flags that give them.
func rulesAsFlags(r relabel.Rules) string { return r.Describe("--drop-label ", "--set-label ", " ") }

// messageWording holds, for each message a library logs that names a
// parameter, the same message in flag terms.
// TestEveryLibraryMessageHasAWording keeps the table complete.
var messageWording = map[string]string{
	"a block recorded by an earlier run is not in the output directory; its window is fetched again":                                                                                                      "a block recorded by an earlier run is not in --out; its window is fetched again",
	"the range reaches into the last 3h, which a running Prometheus still holds in its head block; recovered samples there overlap it. End the range 3h ago unless Prometheus was down for that time too": "the range reaches into the last 3h, which a running Prometheus still holds in its head block; recovered samples there overlap it. Stop at --to now-3h unless Prometheus was down for that time too",
	"no datasource given; using the only Prometheus datasource these credentials see":                                                                                                                     "--datasource not given; using the only Prometheus datasource these credentials see",
	"fetched samples differ from what the output directory holds at the same timestamps: the values there are kept, the fetched ones not written":                                                         "fetched samples differ from what --out holds at the same timestamps: the values there are kept, the fetched ones not written",
	"a block in the output directory could not be read: samples it holds may be written again":                                                                                                            "a block in --out could not be read: samples it holds may be written again",
	"the Grafana URL is the address of a page of Grafana's web UI; reading from the address Grafana serves it from":                                                                                       "--grafana-url is the address of a page of Grafana's web UI; reading from the address Grafana serves it from",
}

// wording rewords the libraries' ParamErrors with flagWording.
var wording = extract.Wording{Formats: flagWording, Arg: userArg, Messages: messageWording}

// userText is err's text as the user reads it, userReason that of a text
// that kept no error (a gap's reason), forUser err as the user reads it
// (errors.Is and As still see the library's error beneath) and userAttr
// the hook that rewords what the libraries log.
var (
	userText   = wording.Text
	userReason = wording.Reason
	forUser    = wording.Error
	userAttr   = wording.Attr
)
