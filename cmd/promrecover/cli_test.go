package main

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/grafana/sim"
)

func TestDatasourcesListsPrometheusOnes(t *testing.T) {
	hs := httptest.NewServer(sim.New(sim.Config{Tokens: []string{testToken}, Datasources: []sim.Datasource{
		{ID: 1, UID: "grafanacloud-prom", Name: "grafanacloud-example-prom", Type: "prometheus", URL: "https://prometheus-prod-01.grafana.net/api/prom"},
		{ID: 2, UID: "logs", Name: "grafanacloud-example-logs", Type: "loki", URL: "https://logs-prod.grafana.net"},
	}}))
	defer hs.Close()
	t.Setenv("GRAFANA_TOKEN", testToken) // from the environment, as the README advises
	cases := []struct {
		args      []string
		want, not []string
	}{
		{[]string{"datasources", "--grafana-url", hs.URL},
			[]string{"UID", "grafanacloud-prom", "grafanacloud-example-prom", "prometheus", "https://prometheus-prod-01.grafana.net/api/prom"}, []string{"loki"}},
		{[]string{"datasources", "--grafana-url", hs.URL, "--all"},
			[]string{"grafanacloud-prom", "logs", "loki"}, nil},
	}
	for _, tc := range cases {
		stdout, stderr, err := runCLI(t, tc.args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, stdout)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(stdout, n) {
				t.Errorf("%v: output has %q:\n%s", tc.args, n, stdout)
			}
		}
	}
}

// TestSecretsStayOutOfOutput runs failing and succeeding commands with every
// kind of credential and verbose logging, and looks for the secrets in all
// they print.
func TestSecretsStayOutOfOutput(t *testing.T) {
	const password = "pa55-w0rd-secret"
	srv := sim.New(sim.Config{Series: sim.DemoSeries(dataStart, dataEnd, 1), Tokens: []string{testToken}, Users: map[string]string{"admin": password}})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	session := srv.Login("admin")
	srv.AgeSessions(11 * time.Minute) // forces a rotation: the new cookie must not show either
	common := []string{"-v", "--grafana-url", hs.URL, "--from", dataStart.Add(time.Hour).Format(time.RFC3339), "--to", dataStart.Add(3 * time.Hour).Format(time.RFC3339)}
	cases := [][]string{
		{"recover", "--datasource", "grafanacloud-prom", "--out", t.TempDir(), "--session", session},
		{"recover", "--datasource", "grafanacloud-prom", "--out", t.TempDir(), "--token", testToken},
		{"export", "--datasource", "grafanacloud-prom", "--output", "-", "--user", "admin", "--password", password, "--match", "up"},
		{"recover", "--datasource", "grafanacloud-prom", "--out", t.TempDir(), "--token", testToken + "-wrong"},
		{"recover", "--datasource", "grafanacloud-prom", "--out", t.TempDir(), "--user", "admin", "--password", password + "-wrong"},
		{"recover", "--datasource", "no-such-datasource", "--out", t.TempDir(), "--token", testToken},
	}
	for _, args := range cases {
		stdout, stderr, err := runCLI(t, append(args, common...)...)
		all := stdout + stderr
		if err != nil {
			all += err.Error()
		}
		for _, secret := range []string{testToken, password, session} {
			if strings.Contains(all, secret) {
				t.Fatalf("%v printed a secret:\n%s", args[:2], all)
			}
		}
	}
}
