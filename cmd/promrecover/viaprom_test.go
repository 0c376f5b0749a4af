package main

import (
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/internal/servers"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// TestRecoverViaPrometheus: blocks of known floats and native histograms
// (recovered through the simulator's proxy, which the test above proves
// exact) are served by Debian's Prometheus 2.42, then by a Prometheus 3.x
// (whose range selectors leave their start out); recover --via prometheus
// reads them back through its HTTP API alone, no Grafana, raw and in steps,
// and a second Prometheus of the same version on the new blocks serves
// every sample the source has, floats bit for bit and histograms as the
// API prints them.
func TestRecoverViaPrometheus(t *testing.T) {
	data := viaData(9)
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(8*time.Hour)
	addr, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	in := t.TempDir()
	if stdout, stderr, err := runCLI(t, "recover", "--via", "proxy", "--grafana-url", addr, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", in); err != nil {
		t.Fatalf("recover --via proxy: %v\n%s\n%s", err, stdout, stderr)
	}
	floatData := floatsOf(data)
	cases := []struct {
		name     string
		from, to time.Time
		step     time.Duration
	}{
		{"raw samples, unaligned ends", from.Add(17 * time.Minute), to.Add(-23 * time.Minute), 0},
		{"30s steps", from.Add(7 * time.Second), dataStart.Add(6 * time.Hour), 30 * time.Second},
	}
	// One source at a time: both would lock the same data directory.
	for _, v := range servers.Versions {
		t.Run("Prometheus "+string(v), func(t *testing.T) {
			source := startPrometheus(t, v, in)
			defer source.stop()
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					out := t.TempDir()
					args := []string{"recover", "--via", "prometheus", "--source-url", source.url, "--max-series-per-query", "5",
						"--from", tc.from.Format(time.RFC3339), "--to", tc.to.Format(time.RFC3339), "--out", out}
					if tc.step > 0 {
						args = append(args, "--step", tc.step.String())
					}
					stdout, stderr, err := runCLI(t, args...)
					if err != nil {
						t.Fatalf("recover --via prometheus: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
					}
					if !strings.Contains(stdout, "from "+source.url+" (prometheus)") || !strings.Contains(stderr, "sharding a large selector") {
						t.Errorf("the summary names no source, or nothing was sharded:\n%s\n%s", stdout, stderr)
					}
					floats := expected(floatData, tc.from, tc.to, tc.step, nil)
					hists := expectedHistograms(data, tc.from, tc.to, tc.step)
					if len(floats) == 0 || len(hists) == 0 {
						t.Fatal("the test selects no floats or no histograms")
					}
					prom := startPrometheus(t, v, out)
					defer prom.stop()
					servesFloatsAndHistograms(t, prom, tc.from, tc.to, floats, hists)
				})
			}
		})
	}
}

// TestSourceCredentials: with --via prometheus the source's own
// credentials (flags or PROMRECOVER_SOURCE_*) are used, else --user and
// --password; --grafana-url is not needed; a refusal names the flags that
// fix it; the resume state is keyed by the source URL.
func TestSourceCredentials(t *testing.T) {
	cloud := &sim.Cloud{Instance: "123456", Tokens: map[string][]string{"glc_read": {"metrics:read"}, "glc_write": {"metrics:write"}}}
	addr, _ := simtest.Start(t, sim.Config{Series: viaData(3), Cloud: cloud})
	src := addr + sim.CloudPrefix
	rng := []string{"--from", dataStart.Add(2 * time.Hour).Format(time.RFC3339), "--to", dataStart.Add(4 * time.Hour).Format(time.RFC3339), "--match", "up"}
	run := func(env map[string]string, args ...string) (string, string, error) {
		t.Helper()
		for k, v := range env {
			t.Setenv(k, v)
		}
		return runCLI(t, append(append([]string{"recover", "--via", "prometheus"}, rng...), args...)...)
	}
	out := t.TempDir()
	if stdout, stderr, err := run(nil, "--source-url", src, "--user", "123456", "--password", "glc_read", "--out", out); err != nil {
		t.Fatalf("--user/--password for the source: %v\n%s\n%s", err, stdout, stderr)
	}
	stdout, stderr, err := run(nil, "--source-url", src+"/", "--user", "123456", "--password", "glc_read", "--out", out)
	if err != nil || !strings.Contains(stdout, "were recovered by an earlier run") {
		t.Errorf("the same source again does not resume: %v\n%s\n%s", err, stdout, stderr)
	}
	if stdout, stderr, err := run(map[string]string{"PROMRECOVER_SOURCE_URL": src, "PROMRECOVER_SOURCE_USER": "123456", "PROMRECOVER_SOURCE_PASSWORD": "glc_read"}, "--out", t.TempDir()); err != nil {
		t.Errorf("PROMRECOVER_SOURCE_*: %v\n%s\n%s", err, stdout, stderr)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"the source's own credentials first", []string{"--source-url", src, "--source-user", "123456", "--source-password", "glc_write", "--user", "123456", "--password", "glc_read"},
			"lacks the metrics:read scope for this stack (a metrics:write token, for one, gets this answer): create an access policy token with metrics:read for the stack in Grafana Cloud under Administration > Users and access > Cloud access policies, and pass it with --source-password (or --password), with the stack's instance ID as --source-user (or --user)"},
		{"unknown token", []string{"--source-url", src, "--source-user", "123456", "--source-password", "glc_x"}, "HTTP 401: authentication error: invalid token: the source does not accept this token: for Grafana Cloud pass the stack's numeric instance ID with --source-user"},
		{"Grafana's URL as the source", []string{"--source-url", addr}, "--source-url " + addr + " is Grafana, not a Prometheus API: read through Grafana with --grafana-url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PROMRECOVER_SOURCE_URL", "")
			_, stderr, err := run(nil, append(tc.args, "--out", t.TempDir())...)
			if err == nil || !strings.Contains(userText(err), tc.want) {
				t.Fatalf("got %v, want %q\n%s", err, tc.want, stderr)
			}
		})
	}
	t.Setenv("PROMRECOVER_SOURCE_URL", "")
	if _, _, err := run(nil, "--out", t.TempDir()); err == nil || !strings.Contains(userText(err), "--source-url is required with --via prometheus") {
		t.Fatalf("no --source-url: %v", err)
	}
}
