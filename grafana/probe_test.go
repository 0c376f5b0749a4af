package grafana

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// TestGrafanaURLOfAPage gives as the Grafana URL the address of a page
// users copy from the browser: the client reads from Grafana's own address
// (keeping the sub-path Grafana is served under), in the page's
// organization, and says so once.
func TestGrafanaURLOfAPage(t *testing.T) {
	srv := sim.New(sim.Config{Series: simData, Tokens: []string{token}, Org: 2})
	orgs := faults.On(faults.PathContains("/api/ds/query")).Keep()
	root := simtest.Serve(t, srv, orgs)
	mux := http.NewServeMux()
	mux.Handle("/grafana/", http.StripPrefix("/grafana", srv))
	sub := simtest.Serve(t, mux, orgs)
	for _, page := range []string{
		root + "/d/abc123/node?orgId=2&from=now-6h&viewPanel=3",
		root + "/d-solo/abc123/node?orgId=2&panelId=3",
		root + "/explore?orgId=2&left=%7B%22datasource%22%3A%22prom%22%7D",
		root + "/a/grafana-metricsdrilldown-app/drilldown?orgId=2",
		root + "/goto/AbCdEfG?orgId=2",
		root + "/render/d-solo/abc123/node?orgId=2&panelId=3&width=1000",
		root + "/dashboards?orgId=2",
		root + "/?orgId=2",
		sub + "/grafana/d/abc123/node?orgId=2&from=now-6h",
		sub + "/grafana/explore?orgId=2",
	} {
		t.Run(strings.TrimPrefix(strings.TrimPrefix(page, root), sub), func(t *testing.T) {
			var logs bytes.Buffer
			c, err := NewClient(Options{URL: page, Auth: Auth{Token: token}, Log: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			n := orgs.Count()
			series, err := (&Source{Client: c, Datasource: promDS}).Fetch(context.Background(), unit())
			if err != nil {
				t.Fatalf("Fetch: %v\n%s", err, logs.String())
			}
			checkUnit(t, series)
			if got := orgs.Headers()[n].Get("X-Grafana-Org-Id"); got != "2" {
				t.Errorf("the query went to organization %q, want the page's 2", got)
			}
			if notes := strings.Count(logs.String(), "level=INFO msg=\"the Grafana URL is the address of a page"); notes != 1 || !strings.Contains(logs.String(), "org=2") {
				t.Errorf("want one note of the page's address dropped and its organization used, got:\n%s", logs.String())
			}
		})
	}
}

// TestGrafanaURLRedirected: an address answered with a redirect is refused,
// naming where it leads, and nothing is sent there.
func TestGrafanaURLRedirected(t *testing.T) {
	elsewhere := faults.On()
	target := simtest.Serve(t, sim.New(sim.Config{Series: simData, Tokens: []string{token}}), elsewhere)
	for _, c := range []struct {
		name string
		rule *faults.Rule
		want []string
	}{
		{"to https", faults.On().Do(faults.Redirect(http.StatusMovedPermanently, strings.Replace(target, "http://", "https://", 1), true)),
			[]string{"GET /api/health was redirected (HTTP 301) to " + strings.Replace(target, "http://", "https://", 1) + "/api/health", "give " + strings.Replace(target, "http://", "https://", 1) + " as the Grafana URL"}},
		{"to the same path elsewhere", faults.On().Do(faults.Redirect(http.StatusFound, target, true)),
			[]string{"redirected (HTTP 302) to " + target + "/api/health", "give " + target + " as the Grafana URL"}},
		{"to a login page", faults.On().Do(faults.Redirect(http.StatusFound, target+"/oauth2/start?rd=%2Fapi%2Fhealth", false)),
			[]string{"redirected (HTTP 302) to " + target + "/oauth2/start", "login", "give the address at which Grafana's API answers"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			front := simtest.Serve(t, http.NotFoundHandler(), c.rule)
			cl := newTestClient(t, front, Auth{Token: token})
			_, err := cl.Datasources(context.Background())
			var abort *extract.AbortError
			var pe *extract.ParamError
			if !errors.As(err, &abort) || !errors.As(err, &pe) {
				t.Fatalf("err = %v, want an abort naming a parameter", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("lacks %q: %v", w, err)
				}
			}
			if strings.Contains(err.Error(), "rd=") {
				t.Errorf("the redirect's query is quoted: %v", err)
			}
			if n := elsewhere.Count(); n > 0 {
				t.Fatalf("%d requests followed the redirect", n)
			}
			if n := c.rule.Count(); n != 1 {
				t.Errorf("%d requests, want the one the redirect refused", n)
			}
		})
	}
}

// TestGrafanaURLNotGrafana: an address whose /api/health, which every
// Grafana answers without credentials, is not found is refused before
// anything else is asked, naming /api/health.
func TestGrafanaURLNotGrafana(t *testing.T) {
	all := faults.On()
	url := simtest.Serve(t, http.NotFoundHandler(), all)
	c := newTestClient(t, url, Auth{Token: token})
	_, err := c.ResolveDatasource(context.Background(), "grafanacloud-prom")
	var abort *extract.AbortError
	var pe *extract.ParamError
	if !errors.As(err, &abort) || !errors.As(err, &pe) {
		t.Fatalf("err = %v, want an abort naming a parameter", err)
	}
	for _, w := range []string{"GET /api/health: HTTP 404", "not Grafana", url + "/api/health", "sub-path"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("lacks %q: %v", w, err)
		}
	}
	if strings.Contains(err.Error(), "datasource") {
		t.Errorf("blames the datasource: %v", err)
	}
	if n := all.Count(); n > 2 {
		t.Errorf("%d requests, want the probe and the Prometheus check at most", n)
	}
}

// TestProbeOncePerRun: the probe is one request per client, however many
// calls and workers follow, and a Grafana that answers it costs nothing
// more.
func TestProbeOncePerRun(t *testing.T) {
	health := faults.On(faults.Path("/api/health"))
	url := simtest.Serve(t, sim.New(sim.Config{Series: simData, Tokens: []string{token}}), health)
	c := newTestClient(t, url, Auth{Token: token})
	src := &Source{Client: c, Datasource: promDS}
	done := make(chan error)
	for range 4 {
		go func() {
			_, err := src.Fetch(context.Background(), unit())
			done <- err
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Datasources(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := health.Count(); n != 1 {
		t.Fatalf("/api/health asked %d times, want once", n)
	}
}

// TestAPIBase: the address of a page is cut to the address Grafana serves
// it from, keeping a sub-path, with the page's orgId.
func TestAPIBase(t *testing.T) {
	for _, c := range []struct {
		in, base string
		org      int64
		page     bool
	}{
		{"https://example.grafana.net", "https://example.grafana.net", 0, false},
		{"https://example.grafana.net/", "https://example.grafana.net", 0, false},
		{"http://host:3000/grafana/", "http://host:3000/grafana", 0, false},
		{"http://host/d/abc123/node?orgId=2&from=now-6h&viewPanel=3", "http://host", 2, true},
		{"http://host/d-solo/abc123/node?orgId=1&panelId=3", "http://host", 1, true},
		{"http://host/dashboard/db/old-slug", "http://host", 0, true},
		{"http://host/dashboards", "http://host", 0, true},
		{"http://host/explore?orgId=3&left=%7B%7D", "http://host", 3, true},
		{"http://host/a/grafana-metricsdrilldown-app/drilldown", "http://host", 0, true},
		{"http://host/goto/AbCdEfG?orgId=1", "http://host", 1, true},
		{"http://host/render/d-solo/abc/x?orgId=4&width=1000", "http://host", 4, true},
		{"http://host/grafana/d/abc/x", "http://host/grafana", 0, true},
		{"http://host/tools/grafana/explore#top", "http://host/tools/grafana", 0, true},
		{"http://host/?orgId=5", "http://host", 5, true},
		{"http://host/d/abc/x?orgId=main", "http://host", 0, true},
		{"http://host/d/abc/x?orgId=-1", "http://host", 0, true},
	} {
		u, err := url.Parse(c.in)
		if err != nil {
			t.Fatal(err)
		}
		base, org, page := apiBase(u)
		if base.String() != c.base || org != c.org || page != c.page {
			t.Errorf("apiBase(%s) = %s, %d, %v; want %s, %d, %v", c.in, base, org, page, c.base, c.org, c.page)
		}
	}
}
