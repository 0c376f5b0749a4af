package main

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/blockstest"
	"github.com/promrecover/promrecover/internal/exitcode"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/seriestest"
	"github.com/promrecover/promrecover/internal/servers"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// readCloud is the simulator's Grafana Cloud endpoint: instance 123456, a
// token with metrics:read and one with metrics:write only.
var readCloud = &sim.Cloud{Instance: "123456", Tokens: map[string][]string{"glc_read": {"metrics:read"}, "glc_write": {"metrics:write"}}}

// staleData is viaData with stale markers: a float series and a histogram
// series go stale at 05:00 and come back a scrape later.
func staleData(seed int64) []extract.Series {
	data := viaData(seed)
	gen.StaleMarkers(data, dataStart.Add(5*time.Hour).UnixMilli())
	return data
}

// asRead is the series as blocks.ReadSeries gives them back: a histogram
// stale marker as the float stale marker it stands for.
func asRead(ss []extract.Series) []extract.Series {
	out := make([]extract.Series, len(ss))
	for i, s := range ss {
		out[i] = extract.Series{Labels: s.Labels, Samples: slices.Clone(s.Samples)}
		for _, h := range s.Histograms {
			if !h.IsStale() {
				out[i].Histograms = append(out[i].Histograms, h)
				continue
			}
			at := extract.Before(out[i].Samples, h.T)
			out[i].Samples = slices.Insert(out[i].Samples, at, extract.Sample{T: h.T, V: h.H.Sum})
		}
	}
	return out
}

// TestRecoverViaRemoteReadFromCloud: recover --via remote-read from the
// simulator's Grafana Cloud endpoint writes blocks that hold the source
// sample for sample, floats, native histograms and stale markers, whether
// its limits are met or not; the summary says the answers were streamed.
func TestRecoverViaRemoteReadFromCloud(t *testing.T) {
	data := staleData(11)
	for _, tc := range []struct {
		name     string
		cfg      sim.Config
		from, to time.Time
		args     []string
	}{
		{name: "whole windows", from: dataStart.Add(2 * time.Hour), to: dataStart.Add(8 * time.Hour)},
		{name: "unaligned ends", from: dataStart.Add(2*time.Hour + 17*time.Minute), to: dataStart.Add(8*time.Hour - 23*time.Minute)},
		{name: "Mimir's series and chunk limits, sharded", cfg: sim.Config{MaxSeriesPerQuery: 6, MaxChunksPerQuery: 12},
			from: dataStart.Add(4 * time.Hour), to: dataStart.Add(6 * time.Hour), args: []string{"--max-series-per-query", "8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Series, cfg.Cloud = data, readCloud
			addr, srv := simtest.Start(t, cfg)
			out, summary := t.TempDir(), t.TempDir()+"/summary.json"
			args := append([]string{"recover", "--via", "remote-read", "--source-url", addr + sim.CloudPrefix, "--user", "123456", "--password", "glc_read",
				"--from", tc.from.Format(time.RFC3339), "--to", tc.to.Format(time.RFC3339), "--out", out, "--summary-json", summary}, tc.args...)
			stdout, stderr, err := runCLI(t, args...)
			if err != nil {
				t.Fatalf("recover --via remote-read: %v\n%s\n%s", err, stdout, stderr)
			}
			want := extract.Clip(data, tc.from.UnixMilli(), tc.to.UnixMilli())
			if seriestest.Stale(want) == 0 {
				t.Fatal("the range holds no stale marker: the test proves less than it says")
			}
			got, err := blocks.ReadSeries(out, tc.from.UnixMilli(), tc.to.UnixMilli())
			if err != nil {
				t.Fatal(err)
			}
			if err := extract.Compare(asRead(want), got); err != nil {
				t.Fatalf("the blocks hold other samples than the source: %v\n%s", err, stdout)
			}
			if !strings.Contains(stdout, "remote read answered with the stored chunks (STREAMED_XOR_CHUNKS)") {
				t.Errorf("the summary does not say how remote read answered:\n%s", stdout)
			}
			var doc struct {
				Requests struct {
					Requests   int64  `json:"requests"`
					WireBytes  int64  `json:"wire_bytes"`
					RemoteRead string `json:"remote_read"`
				} `json:"requests"`
			}
			if err := json.Unmarshal([]byte(readFile(t, summary)), &doc); err != nil {
				t.Fatal(err)
			}
			reads := srv.Counters().RemoteReads
			if r := doc.Requests; r.RemoteRead != "STREAMED_XOR_CHUNKS" || r.Requests <= reads || r.WireBytes == 0 {
				t.Errorf("--summary-json's requests are %+v; want STREAMED_XOR_CHUNKS and more requests than the %d reads", r, reads)
			}
			if tc.cfg.MaxChunksPerQuery > 0 && (!strings.Contains(stderr, "splitting a query") || !strings.Contains(stderr, "err-mimir-max-chunks-per-query") || !strings.Contains(stderr, "err-mimir-max-series-per-query")) {
				t.Errorf("no limit was met:\n%s", stderr)
			}
		})
	}
}

