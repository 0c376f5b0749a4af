package main

// Session faults in the middle of a recover run, through the CLI: Grafana
// asks for a rotation, or the session is revoked, while four workers are
// fetching.

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// afterQueries runs do once, right after the nth /api/ds/query request has
// been answered, and counts the API requests that arrive from then on.
type afterQueries struct {
	rules  []*faults.Rule
	fired  atomic.Bool
	before atomic.Int64 // API requests before do
	api    *faults.Rule
}

func newAfterQueries(n int, do func()) *afterQueries {
	a := &afterQueries{api: faults.On(faults.PathPrefix("/api/"))}
	a.rules = []*faults.Rule{a.api, faults.On(faults.Query).Then(n, func() {
		// Counting starts just before, so the bound below errs on the
		// strict side.
		a.before.Store(int64(a.api.Count()))
		a.fired.Store(true)
		do()
	})}
	return a
}

// after is how many API requests arrived since do.
func (a *afterQueries) after() int64 { return int64(a.api.Count()) - a.before.Load() }

// The session run: 8 windows of two selectors each, 16 queries, four at a
// time.
var (
	sessionFrom  = dataStart
	sessionTo    = dataStart.Add(16 * time.Hour)
	sessionMatch = []string{`{job="node"}`, `{job="sensors"}`}
	sessionData  = gen.DemoSeries(sessionFrom, sessionTo, 5)
)

const sessionConcurrency = 4

func sessionArgs(url, session, out string) []string {
	args := []string{"recover", "--grafana-url", url, "--session", session, "--datasource", "grafanacloud-prom",
		"--from", sessionFrom.Format(time.RFC3339), "--to", sessionTo.Format(time.RFC3339), "--out", out,
		"--concurrency", strconv.Itoa(sessionConcurrency)}
	for _, m := range sessionMatch {
		args = append(args, "--match", m)
	}
	return args
}

// checkWindowBlock checks that the blocks in out hold exactly the source's
// samples of w, or nothing of it when installed is false.
func checkWindowBlock(t *testing.T, out string, w extract.Window, installed bool) {
	t.Helper()
	got, err := blocks.ReadSeries(out, w.Start, w.End)
	if err != nil {
		t.Fatal(err)
	}
	if !installed {
		if len(got) > 0 {
			t.Fatalf("window %s was not recovered, yet blocks hold %d of its series", w, len(got))
		}
		return
	}
	want := expected(sessionData, time.UnixMilli(w.Start), time.UnixMilli(w.End), 0, sessionMatch)
	if len(want) == 0 {
		t.Fatalf("window %s: the test selects no data", w)
	}
	if err := extract.Compare(want, got); err != nil {
		t.Fatalf("window %s: the blocks hold other data than the source: %v", w, err)
	}
}

func sessionWindows(t *testing.T) []extract.Window {
	t.Helper()
	p, err := extract.NewPlan(sessionFrom, sessionTo, 0, sessionMatch)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Windows) != 8 || len(p.Selectors) != 2 {
		t.Fatalf("plan of %d windows and %d selectors; the test wants 8 and 2", len(p.Windows), len(p.Selectors))
	}
	return p.Windows
}

func noStaging(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(d.Name(), ".tmp-for-creation") {
			t.Errorf("staging directory %s left behind", path)
		}
		return nil
	})
}

func TestSessionRotatedMidRun(t *testing.T) {
	windows := sessionWindows(t)
	srv := sim.New(sim.Config{Series: sessionData})
	session := srv.Login("admin")
	// Ten minutes pass after the third query: every later request is
	// refused with session.token.rotate until one worker rotates.
	a := newAfterQueries(3, func() { srv.AgeSessions(11 * time.Minute) })
	out := t.TempDir()
	stdout, stderr, err := runCLI(t, sessionArgs(simtest.Serve(t, srv, a.rules...), session, out)...)
	if err != nil {
		t.Fatalf("recover: %v\n%s\n%s", err, stdout, stderr)
	}
	if !a.fired.Load() {
		t.Fatal("the sessions were never aged")
	}
	if !strings.Contains(stdout, "session rotations 1,") || srv.Counters().Rotations != 1 {
		t.Fatalf("want exactly one rotation, the server saw %d; summary:\n%s", srv.Counters().Rotations, stdout)
	}
	if !strings.Contains(stdout, "recovered 8 of 8 windows") {
		t.Fatalf("not every window was recovered:\n%s", stdout)
	}
	for _, w := range windows {
		checkWindowBlock(t, out, w, true)
	}
	if have := blockWindows(t, out); len(have) != len(windows) {
		t.Fatalf("want one block a window, have %v", have)
	}
	noStaging(t, out)
}

