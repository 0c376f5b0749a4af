package doctor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/grafana"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

var (
	start = time.Date(2025, 8, 3, 0, 0, 0, 0, time.UTC)
	// data is an hour of the demo series and native histograms.
	data = append(gen.DemoSeries(start, start.Add(time.Hour), 1), gen.NativeHistogramSeries(start, start.Add(time.Hour), 1)...)
	// end ends the probe inside the data.
	end = start.Add(30 * time.Minute)
)

const (
	saToken   = "glsa_doctor_0123456789"
	instance  = "123456"
	readToken = "glc_read_0123456789"
	writeOnly = "glc_write_0123456789"
)

var cloud = &sim.Cloud{Instance: instance, Tokens: map[string][]string{readToken: {"metrics:read"}, writeOnly: {"metrics:write"}}}

// want is what a test expects of one row: its state, its status (0 for
// any), and texts its message and its fix hold.
type want struct {
	state   State
	status  int
	message string
	fix     Fix // "" for none
	samples bool
}

func check(t *testing.T, rep Report, wants map[Door]want) {
	t.Helper()
	if len(rep.Rows) != len(grafanaDoors)+2 {
		t.Fatalf("%d rows, want one for each of %d doors: %+v", len(rep.Rows), len(grafanaDoors)+2, rep.Rows)
	}
	for door, w := range wants {
		row := rep.Row(door)
		if row.State != w.state || (w.status != 0 && row.Status != w.status) ||
			!strings.Contains(row.Message, w.message) || row.Fix != w.fix || (row.Samples > 0) != w.samples {
			t.Errorf("%s: %+v\nwant %+v", door, row, w)
		}
		if (row.State == Refused || row.State == Unreachable) && row.Fix == "" {
			t.Errorf("%s: %s with no fix: %+v", door, row.State, row)
		}
	}
}

func gopts(url string, auth grafana.Auth) grafana.Options {
	return grafana.Options{URL: url, Auth: auth, MaxRetries: 1, RetryInitial: 10 * time.Millisecond, RetryMax: 10 * time.Millisecond, Timeout: 10 * time.Second}
}

