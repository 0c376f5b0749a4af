package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/servers"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
	"github.com/promrecover/promrecover/nativehist"
)

// viaData is the demo's float series and the native histogram series over
// the end-to-end range.
func viaData(seed int64) []extract.Series {
	return append(gen.DemoSeries(dataStart, dataEnd, seed), gen.NativeHistogramSeries(dataStart, dataEnd, seed)...)
}

// TestRecoverViaProxyServedByPrometheus: recover --via proxy of floats and
// native histograms, then Debian's Prometheus 2.42 and a Prometheus 3.x each
// serve every float sample and every histogram exactly as the source has
// them, as their query API prints them. Neither needs
// --enable-feature=native-histograms for this: on 2.42 the flag governs
// ingesting them from scrapes, while its TSDB reads integer histogram
// chunks from blocks and its API prints them either way (tried here with
// and without it); 3.x has no such flag.
func TestRecoverViaProxyServedByPrometheus(t *testing.T) {
	data := viaData(5)
	cases := []struct {
		name     string
		v2       bool
		from, to time.Time
		step     time.Duration
	}{
		{"raw samples, Prometheus 3 range ends", false, dataStart.Add(2 * time.Hour), dataStart.Add(7*time.Hour + 30*time.Minute), 0},
		{"raw samples, Prometheus 2 range ends, unaligned start", true, dataStart.Add(3*time.Hour + 17*time.Minute), dataStart.Add(6 * time.Hour), 0},
		{"30s steps", false, dataStart.Add(2*time.Hour + 7*time.Second), dataStart.Add(6 * time.Hour), 30 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url, srv := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}, PrometheusV2: tc.v2})
			out := t.TempDir()
			args := []string{"recover", "--via", "proxy", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
				"--from", tc.from.Format(time.RFC3339), "--to", tc.to.Format(time.RFC3339), "--out", out}
			if tc.step > 0 {
				args = append(args, "--step", tc.step.String())
			}
			stdout, stderr, err := runCLI(t, args...)
			if err != nil {
				t.Fatalf("recover --via proxy: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
			}
			if c := srv.Counters(); c.DSQueries != 0 || c.ProxyQueries == 0 {
				t.Errorf("want proxy queries only, got %+v", c)
			}
			floatData := floatsOf(data)
			floats := expected(floatData, tc.from, tc.to, tc.step, nil)
			hists := expectedHistograms(data, tc.from, tc.to, tc.step)
			if len(floats) == 0 || len(hists) == 0 {
				t.Fatal("the test selects no floats or no histograms")
			}

			// gaps sees the histogram series both in the blocks and through
			// Prometheus's API: the two agree.
			rng := []string{"--from", tc.from.Format(time.RFC3339), "--to", tc.to.Format(time.RFC3339), "--all"}
			fromData, _, err := runCLI(t, append([]string{"gaps", "--data", out}, rng...)...)
			if err != nil {
				t.Fatalf("gaps --data: %v", err)
			}
			for _, v := range servers.Versions {
				t.Run("Prometheus "+string(v), func(t *testing.T) {
					prom := startPrometheus(t, v, out)
					defer prom.stop()
					servesFloatsAndHistograms(t, prom, tc.from, tc.to, floats, hists)
					fromProm, _, err := runCLI(t, append([]string{"gaps", "--prometheus-url", prom.url}, rng...)...)
					if err != nil || withoutFill(fromProm) != withoutFill(fromData) {
						t.Fatalf("gaps: the data directory and Prometheus disagree (%v):\n--data:\n%s\n--prometheus-url:\n%s", err, fromData, fromProm)
					}
				})
			}
		})
	}
}

// servesFloatsAndHistograms fails t unless prom serves in [from, to)
// exactly the floats and the histograms (as its API prints them) given.
func servesFloatsAndHistograms(t *testing.T, prom *prometheus, from, to time.Time, floats []extract.Series, hists map[string][]string) {
	t.Helper()
	gotFloats, gotHists := prom.served(t, from, to)
	if err := extract.Compare(floats, gotFloats); err != nil {
		t.Fatalf("Prometheus %s serves other floats than the source: %v", prom.v, err)
	}
	if err := sameHistograms(hists, gotHists); err != nil {
		t.Fatalf("Prometheus %s serves other histograms than the source: %v", prom.v, err)
	}
	n := 0
	for _, h := range hists {
		n += len(h)
	}
	t.Logf("Prometheus %s serves %d float series (%d samples) and %d histogram series (%d histograms), identical to the source",
		prom.v, len(gotFloats), extract.CountSamples(gotFloats), len(gotHists), n)
}

