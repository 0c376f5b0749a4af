package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/doctor"
	"github.com/promrecover/promrecover/internal/exitcode"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

const (
	doctorInstance = "123456"
	doctorRead     = "glc_doctor_read_0123456789"
)

// doctorSim serves the last hour, so that doctor's probe of a minute ago
// finds samples, through Grafana and its Grafana Cloud endpoint; remote
// read there answers 403 with the request's headers quoted, as a debug
// page would, so that the credentials reach an error body.
func doctorSim(t *testing.T) string {
	now := time.Now()
	cloud := &sim.Cloud{Instance: doctorInstance, Tokens: map[string][]string{doctorRead: {"metrics:read"}}}
	echo := faults.On(faults.Path(sim.CloudPrefix + "/api/v1/read")).Keep().Do(faults.Echo(http.StatusForbidden))
	addr, _ := simtest.Start(t, sim.Config{Series: gen.DemoSeries(now.Add(-time.Hour), now, 1), Cloud: cloud, Tokens: []string{testToken}}, echo)
	return addr
}

// noSecrets fails when any credential, or its basic-auth form, is in out.
func noSecrets(t *testing.T, out string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(out, s) || strings.Contains(out, base64.StdEncoding.EncodeToString([]byte(doctorInstance+":"+s))) {
			t.Errorf("a secret in the output:\n%s", out)
		}
	}
}

func TestDoctorTable(t *testing.T) {
	addr := doctorSim(t)
	t.Run("every door", func(t *testing.T) {
		stdout, stderr, err := runCLI(t, "doctor", "--grafana-url", addr, "--token", testToken,
			"--source-url", addr+sim.CloudPrefix, "--source-user", doctorInstance, "--source-password", doctorRead)
		if err != nil {
			t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
		}
		for _, want := range []string{
			"DOOR         STATE    STATUS  MESSAGE\ngrafana      works    -       Grafana 12.0.0-sim answers",
			"\nds           works    -       ", "\nproxy        works    -       ", "\nprometheus   works    -       ",
			"\nremote-read  refused  403     POST " + addr + sim.CloudPrefix + "/api/v1/read: HTTP 403",
			"fix: the source refused the credentials",
			"The best door is prometheus. Recover through it with:\n  promrecover recover --via prometheus --source-url " + addr + sim.CloudPrefix +
				` --source-user 123456 --source-password "$PROMRECOVER_SOURCE_PASSWORD" --from START --out DATA_DIR` + "\n",
		} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, stdout)
			}
		}
		noSecrets(t, stdout+stderr, testToken, doctorRead)
		if !strings.Contains(stdout, "[redacted]") {
			t.Errorf("the echoed credentials are not shown redacted:\n%s", stdout)
		}
	})
	t.Run("through Grafana alone", func(t *testing.T) {
		stdout, stderr, err := runCLI(t, "doctor", "--grafana-url", addr, "--token", testToken, "--match", `{job="api"}`)
		want := `promrecover recover --grafana-url ` + addr + ` --datasource grafanacloud-prom --via proxy --token "$GRAFANA_TOKEN" --match '{job="api"}' --from START --out DATA_DIR`
		if err != nil || !strings.Contains(stdout, want) || !strings.Contains(stdout, "prometheus   not-tried  -       no source URL given") {
			t.Fatalf("%v: stdout lacks %q:\n%s\n%s", err, want, stdout, stderr)
		}
		noSecrets(t, stdout+stderr, testToken)
	})
}

// With no door returning samples doctor exits 1, still printing every
// row; an access policy token given as Grafana's --token is neither sent
// to Grafana nor taken for the source.
func TestDoctorNoDoor(t *testing.T) {
	addr := doctorSim(t)
	stdout, stderr, err := runCLI(t, "doctor", "--grafana-url", addr, "--token", doctorRead, "--source-url", addr+sim.CloudPrefix)
	if exitcode.Of(err) != exitcode.Failed || !strings.Contains(err.Error(), "no door returned samples") {
		t.Fatalf("err %v (exit %d), want exit 1\n%s", err, exitcode.Of(err), stdout)
	}
	for _, want := range []string{
		"credentials  refused    -       not sent: the token is a Grafana Cloud access-policy token",
		"fix: a glc_ token opens Grafana Cloud's Prometheus endpoint, not Grafana: give it as --source-password",
		"prometheus   refused    401     asking the source: HTTP 401: authentication error: invalid token: the source wants credentials",
		"fix: give the source's credentials: --source-user and --source-password",
		"\nNo door returned samples.\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	noSecrets(t, stdout+stderr, doctorRead)
}

func TestDoctorJSON(t *testing.T) {
	addr := doctorSim(t)
	t.Setenv("PROMRECOVER_SOURCE_PASSWORD", doctorRead)
	stdout, stderr, err := runCLI(t, "doctor", "--grafana-url", addr, "--token", testToken,
		"--source-url", addr+sim.CloudPrefix, "--source-user", doctorInstance, "--format", "json", "-q")
	if err != nil || stderr != "" {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var got struct {
		Rows []struct {
			Door, State, Message, Fix string
			Status, Series, Samples   int
		}
		Best, Recommended, Selector string
		From, To                    time.Time
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(got.Rows) != 8 || got.Best != "prometheus" || !strings.Contains(got.Recommended, `--source-password "$PROMRECOVER_SOURCE_PASSWORD"`) ||
		got.Selector != "up" || got.To.Sub(got.From) != time.Minute {
		t.Fatalf("%+v", got)
	}
	for _, r := range got.Rows {
		if (r.Door == "ds" || r.Door == "prometheus") && (r.State != "works" || r.Samples == 0 || r.Series == 0) {
			t.Errorf("%+v", r)
		}
		if r.Door == "remote-read" && (r.State != "refused" || r.Status != 403 || r.Fix == "") {
			t.Errorf("%+v", r)
		}
	}
	noSecrets(t, stdout, testToken, doctorRead)
}

// What cannot be asked is refused with exit status 2 before anything is
// sent.
func TestDoctorBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "yaml"}, `--format "yaml": use table or json`},
		{[]string{"--match", "up{"}, `--match "up{" is not a series selector`},
		{[]string{"--source-url", "prometheus:9090"}, `--source-url "prometheus:9090" is not an http(s) URL`},
	} {
		_, _, err := runCLI(t, append([]string{"doctor"}, tc.args...)...)
		if exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v (exit %d), want exit 2 with %q", tc.args, err, exitcode.Of(err), tc.want)
		}
	}
}

// TestEveryDoctorFixHasItsWords: every fix doctor may name is worded, and
// names only flags doctor has.
func TestEveryDoctorFixHasItsWords(t *testing.T) {
	cmd := newDoctorCmd(nil)
	flag := regexp.MustCompile(`--([a-z][a-z0-9-]*)`)
	for _, f := range doctor.Fixes {
		text := doctorFixes[f]
		if text == "" {
			t.Errorf("no words for %s", f)
		}
		for _, m := range flag.FindAllStringSubmatch(text, -1) {
			if m[1] != "via" && cmd.Flags().Lookup(m[1]) == nil {
				t.Errorf("%s: %q names --%s, which doctor does not have", f, text, m[1])
			}
		}
	}
	if len(doctorFixes) != len(doctor.Fixes) {
		t.Errorf("%d words for %d fixes", len(doctorFixes), len(doctor.Fixes))
	}
}
