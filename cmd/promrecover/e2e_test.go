package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/matrixtest"
	"github.com/promrecover/promrecover/internal/servers"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// The data set every end-to-end test recovers from: ten hours of the demo's
// metrics, far enough in the past that no warning about the head applies.
var (
	dataStart = time.Date(2025, 8, 3, 0, 0, 0, 0, time.UTC)
	dataEnd   = dataStart.Add(10 * time.Hour)
)

const testToken = "glsa_test_token_0123456789"

// runCLI runs promrecover in-process, as a user would from a shell.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRoot(&out, &errb)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func TestRecoverServedByPrometheus(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 7)
	cases := []struct {
		name     string
		v2       bool // the server answers range selectors like Prometheus 2 (both ends included)
		auth     func(s *sim.Server) []string
		from, to time.Time
		step     time.Duration
		match    []string
	}{
		{
			name: "raw samples, token, every series, unaligned end",
			auth: func(*sim.Server) []string { return []string{"--token", testToken} },
			from: dataStart.Add(2 * time.Hour), to: dataStart.Add(8*time.Hour + 30*time.Minute),
		},
		{
			name: "raw samples, session cookie, Prometheus 2 range ends, overlapping selectors",
			v2:   true,
			auth: func(s *sim.Server) []string { return []string{"--session", s.Login("admin")} },
			from: dataStart.Add(3*time.Hour + 17*time.Minute), to: dataStart.Add(7 * time.Hour),
			match: []string{`{job="api"}`, `http_requests_total`},
		},
		{
			name: "15s steps, basic auth, unaligned start",
			auth: func(*sim.Server) []string { return []string{"--user", "admin", "--password", "s3cret"} },
			from: dataStart.Add(2*time.Hour + 7*time.Second), to: dataStart.Add(6 * time.Hour),
			step: 15 * time.Second,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr, srv := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}, Users: map[string]string{"admin": "s3cret"}, PrometheusV2: tc.v2})
			out := t.TempDir()
			args := []string{"recover", "--grafana-url", addr, "--datasource", "grafanacloud-prom",
				"--from", tc.from.Format(time.RFC3339), "--to", tc.to.Format(time.RFC3339), "--out", out, "--concurrency", "3"}
			args = append(args, tc.auth(srv)...)
			for _, m := range tc.match {
				args = append(args, "--match", m)
			}
			if tc.step > 0 {
				args = append(args, "--step", tc.step.String())
			}
			stdout, stderr, err := runCLI(t, args...)
			if err != nil {
				t.Fatalf("recover: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
			}
			want := expected(data, tc.from, tc.to, tc.step, tc.match)
			if len(want) == 0 {
				t.Fatal("the test selects no data")
			}
			if !strings.Contains(stdout, fmt.Sprintf("written %d samples", extract.CountSamples(want))) {
				t.Errorf("summary does not report %d samples:\n%s", extract.CountSamples(want), stdout)
			}

			servesExactly(t, out, tc.from, tc.to, want)
		})
	}
}

// expected computes, independently of the code under test, what a recovery
// must produce: the raw samples in [from, to), or in step mode the value
// PromQL gives at every multiple of the step, the newest sample of the five
// minutes before it (a stale marker ends a series).
func expected(data []extract.Series, from, to time.Time, step time.Duration, match []string) []extract.Series {
	selected := data
	if len(match) > 0 {
		selected = nil
		for _, s := range data {
			if matchesAny(s.Labels, match) {
				selected = append(selected, s)
			}
		}
	}
	if step == 0 {
		return extract.Clip(selected, from.UnixMilli(), to.UnixMilli())
	}
	const lookback = int64(5 * time.Minute / time.Millisecond)
	stepMs := step.Milliseconds()
	var out []extract.Series
	for _, s := range selected {
		var pts []extract.Sample
		first := (from.UnixMilli() + stepMs - 1) / stepMs * stepMs
		for ts := first; ts < to.UnixMilli(); ts += stepMs {
			var last *extract.Sample
			for i := range s.Samples {
				if s.Samples[i].T > ts-lookback && s.Samples[i].T <= ts {
					last = &s.Samples[i]
				}
			}
			if last != nil && !value.IsStaleNaN(last.V) {
				pts = append(pts, extract.Sample{T: ts, V: last.V})
			}
		}
		if len(pts) > 0 {
			out = append(out, extract.Series{Labels: s.Labels, Samples: pts})
		}
	}
	return out
}

