package promapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/export"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/seriestest"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

var (
	start = time.Date(2025, 8, 3, 0, 0, 0, 0, time.UTC)
	// data is the demo series and native histograms, four hours.
	data = append(gen.DemoSeries(start, start.Add(4*time.Hour), 1), gen.NativeHistogramSeries(start, start.Add(4*time.Hour), 1)...)
)

const (
	instance  = "123456"
	readToken = "glc_read_0123456789"
	writeOnly = "glc_write_0123456789"
)

var cloud = &sim.Cloud{Instance: instance, Tokens: map[string][]string{readToken: {"metrics:read"}, writeOnly: {"metrics:write"}}}

func testClient(base string, auth Auth) *Client {
	return New(base, Options{Auth: auth, MaxRetries: 3, RetryWait: 10 * time.Millisecond})
}

// recoverAll runs a plan of [from, to) through src into a matrix, as a
// recovery does.
func recoverAll(t *testing.T, src *Source, from, to time.Time, step time.Duration, match ...string) []extract.Series {
	t.Helper()
	p, err := extract.NewPlan(from, to, step, match)
	if err != nil {
		t.Fatal(err)
	}
	sink := export.NewMatrix()
	res, err := extract.Run(context.Background(), p, src, sink, 2, src.Client.opts.Log)
	if err != nil {
		t.Fatal(err)
	}
	if f := res.Failed(); len(f) > 0 {
		t.Fatalf("windows failed: %v", f[0].Err)
	}
	return sink.Series()
}

