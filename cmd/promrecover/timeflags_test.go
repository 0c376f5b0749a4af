package main

// The time flags as users give them: Grafana's URLs carry milliseconds and
// now-6h, and a mistyped unit makes a time tens of thousands of years off,
// which must be refused before anything is read or written.

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/internal/exitcode"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// TestTimeFlagsAsGrafanaCarriesThem: milliseconds, and the from= and to= of
// a pasted Grafana URL, recover the range they name, and the log says how
// each was read.
func TestTimeFlagsAsGrafanaCarriesThem(t *testing.T) {
	dashboard := "https://example.grafana.net/d/abc/node?orgId=1&" + url.Values{"from": {ms(badFrom)}, "to": {ms(badTo)}}.Encode()
	cases := []struct {
		name     string
		from, to string
		notes    []string
	}{
		{"milliseconds", ms(badFrom), ms(badTo), []string{
			"--from 1754186400000 read as milliseconds: 2025-08-03T02:00:00Z",
			"--to 1754193600000 read as milliseconds: 2025-08-03T04:00:00Z"}},
		{"a pasted Grafana URL", dashboard, dashboard, []string{
			"--from: Grafana's from=1754186400000 read as milliseconds: 2025-08-03T02:00:00Z",
			"--to: Grafana's to=1754193600000 read as milliseconds: 2025-08-03T04:00:00Z"}},
		{"pasted from= and to=", "from=" + ms(badFrom), "&to=" + badTo.Format(time.RFC3339), []string{
			"--from: Grafana's from=1754186400000 read as milliseconds: 2025-08-03T02:00:00Z",
			"--to: Grafana's to=2025-08-03T04:00:00Z: 2025-08-03T04:00:00Z"}},
	}
	data := gen.DemoSeries(dataStart, dataEnd, 1)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
			out := t.TempDir()
			stdout, stderr, err := runCLI(t, "recover", "--grafana-url", u, "--token", testToken, "--datasource", "grafanacloud-prom",
				"--from", tc.from, "--to", tc.to, "--out", out)
			if err != nil {
				t.Fatalf("recover failed: %v\n%s\n%s", err, stdout, stderr)
			}
			if have := blockWindows(t, out); len(have) != 1 || !have[badFrom.UnixMilli()] {
				t.Errorf("want the one block of %s, have %v", badFrom, have)
			}
			for _, n := range tc.notes {
				if !strings.Contains(stderr, n) {
					t.Errorf("the log does not say %q:\n%s", n, stderr)
				}
			}
		})
	}
}

// farOff are times outside 1990..2200, each given to --from with a --to two
// hours later in the same unit: each must be refused with the fix.
var farOff = []struct{ from, to, want string }{
	{"9999999999", "10000007200", `--from: "9999999999" read as unix seconds is after 2200-01-01`},
	{"1754186400000000", "1754193600000000", `--from: "1754186400000000" read as unix seconds is after 2200-01-01`},
	{"0", "7200", `--from: "0" read as unix seconds is before 1990-01-01`},
	{"1980-01-01T00:00:00Z", "1980-01-01T02:00:00Z", `--from: "1980-01-01T00:00:00Z" read as RFC 3339 is before 1990-01-01`},
	{"now-200y", "now-199y", `--from: "now-200y" read as now minus a duration is before 1990-01-01`},
}

const farOffFix = "give a unix time in seconds or milliseconds, RFC 3339, or now-6h"

// TestFarOffTimesAreRefused: every command that takes --from refuses a time
// outside 1990..2200 before it reads or writes anything.
func TestFarOffTimesAreRefused(t *testing.T) {
	dir, files := t.TempDir(), t.TempDir()
	against := filepath.Join(files, "lost.jsonl")
	if err := os.WriteFile(against, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	conn := []string{"--grafana-url", "http://127.0.0.1:1", "--token", testToken, "--datasource", "grafanacloud-prom", "--retries", "0"}
	commands := map[string][]string{
		"recover": append([]string{"recover", "--out", dir}, conn...),
		"export":  append([]string{"export", "--out", filepath.Join(files, "x.jsonl"), "--format", "jsonl"}, conn...),
		"plan":    append([]string{"plan"}, conn...),
		"gaps":    {"gaps", "--data", dir},
		"verify":  {"verify", filepath.Join(dir, "no-such-dir"), "--against", against},
	}
	for name, args := range commands {
		for _, f := range farOff {
			t.Run(name+" "+f.from, func(t *testing.T) {
				stdout, stderr, err := runCLI(t, append(args, "--from", f.from, "--to", f.to)...)
				if err == nil || !strings.Contains(userText(err), f.want) || !strings.Contains(userText(err), farOffFix) {
					t.Fatalf("error %v, want one saying %q and %q\n%s\n%s", err, f.want, farOffFix, stdout, stderr)
				}
				// Exit 2, as for other bad input.
				if code := exitcode.Of(err); code != exitcode.Usage {
					t.Errorf("exit code %d, want 2 as for other bad input", code)
				}
			})
		}
	}
	if _, err := os.Stat(filepath.Join(files, "x.jsonl")); err == nil {
		t.Error("export wrote its output")
	}
}

// TestFarOffTimesLeaveTheResumeState: the resume state of a complete
// recovery stays as it is when the next command's times are far off, and
// nothing reaches Grafana.
func TestFarOffTimesLeaveTheResumeState(t *testing.T) {
	counter := faults.On(faults.Query)
	u, _ := simtest.Start(t, sim.Config{Series: gen.DemoSeries(dataStart, dataEnd, 1), Tokens: []string{testToken}}, counter)
	out := t.TempDir()
	args := func(from, to string) []string {
		return []string{"recover", "--grafana-url", u, "--token", testToken, "--datasource", "grafanacloud-prom", "--from", from, "--to", to, "--out", out}
	}
	if stdout, stderr, err := runCLI(t, args(badFrom.Format(time.RFC3339), badTo.Format(time.RFC3339))...); err != nil {
		t.Fatalf("the first recovery failed: %v\n%s\n%s", err, stdout, stderr)
	}
	statePath := filepath.Join(out, blocks.StateFileName)
	before, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	queries := counter.Count()
	for _, f := range append(farOff, struct{ from, to, want string }{ms(badFrom) + "000", ms(badTo) + "000", "after 2200-01-01"}) {
		if _, _, err := runCLI(t, args(f.from, f.to)...); err == nil || !strings.Contains(userText(err), f.want) {
			t.Errorf("--from %s --to %s: error %v, want one saying %q", f.from, f.to, err, f.want)
		}
	}
	after, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("the resume state was replaced:\nbefore: %s\nafter:  %s", before, after)
	}
	if n := counter.Count() - queries; n != 0 {
		t.Errorf("%d queries reached Grafana", n)
	}
}