// served is every sample Prometheus serves in [from, to): the floats, and
// the histograms as its API prints them, by series.
func (p *prometheus) served(t *testing.T, from, to time.Time) ([]extract.Series, map[string][]string) {
	var floats []extract.Series
	hists := map[string][]string{}
	for _, ss := range p.rawMatrix(t, from, to) {
		lset := labels.FromMap(metricMap(ss.Metric))
		if len(ss.Values) > 0 {
			s := extract.Series{Labels: lset}
			for _, v := range ss.Values {
				s.Samples = append(s.Samples, extract.Sample{T: int64(v.Timestamp), V: float64(v.Value)})
			}
			floats = append(floats, s)
		}
		for _, h := range ss.Histograms {
			hists[lset.String()] = append(hists[lset.String()], fmt.Sprintf("%d %v", h.Timestamp, h.Histogram))
		}
	}
	return floats, hists
}

// TestRecoverNativeHistogramsOverDSQuery: over /api/ds/query the windows
// holding native histograms are reported NOT RECOVERED with the hint to use
// --via proxy, and nothing of them is written; the same command with --via
// proxy then resumes and recovers them.
func TestRecoverNativeHistogramsOverDSQuery(t *testing.T) {
	data := viaData(5)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	out := t.TempDir()
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(6*time.Hour)
	args := []string{"recover", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", out}
	stdout, stderr, err := runCLI(t, args...)
	if err == nil {
		t.Fatalf("recover over /api/ds/query of native histograms succeeded:\n%s", stdout)
	}
	for _, want := range []string{"NOT RECOVERED", "heatmap-cells", "http_request_duration_seconds", "recover them with --via proxy"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the summary does not say %q:\n%s\n%s", want, stdout, stderr)
		}
	}
	written, err := blocks.ReadSeries(out, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range written {
		// The demo's classic histogram is http_request_duration_seconds_bucket,
		// _sum and _count: other names.
		if name := s.Labels.Get(model.MetricNameLabel); len(s.Histograms) > 0 || name == "http_request_duration_seconds" || name == "clock_skew_seconds" {
			t.Errorf("series %s was written over /api/ds/query", s.Labels)
		}
	}

	stdout, stderr, err = runCLI(t, append(args, "--via", "proxy")...)
	if err != nil {
		t.Fatalf("the same command with --via proxy: %v\n%s\n%s", err, stdout, stderr)
	}
	written, err = blocks.ReadSeries(out, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if err := extract.Compare(extract.Clip(data, from.UnixMilli(), to.UnixMilli()), written); err != nil {
		t.Fatalf("after --via proxy the blocks differ from the source: %v", err)
	}
}

// TestViaFlag: --via is checked before anything is sent, and plan's
// request estimate follows it.
func TestViaFlag(t *testing.T) {
	url, srv := simtest.Start(t, sim.Config{Series: planData(dataStart, dataEnd), Tokens: []string{testToken}})
	base := []string{"--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", dataStart.Add(time.Hour).Format(time.RFC3339), "--to", dataStart.Add(6 * time.Hour).Format(time.RFC3339),
		"--match", `{job="node"}`, "--match", `{job="api"}`}
	for _, cmd := range [][]string{{"recover", "--out", t.TempDir()}, {"export", "--out", "-"}, {"plan"}} {
		_, _, err := runCLI(t, append(append(cmd, base...), "--via", "grpc")...)
		if err == nil || !strings.Contains(err.Error(), `--via "grpc"`) {
			t.Errorf("%s --via grpc: %v", cmd[0], err)
		}
	}
	if c := srv.Counters(); c.Requests != 0 {
		t.Errorf("a bad --via sent %d requests", c.Requests)
	}
	stdout, _, err := runCLI(t, append([]string{"plan", "--via", "proxy"}, base...)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "requests: 6 (3 windows x 2 of up to 1 selectors each)") {
		t.Errorf("plan --via proxy does not count one query a request:\n%s", stdout)
	}
}

// expectedHistograms is, independently of the code under test, what a
// recovery must give of the native histograms, as Prometheus's API prints
// them: the raw samples in [from, to), or at every step the newest of the
// five minutes before it.
func expectedHistograms(data []extract.Series, from, to time.Time, step time.Duration) map[string][]string {
	out := map[string][]string{}
	const lookback = int64(5 * time.Minute / time.Millisecond)
	for _, s := range data {
		if len(s.Histograms) == 0 {
			continue
		}
		key := s.Labels.String()
		add := func(t int64, h extract.HistogramSample) {
			out[key] = append(out[key], fmt.Sprintf("%d %v", t, nativehist.ToAPI(h.H, h.FH)))
		}
		if step == 0 {
			for _, h := range s.Histograms {
				if h.T >= from.UnixMilli() && h.T < to.UnixMilli() {
					add(h.T, h)
				}
			}
			continue
		}
		st := step.Milliseconds()
		for ts := (from.UnixMilli() + st - 1) / st * st; ts < to.UnixMilli(); ts += st {
			var last *extract.HistogramSample
			for i := range s.Histograms {
				if s.Histograms[i].T > ts-lookback && s.Histograms[i].T <= ts {
					last = &s.Histograms[i]
				}
			}
			if last != nil {
				add(ts, *last)
			}
		}
	}
	return out
}

func sameHistograms(want, got map[string][]string) error {
	for k, w := range want {
		g := got[k]
		for i := 0; i < len(w) || i < len(g); i++ {
			switch {
			case i >= len(g):
				return fmt.Errorf("%s: histogram %d missing (%d of %d): %s", k, i, len(g), len(w), w[i])
			case i >= len(w):
				return fmt.Errorf("%s: histogram %d not in the source: %s", k, i, g[i])
			case w[i] != g[i]:
				return fmt.Errorf("%s: histogram %d is\n%s\nwant\n%s", k, i, g[i], w[i])
			}
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			return fmt.Errorf("histogram series %s was not in the source", k)
		}
	}
	return nil
}

func metricMap(m model.Metric) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[string(k)] = string(v)
	}
	return out
}

