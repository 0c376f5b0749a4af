package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/grafana"
	"github.com/promrecover/promrecover/internal/flaggroup"
	"github.com/promrecover/promrecover/promapi"
	"github.com/promrecover/promrecover/recovery"
	"github.com/promrecover/promrecover/remoteread"
)

// connFlags say how to reach Grafana. Secrets may come from the environment
// so that they stay out of shell history; they are never given flag defaults,
// which --help would print.
type connFlags struct {
	url, datasource        string
	token, session, cookie string
	user, password         string
	orgID                  int64
	timeout                time.Duration
	retries                uint
	fromEnv                []string // the variables that gave a value
}

func (c *connFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.url, "grafana-url", "", "Grafana address, e.g. https://example.grafana.net (or GRAFANA_URL)")
	fs.StringVar(&c.token, "token", "", "service account token, sent as Bearer (or GRAFANA_TOKEN)")
	fs.StringVar(&c.session, "session", "", "value of the grafana_session cookie of a logged-in browser (or GRAFANA_SESSION)")
	fs.StringVar(&c.cookie, "cookie-name", grafana.DefaultCookieName, "name of the session cookie when Grafana's login_cookie_name is changed")
	fs.StringVar(&c.user, "user", "", "login for basic auth (or GRAFANA_USER)")
	fs.StringVar(&c.password, "password", "", "password for basic auth (or GRAFANA_PASSWORD)")
	fs.Int64Var(&c.orgID, "org-id", 0, "Grafana organization id (X-Grafana-Org-Id); default: the user's current org")
	fs.DurationVar(&c.timeout, "timeout", 150*time.Second, "timeout of one HTTP request")
	fs.UintVar(&c.retries, "retries", 8, "retries of a request that failed with 429, 5xx or a network error")
}

// client builds the Grafana client the flags describe.
func (c *connFlags) client(log *slog.Logger) (*grafana.Client, error) {
	o := c.options()
	o.Log = log
	if o.URL == "" {
		return nil, usagef("--grafana-url is required (or GRAFANA_URL): the address you open Grafana at")
	}
	if o.Auth.Session != "" {
		// Set here, not in the client, because the resume state keys
		// the rotated cookie by the session given.
		v, err := grafana.SessionValue(o.Auth.Session, o.Auth.CookieName)
		if err != nil {
			return nil, err
		}
		c.session, o.Auth.Session = v, v
	}
	client, err := grafana.NewClient(o)
	if errors.Is(err, grafana.ErrManyCredentials) && len(c.fromEnv) > 0 {
		// A variable exported for another run is the usual surprise.
		return nil, fmt.Errorf("%w; from the environment: %s (unset what this command should not use)", err, strings.Join(c.fromEnv, ", "))
	}
	return client, err
}

// prepareQuery checks the flags of a command that queries, the cheap checks
// first, so that bad input fails before anything is sent.
func prepareQuery(c *connFlags, s *selectFlags, log *slog.Logger, now time.Time) (*extract.Plan, *recovery.Door, error) {
	plan, err := s.plan(log, now)
	if err != nil || s.direct() {
		return plan, s.src.door(c, s.via, log), err
	}
	client, err := c.client(log)
	if err != nil {
		return nil, nil, err
	}
	return plan, recovery.GrafanaDoor(client, c.datasource, s.transport), nil
}

// sourceFlags say where a source other than Grafana is, and its
// credentials (--user/--password/--token where it has none of its own).
type sourceFlags struct{ url, user, password, token, tenant string }

// register adds the source's flags; with apart, as for a command that
// also talks to Grafana, --user, --password and --token stay Grafana's.
func (f *sourceFlags) register(fs *pflag.FlagSet, apart bool) {
	url, dflt := "with --via prometheus or remote-read: the address the Prometheus API is under", func(flag string) string { return "; default: --" + flag }
	if apart {
		url, dflt = "the Prometheus API read directly", func(string) string { return "" }
	}
	fs.StringVar(&f.url, "source-url", "", url+", e.g. https://prometheus-prod-10-prod-us-west-0.grafana.net/api/prom (or PROMRECOVER_SOURCE_URL)")
	fs.StringVar(&f.user, "source-user", "", "the source's basic-auth user; Grafana Cloud: the stack's instance ID (or PROMRECOVER_SOURCE_USER"+dflt("user")+")")
	fs.StringVar(&f.password, "source-password", "", "the source's password; Grafana Cloud: a glc_ token with metrics:read (or PROMRECOVER_SOURCE_PASSWORD"+dflt("password")+")")
	fs.StringVar(&f.token, "source-token", "", "the source's Bearer token (or PROMRECOVER_SOURCE_TOKEN"+dflt("token")+")")
	fs.StringVar(&f.tenant, "tenant", "", "the tenant, sent as X-Scope-OrgID (Mimir, Cortex)")
}

