package grafana

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// discoveryCases are the ways Grafana may let discovery through: every
// lookup must answer the same, from the path the case names, and a refused
// path is asked once per client, not once per lookup.
var discoveryCases = []struct {
	name            string
	refuseResources int // status of the resources routes; 0 serves them
	refuseProxy     int // status of the proxy's lookup routes; 0 serves them
	via             Transport
	want            Discovery
}{
	{"resources", 0, 0, DSQuery, SeriesAPI},
	{"resources not found: the proxy", http.StatusNotFound, 0, DSQuery, DatasourceProxy},
	{"resources forbidden: the proxy", http.StatusForbidden, 0, DSQuery, DatasourceProxy},
	{"both refused: count queries", http.StatusNotFound, http.StatusForbidden, DSQuery, CountQueries},
	{"--via proxy prefers the proxy", 0, 0, Proxy, DatasourceProxy},
	{"--via proxy, proxy refused: resources", 0, http.StatusForbidden, Proxy, SeriesAPI},
	{"--via proxy, both refused: count queries through the proxy", http.StatusNotFound, http.StatusNotFound, Proxy, CountQueries},
}

// discoverySource serves spData with the case's refusals; routes counts
// the requests each path got.
func discoverySource(t *testing.T, refuseResources, refuseProxy int, via Transport) (*Source, *sim.Server, func() map[Discovery]int) {
	t.Helper()
	queryPath := func(r *http.Request, _ []byte) bool {
		return strings.HasSuffix(r.URL.Path, "/query") || strings.HasSuffix(r.URL.Path, "/query_range")
	}
	routes := map[Discovery]*faults.Rule{
		SeriesAPI:       faults.On(faults.PathContains("/resources/api/v1/")),
		DatasourceProxy: faults.On(faults.PathPrefix("/api/datasources/proxy/"), func(r *http.Request, b []byte) bool { return !queryPath(r, b) }),
		CountQueries: faults.On(func(r *http.Request, b []byte) bool { // or data queries
			return r.URL.Path == "/api/ds/query" || strings.HasPrefix(r.URL.Path, "/api/datasources/proxy/") && queryPath(r, b)
		}),
	}
	url, srv := simtest.Start(t, sim.Config{Series: spData, Tokens: []string{token}, RefuseResources: refuseResources, RefuseProxyLookups: refuseProxy},
		slices.Collect(maps.Values(routes))...)
	snapshot := func() map[Discovery]int {
		counts := map[Discovery]int{}
		for d, r := range routes {
			if n := r.Count(); n > 0 {
				counts[d] = n
			}
		}
		return counts
	}
	return &Source{Client: newTestClient(t, url, Auth{Token: token}), Datasource: promDS, Via: via}, srv, snapshot
}

func TestLabelLookups(t *testing.T) {
	ctx := context.Background()
	from, to := spWindow.Start, spWindow.End
	for _, tc := range discoveryCases {
		t.Run(tc.name, func(t *testing.T) {
			src, _, requests := discoverySource(t, tc.refuseResources, tc.refuseProxy, tc.via)
			check := func(what string, got []string, via Discovery, err error, want ...string) {
				t.Helper()
				if err != nil || !slices.Equal(got, want) || via != tc.want {
					t.Errorf("%s = %q %s, %v; want %q %s", what, got, via, err, want, tc.want)
				}
			}
			names, via, err := src.LabelValues(ctx, []string{"__name__"}, `{job=~"api|node"}`, from, to)
			check("metric names", names[0], via, err, "mem_bytes", "req_total")
			values, via, err := src.LabelValues(ctx, []string{"instance", "job"}, `req_total`, from, to)
			check("instances", values[0], via, err, "i0", "i1", "i2", "i3", "i4", "i5")
			check("jobs", values[1], via, err, "api")
			lnames, via, err := src.LabelNames(ctx, `temp`, from, to)
			check("label names", lnames, via, err, "__name__", "job", "sensor")
			// Far before the data: nothing.
			none, via, err := src.LabelValues(ctx, []string{"__name__"}, `{job=~".+"}`, from-48*3600000, from-47*3600000)
			check("names before the data", none[0], via, err)

			// The path that answers answered every lookup; each refused
			// one was asked once, by the first lookup.
			const lookups = 5
			routes := requests()
			for route, refused := range map[Discovery]bool{SeriesAPI: tc.refuseResources != 0, DatasourceProxy: tc.refuseProxy != 0} {
				want := 0
				switch {
				case route == tc.want:
					want = lookups
				case refused:
					want = 1
				}
				if routes[route] != want {
					t.Errorf("%d lookups %s, want %d (requests: %v)", routes[route], route, want, routes)
				}
			}
		})
	}
}