// TestExportViaProxy: export --via proxy writes the native histograms as
// Prometheus's API prints them, and OpenMetrics, which cannot carry them,
// refuses rather than leave them out.
func TestExportViaProxy(t *testing.T) {
	data := viaData(3)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	from, to := dataStart.Add(time.Hour), dataStart.Add(3*time.Hour)
	args := []string{"export", "--via", "proxy", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--match", `{job="node"}`}
	file := filepath.Join(t.TempDir(), "out.json")
	if stdout, stderr, err := runCLI(t, append(args, "--out", file)...); err != nil {
		t.Fatalf("export: %v\n%s\n%s", err, stdout, stderr)
	}
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var ans struct {
		Data struct{ Result model.Matrix }
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, ss := range ans.Data.Result {
		for _, h := range ss.Histograms {
			k := labels.FromMap(metricMap(ss.Metric)).String()
			got[k] = append(got[k], fmt.Sprintf("%d %v", h.Timestamp, h.Histogram))
		}
	}
	var node []extract.Series
	for _, s := range data {
		if s.Labels.Get("job") == "node" {
			node = append(node, s)
		}
	}
	if err := sameHistograms(expectedHistograms(node, from, to, 0), got); err != nil {
		t.Fatal(err)
	}

	// The export imports into blocks that verify holds equal to it, histogram
	// by histogram, and a changed sum is found.
	dir := t.TempDir()
	if stdout, stderr, err := runCLI(t, "import", file, "--out", dir); err != nil {
		t.Fatalf("import: %v\n%s\n%s", err, stdout, stderr)
	}
	stdout, stderr, err := runCLI(t, "verify", dir, "--against", file)
	if err != nil || !strings.Contains(stdout, "OK: the blocks hold exactly the file's") {
		t.Fatalf("verify --against the export: %v\n%s\n%s", err, stdout, stderr)
	}
	i := bytes.Index(body, []byte(`"sum":"`)) + len(`"sum":"`)
	k := i + bytes.IndexByte(body[i:], '"')
	digit := body[k-1] // the last digit of the first histogram's sum, another one now
	tampered := filepath.Join(t.TempDir(), "tampered.json")
	if err := os.WriteFile(tampered, slices.Concat(body[:k-1], []byte{'0' + (digit-'0'+1)%10}, body[k:]), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _, err = runCLI(t, "verify", dir, "--against", tampered)
	if err == nil || !strings.Contains(stdout, "1 with another value") || !strings.Contains(stdout, "FIRST DIFFERENCE") {
		t.Fatalf("verify --against a file with one bucket count changed: %v\n%s", err, stdout)
	}

	_, _, err = runCLI(t, append(args, "--out", "-", "--format", "openmetrics")...)
	if err == nil || !strings.Contains(err.Error(), "native histograms") {
		t.Fatalf("export --format openmetrics of native histograms: %v, want a refusal", err)
	}
}