// fromEnv fills what the flags left empty from the environment.
func (f *sourceFlags) fromEnv() {
	for flag, v := range map[string]*string{"source-url": &f.url, "source-user": &f.user, "source-password": &f.password, "source-token": &f.token} {
		if *v == "" {
			*v = os.Getenv(flagEnv[flag])
		}
	}
}

func (f *sourceFlags) door(c *connFlags, via string, log *slog.Logger) *recovery.Door {
	c.options() // the Grafana credentials' variables, for the fallback
	f.fromEnv()
	auth := promapi.Auth{User: f.user, Password: f.password, Token: f.token}.Or(promapi.Auth{User: c.user, Password: c.password, Token: c.token})
	agent := "promrecover/" + versionString()
	client := promapi.New(f.url, promapi.Options{Auth: auth, Tenant: f.tenant, Timeout: c.timeout, MaxRetries: c.retries, UserAgent: agent, Log: log, Redact: &secrets})
	if via != viaRemoteRead {
		return recovery.PrometheusDoor(client)
	}
	retries := int(c.retries)
	if retries == 0 {
		retries = -1 // remoteread's 0 is its default
	}
	return recovery.RemoteReadDoor(client, remoteread.Options{Tenant: f.tenant, User: auth.User, Password: auth.Password, Token: auth.Token,
		UserAgent: agent, Timeout: c.timeout, Retries: retries, Log: log, Redact: &secrets})
}

func (c *connFlags) options() grafana.Options {
	env := func(v *string, name string) {
		if *v == "" {
			*v = os.Getenv(name)
			if *v != "" {
				c.fromEnv = append(c.fromEnv, name)
			}
		}
	}
	env(&c.url, flagEnv["grafana-url"])
	env(&c.token, flagEnv["token"])
	env(&c.session, flagEnv["session"])
	env(&c.user, flagEnv["user"])
	env(&c.password, flagEnv["password"])
	return grafana.Options{
		URL:        c.url,
		Auth:       grafana.Auth{Token: c.token, Session: c.session, CookieName: c.cookie, User: c.user, Password: c.password},
		OrgID:      c.orgID,
		Timeout:    c.timeout,
		MaxRetries: c.retries,
		UserAgent:  "promrecover/" + versionString(), Redact: &secrets,
	}
}

var flagGroups = flaggroup.Groups{ /* the --help headings of recover, plan and export */ "Source: grafana-url datasource token session cookie-name user password org-id timeout retries via source-url source-user source-password source-token tenant", "Selection: from to match step only-gaps data prometheus-url min-gap",
	"Destination: out objstore.config-file objstore.config objstore.prefix external-label tmp-dir format state retention wait drop-label set-label", "Behaviour: concurrency max-series-per-query no-crosscheck shard restart dry-run scrape-interval", "Output: summary-json verbose quiet log-format"}

// selectFlags say what to fetch, and through which API; recover, export
// and plan share them.
type selectFlags struct {
	from, to    string
	match       []string
	step        time.Duration
	concurrency int
	maxSeries   int
	// noCrosscheck skips comparing each unit with the source's counts.
	noCrosscheck bool
	via          string
	transport    grafana.Transport // via, once plan has checked it
	src          sourceFlags
}