func TestLabelLookupErrors(t *testing.T) {
	ctx := context.Background()
	from, to := spWindow.Start, spWindow.End
	src, _, _ := discoverySource(t, 0, 0, DSQuery)
	// A bad selector is Prometheus's answer through a path that works: no
	// other path is tried, and it stays usable.
	if _, _, err := src.LabelNames(ctx, `{job=`, from, to); err == nil {
		t.Fatal("a bad selector answered")
	}
	if _, via, err := src.LabelNames(ctx, `temp`, from, to); err != nil || via != SeriesAPI {
		t.Fatalf("after a bad selector: %s, %v", via, err)
	}
	unknown := &Source{Client: src.Client, Datasource: Datasource{UID: "nope"}}
	if _, _, err := unknown.LabelNames(ctx, `temp`, from, to); err == nil {
		t.Fatal("an unknown datasource answered")
	}
	// A 401 is about the credentials, not the path: it stops at once.
	src.Client = newTestClient(t, src.Client.opts.URL, Auth{Token: "glsa_wrong"})
	var abort *extract.AbortError
	if _, _, err := src.LabelNames(ctx, `temp`, from, to); !errors.As(err, &abort) || src.Client.Stats().Requests != 1 {
		t.Fatalf("wrong token: %v after %d requests; want an abort after one", err, src.Client.Stats().Requests)
	}
}

func TestSeriesLookup(t *testing.T) {
	ctx := context.Background()
	from, to := spWindow.Start, spWindow.End
	src, _, _ := discoverySource(t, 0, 0, DSQuery)
	got, via, err := src.Series(ctx, []string{`req_total`, `{__name__="req_total",instance="i0"}`}, from, to)
	if err != nil || len(got) != 7 || via != SeriesAPI {
		t.Fatalf("series = %v, %s, %v; want the 7 req_total series once each", got, via, err)
	}
	for _, ls := range got {
		if ls.Get("__name__") != "req_total" || ls.Get("job") != "api" {
			t.Fatalf("series %s", ls)
		}
	}
	if _, _, err := src.Series(ctx, []string{`{job=`}, from, to); err == nil {
		t.Fatal("a bad selector answered")
	}
}

// TestCensusCounts: the series API's label sets and count queries count
// the same, over one window and over several days (counted a day at a
// time).
func TestCensusCounts(t *testing.T) {
	ctx := context.Background()
	sels := []string{`{job=~"api|node"}`, `temp`}
	want := map[string]map[string]int{
		"__name__": {"req_total": 7, "mem_bytes": 3, "temp": 2},
		"instance": {"": 3, "i0": 1, "i1": 1, "i2": 1, "i3": 1, "i4": 1, "i5": 1, "n0": 1, "n1": 1, "n2": 1},
	}
	for _, tc := range discoveryCases {
		for _, days := range []int64{0, 3} {
			t.Run(tc.name, func(t *testing.T) {
				src, _, _ := discoverySource(t, tc.refuseResources, tc.refuseProxy, tc.via)
				from, to := spWindow.Start-days*86400000, spWindow.End
				cen, err := src.Census(ctx, sels, from, to)
				if err != nil || cen.Via != tc.want {
					t.Fatalf("census %v %v, want via %s", cen, err, tc.want)
				}
				got, err := cen.Count(ctx, "__name__", "instance")
				if err != nil || len(got) != 2 || !maps.Equal(got[0], want["__name__"]) || !maps.Equal(got[1], want["instance"]) {
					t.Errorf("counts by name and instance = %v, %v; want %v", got, err, want)
				}
				names, err := cen.Narrow("__name__", "temp").LabelNames(ctx)
				if err != nil || !slices.Equal(names, []string{"__name__", "job", "sensor"}) {
					t.Errorf("label names of temp = %q, %v", names, err)
				}
			})
		}
	}
}

// TestCountByUTF8Label: a label name that is not a PromQL identifier is
// quoted in count by, as Prometheus 3 reads it.
func TestCountByUTF8Label(t *testing.T) {
	var data []extract.Series
	for _, svc := range []string{"a", "b", "b"} {
		ls := labels.FromStrings("__name__", "otel_up", "service.name", svc, "i", fmt.Sprint(len(data)))
		data = append(data, extract.Series{Labels: ls, Samples: []extract.Sample{{T: spWindow.Start, V: 1}}})
	}
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{token}, RefuseResources: http.StatusNotFound, RefuseProxyLookups: http.StatusNotFound})
	src := &Source{Client: newTestClient(t, url, Auth{Token: token}), Datasource: promDS}
	got, via, err := src.LabelValues(context.Background(), []string{"service.name"}, `otel_up`, spWindow.Start, spWindow.End)
	if err != nil || via != CountQueries || !slices.Equal(got[0], []string{"a", "b"}) {
		t.Fatalf("values = %q %s, %v", got, via, err)
	}
}

// TestLabelLookupsPastAPage: a gateway that answers the resources path
// with its own page (a login or "not allowed" page, even with 200) is a
// refused path too: the proxy answers instead, and the page is asked for
// once.
func TestLabelLookupsPastAPage(t *testing.T) {
	pages := faults.On(faults.PathContains("/resources/")).Do(faults.Answer(http.StatusOK, "<html><body>Sign in</body></html>", "Content-Type", "text/html; charset=utf-8"))
	url, _ := simtest.Start(t, sim.Config{Series: spData, Tokens: []string{token}}, pages)
	src := &Source{Client: newTestClient(t, url, Auth{Token: token}), Datasource: promDS}
	for range 2 {
		names, via, err := src.LabelNames(context.Background(), `temp`, spWindow.Start, spWindow.End)
		if err != nil || via != DatasourceProxy || !slices.Equal(names, []string{"__name__", "job", "sensor"}) {
			t.Fatalf("label names = %q %s, %v", names, via, err)
		}
	}
	if n := pages.Count(); n != 1 {
		t.Errorf("the page was asked for %d times, want once", n)
	}
}