// TestSourceGrafanaCloud recovers through the simulator's Grafana Cloud
// endpoint, floats and native histograms, raw and in steps, from a server
// whose range selectors leave out their left end (Prometheus 3, Mimir) or
// keep it (Prometheus 2), and compares sample by sample.
func TestSourceGrafanaCloud(t *testing.T) {
	from, to := start.Add(17*time.Minute), start.Add(3*time.Hour+41*time.Minute)
	for _, tc := range []struct {
		name string
		v2   bool
		step time.Duration
	}{{"raw, Prometheus 3", false, 0}, {"raw, Prometheus 2", true, 0}, {"30s steps", false, 30 * time.Second}} {
		t.Run(tc.name, func(t *testing.T) {
			addr, srv := simtest.Start(t, sim.Config{Series: data, Cloud: cloud, PrometheusV2: tc.v2})
			src := &Source{Client: testClient(addr+sim.CloudPrefix, Auth{User: instance, Password: readToken})}
			got := recoverAll(t, src, from, to, tc.step)
			want := seriestest.ClipAll(data, from.UnixMilli(), to.UnixMilli())
			if tc.step > 0 {
				want = seriestest.Stepped(data, from.UnixMilli(), to.UnixMilli(), tc.step)
			}
			if err := seriestest.CompareAll(want, got); err != nil {
				t.Fatal(err)
			}
			if c := srv.Counters(); c.ProxyQueries != 2 || c.DSQueries != 0 {
				t.Errorf("want a query a window through the endpoint, got %+v", c)
			}
			if st := src.Client.Stats(); st.Requests != 2 || st.WireBytes == 0 || st.Bytes < st.WireBytes {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestSourceWindowEdges: a sample exactly on a window's edge is written
// once, by the window it starts, whichever end of a range selector the
// server keeps; one on the plan's end is not written.
func TestSourceWindowEdges(t *testing.T) {
	edge := start.Add(2 * time.Hour).UnixMilli()
	s := extract.Series{Labels: labels.FromStrings("__name__", "edge", "job", "x")}
	for _, ts := range []int64{start.UnixMilli(), edge - 1, edge, edge + 1, start.Add(4 * time.Hour).UnixMilli()} {
		s.Samples = append(s.Samples, extract.Sample{T: ts, V: float64(ts)})
	}
	for _, v2 := range []bool{false, true} {
		addr, _ := simtest.Start(t, sim.Config{Series: []extract.Series{s}, Cloud: cloud, PrometheusV2: v2})
		src := &Source{Client: testClient(addr+sim.CloudPrefix, Auth{User: instance, Password: readToken})}
		got := recoverAll(t, src, start, start.Add(4*time.Hour), 0, "edge")
		want := []extract.Series{{Labels: s.Labels, Samples: s.Samples[:4]}}
		if err := extract.Compare(want, got); err != nil {
			t.Errorf("Prometheus 2 ranges %v: %v", v2, err)
		}
	}
}

// TestSourceSplitsAndShards: a unit over Mimir's series limit is split
// through the label API and comes back whole; a selector over
// max-series-per-query is sharded through the series API beforehand.
func TestSourceSplitsAndShards(t *testing.T) {
	addr, srv := simtest.Start(t, sim.Config{Series: data, Cloud: cloud, MaxSeriesPerQuery: 40})
	src := &Source{Client: testClient(addr+sim.CloudPrefix, Auth{User: instance, Password: readToken})}
	from, to := start, start.Add(2*time.Hour)
	got := recoverAll(t, src, from, to, 0)
	if err := seriestest.CompareAll(seriestest.ClipAll(data, from.UnixMilli(), to.UnixMilli()), got); err != nil {
		t.Fatal(err)
	}
	if c := srv.Counters(); c.ProxyQueries < 3 || c.LabelLookups == 0 {
		t.Errorf("want the unit split into several queries through label lookups, got %+v", c)
	}
	shards, series := src.Shard(context.Background(), []string{`{__name__=~".+"}`}, from.UnixMilli(), to.UnixMilli(), 20)
	if len(shards) < 2 || series != len(seriestest.ClipAll(data, from.UnixMilli(), to.UnixMilli())) {
		t.Fatalf("shards %q of %d series", shards, series)
	}
	if got := recoverAll(t, src, from, to, 0, shards...); seriestest.CompareAll(seriestest.ClipAll(data, from.UnixMilli(), to.UnixMilli()), got) != nil {
		t.Error("the shards do not hold every series")
	}
}

// TestSourceRetries: a 503 is asked again, and counted.
func TestSourceRetries(t *testing.T) {
	rule := faults.On(faults.PathContains("/api/v1/query")).First(2).Do(faults.Status(http.StatusServiceUnavailable))
	addr, _ := simtest.Start(t, sim.Config{Series: data, Cloud: cloud}, rule)
	src := &Source{Client: testClient(addr+sim.CloudPrefix, Auth{User: instance, Password: readToken})}
	got := recoverAll(t, src, start, start.Add(2*time.Hour), 0, "up")
	if len(got) == 0 || src.Client.Stats().Retries != 2 {
		t.Fatalf("%d series, stats %+v", len(got), src.Client.Stats())
	}
}

// TestCheckNamesTheFix: what Check says of each refusal, and that it stops
// the run (an *extract.AbortError) or is a usage error.
func TestCheckNamesTheFix(t *testing.T) {
	addr, _ := simtest.Start(t, sim.Config{Series: data, Cloud: cloud, Tokens: []string{"glsa_x"}})
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	for _, tc := range []struct {
		name, base string
		auth       Auth
		want       []string
		usage      bool
	}{
		{"write-only token", addr + sim.CloudPrefix, Auth{User: instance, Password: writeOnly}, []string{"HTTP 401: authentication error: invalid scope requested", "lacks the metrics:read scope", "Cloud access policies"}, false},
		{"unknown token", addr + sim.CloudPrefix, Auth{User: instance, Password: "glc_nope"}, []string{"invalid token", "numeric instance ID", "glsa_"}, false},
		{"service account token as Bearer", addr + sim.CloudPrefix, Auth{Token: "glsa_x"}, []string{"invalid token"}, false},
		{"no credentials", addr + sim.CloudPrefix, Auth{}, []string{"wants credentials"}, false},
		{"Grafana's URL", addr, Auth{Token: "glsa_x"}, []string{"is Grafana, not a Prometheus API"}, false},
		{"no API there", plain.URL, Auth{}, []string{"HTTP 404", "serves no Prometheus API (no /api/v1/query under it)"}, false},
		{"not a URL", "prometheus:9090", Auth{}, []string{"not an http(s) URL"}, true},
		{"no URL", "", Auth{}, []string{"no source URL given"}, true},
		{"two kinds", addr, Auth{User: "u", Password: "p", Token: "t"}, []string{"one kind of credentials"}, true},
		{"nothing listens", "http://127.0.0.1:1", Auth{}, []string{"nothing answers there; check the host and port of the source URL"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := testClient(tc.base, tc.auth).Check(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			var ue *extract.UsageError
			var ae *extract.AbortError
			var pe *extract.ParamError
			if tc.usage != errors.As(err, &ue) || (!tc.usage && !errors.As(err, &ae)) || !errors.As(err, &pe) {
				t.Errorf("usage error %v, abort %v, param error %v: %v", errors.As(err, &ue), errors.As(err, &ae), errors.As(err, &pe), err)
			}
		})
	}
	if err := testClient(addr+sim.CloudPrefix, Auth{User: instance, Password: readToken}).Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestAuthOr(t *testing.T) {
	grafana := Auth{User: "admin", Password: "pw"}
	for _, tc := range []struct{ own, want Auth }{
		{Auth{}, grafana},
		{Auth{Token: "t"}, Auth{Token: "t"}},
		{Auth{User: "1"}, Auth{User: "1"}},
	} {
		if got := tc.own.Or(grafana); got != tc.want {
			t.Errorf("%+v.Or: %+v, want %+v", tc.own, got, tc.want)
		}
	}
}

// TestTenantHeader: the tenant goes as X-Scope-OrgID with every request.
func TestTenantHeader(t *testing.T) {
	rule := faults.On(faults.PathContains("/api/v1/")).Keep()
	addr, _ := simtest.Start(t, sim.Config{Series: data, Cloud: cloud}, rule)
	c := New(addr+sim.CloudPrefix, Options{Auth: Auth{User: instance, Password: readToken}, Tenant: "team-a"})
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h := rule.Headers(); len(h) != 1 || !slices.Equal(h[0]["X-Scope-Orgid"], []string{"team-a"}) {
		t.Fatalf("headers %v", h)
	}
}