func (s *selectFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&s.from, "from", "", "start of the lost range: "+timeForms+", or now-6h")
	fs.StringVar(&s.to, "to", "now", "end of the lost range (exclusive): "+timeForms+", now or now-1h; blocks are never written past now (a minute of skew allowed); an export file may reach past it")
	fs.StringArrayVar(&s.match, "match", nil, "series selector, e.g. '{job=\"node\"}' (repeatable; default: every series)")
	fs.DurationVar(&s.step, "step", 0, "resample at this exact step (e.g. 15s) instead of fetching the raw samples")
	fs.IntVar(&s.concurrency, "concurrency", 4, "queries in flight at once")
	fs.IntVar(&s.maxSeries, "max-series-per-query", 10000, "shard a selector that matches more series than this (counted through the datasource's series API, or count queries where Grafana refuses it) by metric name and label values before fetching; 0 to never shard")
	fs.BoolVar(&s.noCrosscheck, "no-crosscheck", false, "do not compare what each query brought with the source's own count of its samples (count_over_time, about one or two requests a day of range); without it a query whose counts differ is fetched again once, and a window that still differs is not installed. Raw samples only: with --step nothing is compared")
	fs.StringVar(&s.via, "via", "ds", "how to read: ds (Grafana's /api/ds/query, up to 8 queries a request), proxy (Grafana's datasource proxy, /api/datasources/proxy/uid/UID/api/v1/..., one query a request), prometheus (the Prometheus API at --source-url, without Grafana) or remote-read (Prometheus's remote read, POST --source-url/api/v1/read: the stored chunks, the fewest bytes, raw samples only; discovery through the API at the same address): choose proxy, prometheus or remote-read to recover native histograms, which /api/ds/query cannot carry; proxy needs Grafana to allow the datasource proxy (access \"Server\") for your credentials")
	s.src.register(fs, false)
}

func (s *selectFlags) plan(log *slog.Logger, now time.Time) (*extract.Plan, error) {
	if s.from == "" {
		return nil, usagef("--from is required: the start of the lost range, e.g. --from 2025-08-03T02:00:00Z or --from now-6h")
	}
	from, err := parseTimeFlag(log, "--from", s.from, now)
	if err != nil {
		return nil, err
	}
	to, err := parseTimeFlag(log, "--to", s.to, now)
	if err != nil {
		return nil, err
	}
	if s.concurrency < 1 {
		return nil, usagef("--concurrency must be at least 1")
	}
	if s.transport, err = grafana.ParseTransport(s.via); err != nil && !s.direct() {
		return nil, usagef("--via %w", err)
	}
	if s.via == viaRemoteRead && s.step != 0 {
		return nil, usagef("--via remote-read returns the stored samples, not a query's evaluations at a step; leave --step out, or use --via prometheus for --step")
	}
	return extract.NewPlan(from, to, s.step, s.match)
}

// The values of --via that read the source without Grafana.
const (
	viaPrometheus = "prometheus"
	viaRemoteRead = "remote-read"
)

// direct says whether the source is read without Grafana, at --source-url.
func (s *selectFlags) direct() bool { return s.via == viaPrometheus || s.via == viaRemoteRead }

// timeForms are the times the time flags take besides now-DURATION, for
// their help.
const timeForms = "RFC 3339, unix seconds or milliseconds (13 digits), a Grafana URL or its from=...&to=... (its from= or to= is read)"

// parseTimeFlag reads the time flag (--from or --to) and says how it read a
// value that it did not take as written: pasted milliseconds or a Grafana
// URL should show the time they made before anything is fetched.
func parseTimeFlag(log *slog.Logger, flag, v string, now time.Time) (time.Time, error) {
	t, read, err := extract.ParseTime(v, strings.TrimPrefix(flag, "--"), now)
	if err != nil {
		return time.Time{}, usagef("%s: %w", flag, err)
	}
	subject, how := flag+" "+read.Value, ""
	if read.Param != "" {
		subject = fmt.Sprintf("%s: Grafana's %s=%s", flag, read.Param, read.Value)
	}
	if read.Millis {
		how = " read as milliseconds"
	}
	if read.Param != "" || read.Millis {
		log.Info(fmt.Sprintf("%s%s: %s", subject, how, t.UTC().Format(time.RFC3339Nano)))
	}
	return t, nil
}

// pinned gives the flags that name the plan's range absolutely when the user
// gave it relative to now: "now" will have moved by the time they resume.
func (s *selectFlags) pinned(p *extract.Plan) string {
	// "now" may also be in a pasted Grafana URL's from= or to=.
	if !strings.Contains(s.from, "now") && !strings.Contains(s.to, "now") {
		return ""
	}
	f := func(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }
	return fmt.Sprintf(" with --from %s --to %s", f(p.From), f(p.To))
}