// matchesAny handles the two selector forms the tests use: a metric name or
// {label="value"}.
func matchesAny(ls labels.Labels, match []string) bool {
	for _, m := range match {
		if name, val, ok := strings.Cut(strings.Trim(m, "{}"), "="); ok && strings.HasPrefix(m, "{") {
			if ls.Get(name) == strings.Trim(val, `"`) {
				return true
			}
		} else if ls.Get(model.MetricNameLabel) == m {
			return true
		}
	}
	return false
}

// servesExactly starts each real Prometheus in turn on dataDir (2.42 first:
// it does not read what a 3.x may leave), checks that every series and
// sample it serves in [from, to) is want's, labels and values bit for bit,
// and stops it again, so that what follows sees the directory as
// Prometheus left it.
func servesExactly(t *testing.T, dataDir string, from, to time.Time, want []extract.Series) {
	t.Helper()
	for _, v := range servers.Versions {
		t.Run("Prometheus "+string(v), func(t *testing.T) {
			prom := startPrometheus(t, v, dataDir)
			defer prom.stop()
			got := prom.rawSamples(t, from, to)
			if err := extract.Compare(want, got); err != nil {
				t.Fatalf("Prometheus %s serves other data than the source: %v", v, err)
			}
			t.Logf("Prometheus %s serves %d series, %d samples, identical to the source", v, len(got), extract.CountSamples(got))
		})
	}
}

type prometheus struct {
	url  string
	v    servers.Version
	stop func() // kills it and waits; also done when the test ends
}

// startPrometheus runs Prometheus v on the data directory, bound to
// 127.0.0.1, and waits until it is ready.
func startPrometheus(t *testing.T, v servers.Version, dataDir string) *prometheus {
	t.Helper()
	p := servers.Prometheus(t, v, dataDir)
	return &prometheus{url: p.URL, v: v, stop: p.Stop}
}

// rawSamples asks Prometheus for every stored float sample in [from, to).
func (p *prometheus) rawSamples(t *testing.T, from, to time.Time) []extract.Series {
	t.Helper()
	return matrixtest.Floats(p.rawMatrix(t, from, to))
}

// rawMatrix asks Prometheus for every stored sample of either kind in
// [from, to) with a range selector at to-1ms: Prometheus 2 includes both
// ends of the range, so it reaches back to from; Prometheus 3 leaves the
// start out, so it reaches 1ms further.
func (p *prometheus) rawMatrix(t *testing.T, from, to time.Time) model.Matrix {
	t.Helper()
	end := to.UnixMilli() - 1
	r := end - from.UnixMilli()
	if p.v != servers.V2 {
		r++
	}
	q := url.Values{
		"query": {fmt.Sprintf(`{__name__=~".+"}[%dms]`, r)},
		"time":  {strconv.FormatFloat(float64(end)/1000, 'f', 3, 64)},
	}
	resp, err := http.Get(p.url + "/api/v1/query?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var ans struct {
		Status string
		Error  string
		Data   struct{ Result model.Matrix }
	}
	if err := json.Unmarshal(body, &ans); err != nil || ans.Status != "success" {
		t.Fatalf("prometheus query: %v %s: %s", err, ans.Error, body)
	}
	return ans.Data.Result
}

func TestExportJSONReadableByModel(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 3)
	addr, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	from, to := dataStart.Add(time.Hour), dataStart.Add(5*time.Hour+10*time.Minute)
	file := filepath.Join(t.TempDir(), "out.json")
	stdout, stderr, err := runCLI(t, "export", "--grafana-url", addr, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", strconv.FormatInt(from.Unix(), 10), "--to", to.Format(time.RFC3339), "--out", file)
	if err != nil {
		t.Fatalf("export: %v\n%s\n%s", err, stdout, stderr)
	}
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var ans struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string       `json:"resultType"`
			Result     model.Matrix `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		t.Fatalf("prometheus/common/model cannot read the export: %v", err)
	}
	if ans.Status != "success" || ans.Data.ResultType != "matrix" {
		t.Fatalf("status %q resultType %q", ans.Status, ans.Data.ResultType)
	}
	want := extract.Clip(data, from.UnixMilli(), to.UnixMilli())
	if err := extract.Compare(want, matrixtest.Floats(ans.Data.Result)); err != nil {
		t.Fatal(err)
	}
	if !hasNonFinite(want) {
		t.Fatal("the data set should hold NaN and +Inf, to prove they survive the export")
	}
}

func hasNonFinite(series []extract.Series) bool {
	nan, inf := false, false
	for _, s := range series {
		for _, smp := range s.Samples {
			nan = nan || math.IsNaN(smp.V)
			inf = inf || math.IsInf(smp.V, 1)
		}
	}
	return nan && inf
}