func probe(t *testing.T, cfg Config) Report {
	t.Helper()
	if cfg.End.IsZero() {
		cfg.End = end
	}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// Every door opens: the best is remote read, which the simulated Grafana
// Cloud endpoint streams as Mimir does.
func TestEveryDoorWorks(t *testing.T) {
	addr, _ := simtest.Start(t, sim.Config{Series: data, Cloud: cloud, Tokens: []string{saToken}})
	rep := probe(t, Config{
		Grafana: gopts(addr, grafana.Auth{Token: saToken}),
		Source:  Source{URL: addr + sim.CloudPrefix, User: instance, Password: readToken},
	})
	check(t, rep, map[Door]want{
		Health:      {state: Works, message: "Grafana 12.0.0-sim answers"},
		Credentials: {state: Works, message: "they see 1 Prometheus datasources"},
		Datasource:  {state: Works, message: "grafanacloud-prom"},
		DSQuery:     {state: Works, message: "samples of", samples: true},
		Proxy:       {state: Works, message: "samples of", samples: true},
		Resources:   {state: Works, message: "label names of up"},
		Prometheus:  {state: Works, message: "samples of", samples: true},
		RemoteRead:  {state: Works, message: "as streamed chunks", samples: true},
	})
	if rep.Best != RemoteRead || rep.Datasource.UID != "grafanacloud-prom" {
		t.Fatalf("best %q, datasource %+v", rep.Best, rep.Datasource)
	}
	// The probe is one minute, inside the data.
	if rep.To-rep.From != time.Minute.Milliseconds() || rep.To != end.UnixMilli() {
		t.Fatalf("probe %d..%d", rep.From, rep.To)
	}
}

// Each refusal a user meets gets its row, with the fix for that message.
func TestRefusals(t *testing.T) {
	proxyDenied := faults.On(faults.PathPrefix("/api/datasources/proxy/")).Keep().Do(faults.Answer(http.StatusForbidden, `{"message":"Access denied to datasource"}`, "Content-Type", "application/json"))
	noRemoteRead := faults.On(faults.PathPrefix(sim.CloudPrefix + "/api/v1/read")).Keep().Do(faults.Answer(http.StatusNotFound, "404 page not found\n"))
	addr, srv := simtest.Start(t, sim.Config{Series: data, Cloud: cloud, Tokens: []string{saToken}, RefuseResources: http.StatusForbidden}, proxyDenied, noRemoteRead)
	session := srv.Login("admin")
	srv.RevokeSessions()
	for _, tc := range []struct {
		name  string
		cfg   Config
		wants map[Door]want
	}{
		{"Invalid API key", Config{Grafana: gopts(addr, grafana.Auth{Token: "glsa_not_known"})}, map[Door]want{
			Health:      {state: Works},
			Credentials: {state: Refused, status: 401, message: "Invalid API key", fix: FixInvalidAPIKey},
			Datasource:  {state: NotTried, message: "Grafana refused the credentials"},
			DSQuery:     {state: NotTried},
		}},
		{"an access policy token sent to Grafana", Config{Grafana: gopts(addr, grafana.Auth{Token: readToken})}, map[Door]want{
			Credentials: {state: Refused, message: "not sent", fix: FixAccessPolicyTokenToGrafana},
		}},
		{"session expired", Config{Grafana: gopts(addr, grafana.Auth{Session: session})}, map[Door]want{
			Credentials: {state: Refused, status: 401, message: "Grafana refused the session cookie", fix: FixSessionExpired},
		}},
		{"datasource not found", Config{Grafana: gopts(addr, grafana.Auth{Token: saToken}), Datasource: "nope"}, map[Door]want{
			Credentials: {state: Works},
			Datasource:  {state: Refused, message: `datasource "nope" not found by uid or name`, fix: FixDatasourceNotFound},
			Proxy:       {state: NotTried, message: "no datasource found"},
		}},
		{"proxy not allowed", Config{Grafana: gopts(addr, grafana.Auth{Token: saToken})}, map[Door]want{
			DSQuery:   {state: Works, samples: true},
			Proxy:     {state: Refused, status: 403, message: "Access denied to datasource", fix: FixProxyRefused},
			Resources: {state: Refused, status: 403, message: "datasources:query", fix: FixResourcesRefused},
		}},
		{"invalid scope requested", Config{Source: Source{URL: addr + sim.CloudPrefix, User: instance, Password: writeOnly}}, map[Door]want{
			Prometheus: {state: Refused, status: 401, message: "invalid scope requested", fix: FixInvalidScope},
			Health:     {state: NotTried, fix: FixGrafanaURLMissing},
		}},
		{"remote read not exposed", Config{Source: Source{URL: addr + sim.CloudPrefix, User: instance, Password: readToken}}, map[Door]want{
			Prometheus: {state: Works, samples: true},
			RemoteRead: {state: Refused, status: 404, message: "remote read is not exposed", fix: FixNoRemoteRead},
		}},
		{"invalid token", Config{Source: Source{URL: addr + sim.CloudPrefix, User: instance, Password: "glc_not_known"}}, map[Door]want{
			Prometheus: {state: Refused, status: 401, message: "invalid token", fix: FixInvalidToken},
		}},
		{"no source credentials", Config{Grafana: gopts(addr, grafana.Auth{Token: saToken}), Source: Source{URL: addr + sim.CloudPrefix}}, map[Door]want{
			DSQuery:    {state: Works, samples: true},
			Prometheus: {state: Refused, status: 401, message: "wants credentials", fix: FixSourceWantsCredentials},
		}},
		{"no samples", Config{Grafana: gopts(addr, grafana.Auth{Token: saToken}), Match: "no_such_metric"}, map[Door]want{
			DSQuery: {state: Works, message: "no samples of no_such_metric", fix: FixNoSamples},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check(t, probe(t, tc.cfg), tc.wants)
		})
	}
}

// Nothing answers at either address: the first row of each side is
// unreachable, and what needs it is not tried.
func TestUnreachable(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	rep := probe(t, Config{
		Grafana: gopts(dead.URL, grafana.Auth{Token: saToken}),
		Source:  Source{URL: dead.URL, User: instance, Password: readToken},
	})
	check(t, rep, map[Door]want{
		Health:      {state: Unreachable, message: "connection refused", fix: FixGrafanaUnreachable},
		Credentials: {state: NotTried, message: "Grafana did not answer"},
		Prometheus:  {state: Unreachable, message: "connection refused", fix: FixSourceUnreachable},
		RemoteRead:  {state: Unreachable, message: "connection refused", fix: FixSourceUnreachable},
	})
	if rep.Best != "" {
		t.Fatalf("best %q", rep.Best)
	}
}

// An address that answers, but is not Grafana, is refused at the first row
// with the fix; so is no address at all, on each side.
func TestNotGrafanaAndNothingGiven(t *testing.T) {
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	check(t, probe(t, Config{Grafana: gopts(other.URL, grafana.Auth{})}), map[Door]want{
		Health:     {state: Refused, message: "is not Grafana's address", fix: FixNotGrafana},
		DSQuery:    {state: NotTried},
		Prometheus: {state: NotTried, message: "no source URL given", fix: FixSourceURLMissing},
	})
	check(t, probe(t, Config{}), map[Door]want{
		Health:     {state: NotTried, message: "no Grafana URL given", fix: FixGrafanaURLMissing},
		Prometheus: {state: NotTried, message: "no source URL given", fix: FixSourceURLMissing},
		RemoteRead: {state: NotTried, message: "no source URL given"},
	})
}

// What cannot be asked as given is an error, not a row.
func TestBadInput(t *testing.T) {
	for name, cfg := range map[string]Config{
		"selector":        {Match: "up{"},
		"Grafana URL":     {Grafana: grafana.Options{URL: "grafana:3000"}},
		"two credentials": {Grafana: grafana.Options{URL: "http://127.0.0.1:1", Auth: grafana.Auth{Token: "t", User: "u", Password: "p"}}},
		"source URL":      {Source: Source{URL: "prometheus:9090"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Run(context.Background(), cfg)
			if !extract.IsUsage(err) {
				t.Fatalf("err %v, want a usage error", err)
			}
		})
	}
}

// The probe's minute stays in one 2h window: a minute that would cross an
// edge ends at it.
func TestProbeUnit(t *testing.T) {
	for _, tc := range []struct {
		end, to time.Time
	}{
		{start.Add(30 * time.Minute), start.Add(30 * time.Minute)},
		{start.Add(2*time.Hour + 30*time.Second), start.Add(2 * time.Hour)},
		{start.Add(2*time.Hour + 90*time.Second + 300*time.Millisecond), start.Add(2*time.Hour + 90*time.Second)},
	} {
		u, err := probeUnit(Config{End: tc.end})
		if err != nil {
			t.Fatal(err)
		}
		if u.To != tc.to.UnixMilli() || u.From != u.To-time.Minute.Milliseconds() || u.Selector != "up" || u.From < u.Window.Start || u.To > u.Window.End {
			t.Errorf("end %s: unit %+v", tc.end, u)
		}
	}
}
