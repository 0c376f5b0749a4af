package grafana

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/promrecover/promrecover/grafana/sim"
)

func TestLabelLookups(t *testing.T) {
	srv := sim.New(sim.Config{Series: spData, Tokens: []string{token}})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c := newTestClient(t, hs.URL, Auth{Token: token})
	ctx := context.Background()
	from, to := spWindow.Start, spWindow.End

	names, err := c.LabelValues(ctx, promDS, "__name__", `{job=~"api|node"}`, from, to)
	if err != nil || !slices.Equal(names, []string{"mem_bytes", "req_total"}) {
		t.Fatalf("metric names = %q, %v", names, err)
	}
	values, err := c.LabelValues(ctx, promDS, "instance", `req_total`, from, to)
	if err != nil || !slices.Equal(values, []string{"i0", "i1", "i2", "i3", "i4", "i5"}) {
		t.Fatalf("instances = %q, %v", values, err)
	}
	lnames, err := c.LabelNames(ctx, promDS, `temp`, from, to)
	if err != nil || !slices.Equal(lnames, []string{"__name__", "job", "sensor"}) {
		t.Fatalf("label names = %q, %v", lnames, err)
	}
	// Far before the data: nothing.
	none, err := c.LabelValues(ctx, promDS, "__name__", `{job=~".+"}`, from-48*3600000, from-47*3600000)
	if err != nil || len(none) != 0 {
		t.Fatalf("names before the data = %q, %v", none, err)
	}
	if _, err := c.LabelNames(ctx, Datasource{UID: "nope"}, `temp`, from, to); err == nil {
		t.Fatal("an unknown datasource answered")
	}
	if _, err := c.LabelNames(ctx, promDS, `{job=`, from, to); err == nil {
		t.Fatal("a bad selector answered")
	}
	if got := srv.Counters().LabelLookups; got != 5 {
		t.Fatalf("lookups = %d, want 5", got)
	}
}

func TestSeriesLookup(t *testing.T) {
	srv := sim.New(sim.Config{Series: spData, Tokens: []string{token}})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c := newTestClient(t, hs.URL, Auth{Token: token})
	ctx := context.Background()
	from, to := spWindow.Start, spWindow.End

	got, err := c.Series(ctx, promDS, []string{`req_total`, `{__name__="req_total",instance="i0"}`}, from, to)
	if err != nil || len(got) != 7 {
		t.Fatalf("series = %v, %v; want the 7 req_total series once each", got, err)
	}
	for _, ls := range got {
		if ls.Get("__name__") != "req_total" || ls.Get("job") != "api" {
			t.Fatalf("series %s", ls)
		}
	}
	if _, err := c.Series(ctx, promDS, []string{`{job=`}, from, to); err == nil {
		t.Fatal("a bad selector answered")
	}
}
