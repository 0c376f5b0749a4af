package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/relabel"
)

// The library tests assert the neutral texts; these assert what the user
// reads of them, which the library tests asserted before.
func TestUserText(t *testing.T) {
	dial := errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	_, relabelErr := relabel.Parse(nil, []string{"env="})
	_, planErr := extract.NewPlan(dataStart, dataStart, 0, nil)
	cases := []struct {
		err  error
		want string
	}{
		{relabelErr, `--set-label "env=": an empty value removes the label in Prometheus; use --drop-label env`},
		{planErr, "--from (2025-08-03T00:00:00Z) must be before --to (2025-08-03T00:00:00Z)"},
		{fmt.Errorf("GET /api/datasources: %w", extract.ParamErrorf("%w: no such host; check the spelling of the Grafana URL %s (the address you open Grafana at)", dial, "https://g")),
			"GET /api/datasources: dial tcp 127.0.0.1:1: connect: connection refused: no such host; check the spelling of --grafana-url https://g (the address you open Grafana at)"},
		{&extract.AbortError{Err: extract.ParamErrorf("%w; nothing answered there after every retry: check the host and port of the Grafana URL (the address you open Grafana at) and that this machine can reach it (a firewall; HTTPS_PROXY and NO_PROXY when a proxy is needed)", dial)},
			"check the host and port of --grafana-url (the address you open Grafana at; GRAFANA_URL when the flag is not given)"},
		{extract.ParamErrorf("%s; give as the datasource one of the uids (or names) the datasources list: %s", `datasource "nope" not found by uid or name`, "a (b)"),
			`datasource "nope" not found by uid or name; give --datasource one of the uids (or names) 'promrecover datasources' lists: a (b)`},
		// Nested: the outer wording still holds the inner's neutral text.
		{extract.ParamErrorf("the session is due: %w", extract.ParamErrorf("the resume state %s is not one this version of promrecover wrote (%v); move it away, or restart to start over", "s.json", nil)),
			"the session is due: the resume state s.json is not one this version of promrecover wrote (<nil>); move it away, or pass --restart to start over"},
	}
	for _, c := range cases {
		if got := userText(c.err); !strings.Contains(got, c.want) {
			t.Errorf("userText(%v) = %q, want it to hold %q", c.err, got, c.want)
		}
		if u := forUser(c.err); !errors.Is(u, c.err) {
			t.Errorf("forUser(%v) hides the library's error", c.err)
		}
	}
	if got, want := userReason("x; narrow the selector, or lower the most series a query may match so large selectors are sharded before fetching"), "x; narrow the selector with --match, or lower --max-series-per-query so large selectors are sharded before fetching"; got != want {
		t.Errorf("userReason = %q, want %q", got, want)
	}
}

// Each wording takes the library's arguments: the same verbs, in order.
func TestFlagWordingVerbs(t *testing.T) {
	verbs := regexp.MustCompile(`%[a-z]`)
	for neutral, cli := range flagWording {
		if a, b := strings.Join(verbs.FindAllString(neutral, -1), ""), strings.Join(verbs.FindAllString(cli, -1), ""); a != b {
			t.Errorf("%q takes %s, its wording %s", neutral, a, b)
		}
	}
}