// TestRecoverViaRemoteReadServedByPrometheus: blocks of known data (floats,
// integer native histograms and stale markers; float histograms too on
// Prometheus 3, which 2.42 cannot read from a block) are served by a real
// Prometheus of each version; recover --via remote-read reads them back
// through its remote read alone, and the blocks it writes hold every
// sample of the source.
func TestRecoverViaRemoteReadServedByPrometheus(t *testing.T) {
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(8*time.Hour)
	for _, v := range servers.Versions {
		t.Run(string(v), func(t *testing.T) {
			data := staleData(13)
			if v != servers.V2 {
				data = append(data, floatHistograms(gen.NativeHistogramSeries(dataStart, dataEnd, 14))...)
			}
			in := t.TempDir()
			blockstest.Install(t, in, data, from, to)
			prom := servers.Prometheus(t, v, in)
			out := t.TempDir()
			stdout, stderr, err := runCLI(t, "recover", "--via", "remote-read", "--source-url", prom.URL, "--max-series-per-query", "5",
				"--from", from.Add(17*time.Minute).Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", out)
			if err != nil {
				t.Fatalf("recover --via remote-read: %v\n%s\n%s", err, stdout, stderr)
			}
			lo, hi := from.Add(17*time.Minute).UnixMilli(), to.UnixMilli()
			want := extract.Clip(data, lo, hi)
			got, err := blocks.ReadSeries(out, lo, hi)
			if err != nil {
				t.Fatal(err)
			}
			if err := extract.Compare(asRead(want), got); err != nil {
				t.Fatalf("the blocks hold other samples than Prometheus %s served: %v", v, err)
			}
			if seriestest.Stale(want) == 0 || !strings.Contains(stdout, "(STREAMED_XOR_CHUNKS)") || !strings.Contains(stderr, "sharding a large selector") {
				t.Errorf("no stale marker, no streamed answer or nothing sharded:\n%s\n%s", stdout, stderr)
			}
		})
	}
}

// floatHistograms are the series' histograms with float counts, renamed.
func floatHistograms(ss []extract.Series) []extract.Series {
	out := make([]extract.Series, len(ss))
	for i, s := range ss {
		out[i].Labels = labels.NewBuilder(s.Labels).Set("__name__", s.Labels.Get("__name__")+"_float").Labels()
		for _, h := range s.Histograms {
			out[i].Histograms = append(out[i].Histograms, extract.HistogramSample{T: h.T, FH: h.H.ToFloat(nil)})
		}
	}
	return out
}

// TestRemoteReadRefusals: what stops recover --via remote-read before it
// starts names the fix; a refusal found before anything is fetched exits 2
// or 1 as documented, and nothing is written.
func TestRemoteReadRefusals(t *testing.T) {
	notServed := faults.On(faults.Path(sim.CloudPrefix + "/api/v1/read")).Do(faults.Answer(http.StatusNotFound, "404 page not found\n"))
	busyOnce := func() *faults.Rule {
		return faults.On(faults.Path(sim.CloudPrefix + "/api/v1/read")).First(1).Do(faults.Answer(http.StatusServiceUnavailable, "busy"))
	}
	for _, tc := range []struct {
		name  string
		rule  *faults.Rule
		args  []string
		want  string
		code  int
		reads int // the remote reads the rule saw, when it counts them
	}{
		{name: "remote read not exposed", rule: notServed, want: "/api/v1/read: HTTP 404: 404 page not found: remote read is not exposed at URL: use --via prometheus", code: exitcode.Usage},
		{name: "a token without metrics:read", args: []string{"--password", "glc_write"}, code: exitcode.Failed,
			want: "invalid scope requested: the token lacks the metrics:read scope for this stack (a metrics:write token, for one, gets this answer): create an access policy token with metrics:read"},
		{name: "a step", args: []string{"--step", "30s"}, want: "--via remote-read returns the stored samples, not a query's evaluations at a step; leave --step out", code: exitcode.Usage},
		{name: "--retries 0 retries nothing", rule: busyOnce(), args: []string{"--retries", "0"}, want: "HTTP 503: busy", code: exitcode.Failed, reads: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rules []*faults.Rule
			if tc.rule != nil {
				rules = append(rules, tc.rule)
			}
			addr, _ := simtest.Start(t, sim.Config{Series: viaData(3), Cloud: readCloud}, rules...)
			src := addr + sim.CloudPrefix
			out := t.TempDir()
			args := append([]string{"recover", "--via", "remote-read", "--source-url", src, "--user", "123456", "--password", "glc_read", "--match", "up",
				"--from", dataStart.Add(2 * time.Hour).Format(time.RFC3339), "--to", dataStart.Add(4 * time.Hour).Format(time.RFC3339), "--out", out}, tc.args...)
			_, stderr, err := runCLI(t, args...)
			want := strings.ReplaceAll(tc.want, "URL", src)
			if err == nil || !strings.Contains(userText(err), want) || exitcode.Of(err) != tc.code {
				t.Fatalf("got %v (exit %d), want %q and exit %d\n%s", err, exitcode.Of(err), want, tc.code, stderr)
			}
			if entries, _ := os.ReadDir(out); len(entries) > 0 {
				t.Errorf("--out holds %v after a refusal", entries)
			}
			if tc.reads > 0 && tc.rule.Count() != tc.reads {
				t.Errorf("%d remote reads, want %d", tc.rule.Count(), tc.reads)
			}
		})
	}
}