// TestSessionRotatedEveryFewRequests runs four workers against a Grafana
// that wants the session rotated every two calls: requests resent after a
// rotation meet further demands, and the run rotates until they pass.
func TestSessionRotatedEveryFewRequests(t *testing.T) {
	windows := sessionWindows(t)
	url, srv := simtest.Start(t, sim.Config{Series: sessionData, RotateEvery: 2})
	out := t.TempDir()
	stdout, stderr, err := runCLI(t, sessionArgs(url, srv.Login("admin"), out)...)
	if err != nil {
		t.Fatalf("recover: %v\n%s\n%s", err, stdout, stderr)
	}
	if rot := srv.Counters().Rotations; rot < 3 || !strings.Contains(stdout, fmt.Sprintf("session rotations %d,", rot)) {
		t.Fatalf("the server saw %d rotations (want one every two calls, all counted); summary:\n%s", rot, stdout)
	}
	if !strings.Contains(stdout, "recovered 8 of 8 windows") {
		t.Fatalf("not every window was recovered:\n%s", stdout)
	}
	for _, w := range windows {
		checkWindowBlock(t, out, w, true)
	}
}

var notRecoveredLine = regexp.MustCompile(`(?m)^NOT RECOVERED (\S+Z\.\.\S+Z):`)

func TestSessionRevokedMidRun(t *testing.T) {
	windows := sessionWindows(t)
	srv := sim.New(sim.Config{Series: sessionData})
	session := srv.Login("admin")
	// Signing out everywhere after the second request. A window's selectors
	// share one request, so the run sends 8; with at most 4 in flight, at
	// least 3 of them meet the revoked session whatever the timing.
	a := newAfterQueries(2, srv.RevokeSessions)
	out := t.TempDir()
	stdout, stderr, err := runCLI(t, sessionArgs(simtest.Serve(t, srv, a.rules...), session, out)...)
	if err == nil {
		t.Fatalf("recover succeeded with a revoked session:\n%s\n%s", stdout, stderr)
	}
	if !a.fired.Load() {
		t.Fatal("the sessions were never revoked")
	}
	if !strings.Contains(err.Error(), "log in again") || !strings.Contains(err.Error(), "--session") {
		t.Fatalf("the error does not say to log in again and pass the new cookie: %v", err)
	}
	// Every worker may have one request on the way when the first refusal
	// comes back; a retry, a rotation attempt or a new unit would be more.
	if n := a.after(); n > sessionConcurrency+2 {
		t.Fatalf("%d requests reached Grafana after the revocation; want at most %d (no retries of a refused session)", n, sessionConcurrency+2)
	}
	if srv.Counters().Rotations != 0 {
		t.Fatalf("a revoked session was rotated %d times", srv.Counters().Rotations)
	}

	// Every window is accounted for: installed whole, or reported and absent.
	failed := map[string]bool{}
	for _, m := range notRecoveredLine.FindAllStringSubmatch(stdout, -1) {
		failed[m[1]] = true
	}
	if len(failed) == 0 {
		t.Fatalf("the summary names no window as not recovered:\n%s", stdout)
	}
	for _, w := range windows {
		checkWindowBlock(t, out, w, !failed[w.String()])
	}
	if have := blockWindows(t, out); len(have) != len(windows)-len(failed) {
		t.Fatalf("%d blocks for %d recovered windows: %v\n%s", len(have), len(windows)-len(failed), have, stdout)
	}
	noStaging(t, out)
	t.Logf("%d of 8 windows recovered before the revocation; %d requests after it", len(windows)-len(failed), a.after())
}