// TestRemoteReadResumeAndOnlyGaps: a window the source refused is fetched by
// the same command again, and only it; --only-gaps through remote read
// writes only into the holes of the surviving data, which then equals the
// source.
func TestRemoteReadResumeAndOnlyGaps(t *testing.T) {
	data := staleData(17)
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(8*time.Hour)
	failing := dataStart.Add(4 * time.Hour)
	var refuse atomic.Bool
	refuse.Store(true)
	intercept := func(c sim.PromCall) *sim.PromReply {
		if c.Path == "/api/v1/read" && refuse.Load() && !c.Start.Before(failing) && c.Start.Before(failing.Add(2*time.Hour)) {
			return &sim.PromReply{Status: http.StatusBadRequest, Body: "bad_data: refused by the test"}
		}
		return nil
	}
	addr, _ := simtest.Start(t, sim.Config{Series: data, Cloud: readCloud, Intercept: intercept})
	conn := []string{"--via", "remote-read", "--source-url", addr + sim.CloudPrefix, "--user", "123456", "--password", "glc_read"}
	rng := []string{"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339)}
	want := asRead(extract.Clip(data, from.UnixMilli(), to.UnixMilli()))

	out := t.TempDir()
	args := append(append(append([]string{"recover"}, conn...), rng...), "--out", out)
	stdout, stderr, err := runCLI(t, args...)
	if exitcode.Of(err) != exitcode.Partial || !strings.Contains(stdout, "refused by the test") {
		t.Fatalf("the refused window: %v (exit %d)\n%s\n%s", err, exitcode.Of(err), stdout, stderr)
	}
	refuse.Store(false)
	stdout, stderr, err = runCLI(t, args...)
	if err != nil || !strings.Contains(stdout, "recovered 1 of 1 windows") || !strings.Contains(stdout, "2 more windows") {
		t.Fatalf("resuming: %v\n%s\n%s", err, stdout, stderr)
	}
	got, err := blocks.ReadSeries(out, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if err := extract.Compare(want, got); err != nil {
		t.Fatalf("after resuming: %v", err)
	}

	kept := t.TempDir()
	blockstest.Install(t, kept, data, from, failing)
	blockstest.Install(t, kept, data, failing.Add(2*time.Hour), to)
	stdout, stderr, err = runCLI(t, append(append(append([]string{"recover"}, conn...), rng...), "--out", kept, "--only-gaps")...)
	if err != nil {
		t.Fatalf("--only-gaps: %v\n%s\n%s", err, stdout, stderr)
	}
	lost := extract.CountSamples(extract.Clip(data, failing.UnixMilli(), failing.Add(2*time.Hour).UnixMilli()))
	if !strings.Contains(stdout, "written "+strconv.FormatInt(lost, 10)+" samples") {
		t.Errorf("--only-gaps should write exactly the %d lost samples:\n%s", lost, stdout)
	}
	if got, err = blocks.ReadSeries(kept, from.UnixMilli(), to.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if err := extract.Compare(want, got); err != nil {
		t.Fatalf("after --only-gaps: %v", err)
	}
}

// TestRemoteReadPlanAndExport: plan counts the series through the API at
// the source URL, and export writes every sample remote read returns.
func TestRemoteReadPlanAndExport(t *testing.T) {
	data := staleData(19)
	addr, _ := simtest.Start(t, sim.Config{Series: data, Cloud: readCloud})
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(6*time.Hour)
	want := extract.Clip(data, from.UnixMilli(), to.UnixMilli())
	common := []string{"--via", "remote-read", "--source-url", addr + sim.CloudPrefix, "--user", "123456", "--password", "glc_read",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339)}
	for _, tc := range []struct {
		cmd  []string
		want string // a regular expression of a line of stdout and stderr
	}{
		{[]string{"plan"}, "^series per metric, counted via the series API:$"},
		{[]string{"plan"}, "^total +" + strconv.Itoa(len(want)) + "$"},
		{[]string{"export", "--out", t.TempDir() + "/out.json"}, " samples=" + strconv.FormatInt(extract.CountSamples(want), 10) + " "},
	} {
		t.Run(strings.Join(tc.cmd, " "), func(t *testing.T) {
			stdout, stderr, err := runCLI(t, append(tc.cmd, common...)...)
			if err != nil || !regexp.MustCompile("(?m)"+tc.want).MatchString(stdout+stderr) {
				t.Fatalf("%v; want %q in\n%s\n%s", err, tc.want, stdout, stderr)
			}
		})
	}
}

// TestRemoteReadHeaders: --tenant and the source's credentials go with
// every request, the remote reads and the API's discovery alike.
func TestRemoteReadHeaders(t *testing.T) {
	reads := faults.On(faults.Path(sim.CloudPrefix + "/api/v1/read")).Keep()
	api := faults.On(faults.PathPrefix(sim.CloudPrefix+"/api/v1/"), func(r *http.Request, _ []byte) bool { return r.URL.Path != sim.CloudPrefix+"/api/v1/read" }).Keep()
	addr, _ := simtest.Start(t, sim.Config{Series: viaData(23), Cloud: readCloud}, reads, api)
	stdout, stderr, err := runCLI(t, "recover", "--via", "remote-read", "--source-url", addr+sim.CloudPrefix, "--source-user", "123456", "--source-password", "glc_read",
		"--tenant", "team-a", "--from", dataStart.Add(2*time.Hour).Format(time.RFC3339), "--to", dataStart.Add(4*time.Hour).Format(time.RFC3339), "--out", t.TempDir())
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	for name, rule := range map[string]*faults.Rule{"remote read": reads, "the API": api} {
		hs := rule.Headers()
		if len(hs) == 0 {
			t.Fatalf("no request to %s", name)
		}
		for _, h := range hs {
			r := http.Request{Header: h}
			if user, pass, ok := r.BasicAuth(); !ok || user != "123456" || pass != "glc_read" || h.Get("X-Scope-OrgID") != "team-a" {
				t.Errorf("a request to %s went with the headers %v", name, h)
			}
		}
	}
}
