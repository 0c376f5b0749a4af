package main

// Bad input to recover, through the CLI: each case must end with one clear
// message that names the problem and the fix, a non-zero exit, and --out
// exactly as it was.

import (
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/fstest"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// One window of the demo data: a case that should fetch sends one query.
var (
	badFrom = dataStart.Add(2 * time.Hour)
	badTo   = dataStart.Add(4 * time.Hour)
)

// replaceAnswer answers every /api/ds/query with body and 200 OK, as a
// Grafana (or a proxy) that sends frames promrecover cannot read would.
func replaceAnswer(body string) *faults.Rule {
	return faults.On(faults.Fetch).Do(faults.Answer(http.StatusOK, body, "Content-Type", "application/json"))
}

// badFrame is a /api/ds/query answer holding one frame with the given
// fields and data, shaped like promlib's.
func badFrame(fields, data string) string {
	return `{"results":{"A":{"status":200,"frames":[{"schema":{"refId":"A","meta":{"type":"timeseries-multi","typeVersion":[0,1],` +
		`"custom":{"resultType":"matrix"},"executedQueryString":"Expr: up\nStep: 1s"},"fields":[` + fields + `]},"data":` + data + `}]}}}`
}

var (
	badT0          = badFrom.UnixMilli() + 1000
	badTimes       = fmt.Sprintf("[%d,%d,%d]", badT0, badT0+15000, badT0+30000)
	badTimeField   = `{"name":"Time","type":"time","typeInfo":{"frame":"time.Time"},"config":{"interval":15000}}`
	badValueField  = `{"name":"up","type":"number","typeInfo":{"frame":"float64"},"labels":{"__name__":"up","instance":"a:9100","job":"node"}}`
	badStringField = `{"name":"up","type":"string","typeInfo":{"frame":"string"},"labels":{"__name__":"up","instance":"a:9100","job":"node"}}`
)

// listTree lists everything under root with its type and size, so that any
// change (a new file, a removed one, one rewritten) shows.
func listTree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && path == root {
				return nil
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		out = append(out, fmt.Sprintf("%s %s %d", rel, info.Mode().Type(), info.Size()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// badEnv is one case's world: the server's config, middleware in front of
// it, the flags, and the directories.
type badEnv struct {
	cfg   sim.Config
	rules []*faults.Rule    // in front of the server
	flags map[string]string // flag -> value; "" removes the flag
	srv   *sim.Server
	root  string // holds out; listed before and after
	out   string
}

// badPassword is admin's password in TestBadInput.
const badPassword = "s3cret-pass"

// badInputCase is one of TestBadInput's mistakes and what it must say.
type badInputCase struct {
	name string
	// before runs before the server starts (config, middleware, --out);
	// after runs once it is up (sessions).
	before, after func(t *testing.T, e *badEnv)
	flags         map[string]string
	want          []string // in one line: the error, or a NOT RECOVERED line of the summary
	queries       int64    // /api/ds/query requests expected
}

var badInputCases = []badInputCase{
	{name: "--from after --to",
		flags: map[string]string{"--from": badTo.Format(time.RFC3339), "--to": badFrom.Format(time.RFC3339)},
		want:  []string{"--from (2025-08-03T04:00:00Z) must be before --to (2025-08-03T02:00:00Z)"}},
	{name: "--from equal to --to",
		flags: map[string]string{"--to": badFrom.Format(time.RFC3339)},
		want:  []string{"--from", "must be before --to"}},
	{name: "unparsable --from",
		flags: map[string]string{"--from": "yesterday"},
		want:  []string{`--from: cannot read "yesterday" as a time`, "use RFC 3339 (2025-08-03T02:00:00Z), unix seconds (1754186400) or now-6h"}},
	{name: "unparsable --to",
		flags: map[string]string{"--to": "2025-08-03 04:00"},
		want:  []string{`--to: cannot read "2025-08-03 04:00" as a time`, "use RFC 3339"}},
	{name: "unparsable relative --from",
		flags: map[string]string{"--from": "now-6 hours"},
		want:  []string{`--from: "now-6 hours"`, "now-6h"}},
	{name: "--from in microseconds",
		flags: map[string]string{"--from": ms(badFrom) + "000", "--to": ms(badTo) + "000"},
		want:  []string{`--from: "1754186400000000" read as unix seconds is after 2200-01-01`, "give a unix time in seconds or milliseconds, RFC 3339, or now-6h"}},
	{name: "--from before 1990",
		flags: map[string]string{"--from": "0", "--to": "7200"},
		want:  []string{`--from: "0" read as unix seconds is before 1990-01-01`, "give a unix time in seconds or milliseconds, RFC 3339, or now-6h"}},
	{name: "unknown datasource",
		flags: map[string]string{"--datasource": "grafanacloud-prometheus"},
		want:  []string{`datasource "grafanacloud-prometheus" not found by uid or name`, "give --datasource one of the uids (or names) 'promrecover datasources' lists: grafanacloud-prom"}},
	{name: "wrong token",
		flags: map[string]string{"--token": testToken + "-wrong"},
		want:  []string{"HTTP 401", "Grafana refused the token", "use a service account token (glsa_...)"}},
	{name: "wrong password",
		flags: map[string]string{"--token": "", "--user": "admin", "--password": badPassword + "-wrong"},
		want:  []string{"HTTP 401", "Grafana refused the user and password", "use a service account token"}},
	{name: "revoked session",
		after: func(t *testing.T, e *badEnv) {
			e.flags["--token"] = ""
			e.flags["--session"] = e.srv.Login("admin")
			e.srv.RevokeSessions()
		},
		want: []string{"HTTP 401", "Grafana refused the session cookie", "log in again to Grafana in a browser, copy the value of the new grafana_session cookie", "--session or GRAFANA_SESSION"}},
	{name: "the datasource refused Grafana",
		before: func(t *testing.T, e *badEnv) {
			e.cfg.Intercept = func(sim.PromCall) *sim.PromReply {
				return &sim.PromReply{Status: http.StatusUnauthorized, Body: `{"status":"error","errorType":"unauthorized","error":"authentication error: invalid token"}`}
			}
		},
		want:    []string{"the datasource refused Grafana's credentials"},
		queries: 1},
	{name: "nothing listens at --grafana-url",
		after: func(t *testing.T, e *badEnv) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			e.flags["--grafana-url"] = "http://" + l.Addr().String()
			l.Close()
		},
		flags: map[string]string{"--retries": "1"},
		want:  []string{"connection refused", "check the host and port of --grafana-url", "that this machine can reach it"}},
	{name: "--out does not exist",
		before: func(t *testing.T, e *badEnv) { e.out = filepath.Join(e.root, "prometheus-data") },
		want:   []string{"prometheus-data: no such directory", "create it or point --out at the Prometheus data directory"}},
	{name: "--out not writable",
		before: func(t *testing.T, e *badEnv) { fstest.Unwritable(t, e.out) },
		want:   []string{"cannot write there", "run as a user who can write to the Prometheus data directory"}},
	{name: "--out not a Prometheus data directory",
		before: func(t *testing.T, e *badEnv) {
			if err := os.WriteFile(filepath.Join(e.out, "docker-compose.yml"), []byte("services: {}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		want: []string{"does not look like a Prometheus data directory", "docker-compose.yml", "point --out at an empty directory or at the Prometheus data directory"}},
	{name: "frame with a wrong field type",
		before:  answer(badFrame(badTimeField+","+badStringField, `{"values":[`+badTimes+`,["1","1","1"]]}`)),
		want:    []string{"NOT RECOVERED", `refId "A": frame 0: field 1 ("up"): type "string" in a time series frame`},
		queries: 1},
	{name: "frame with mismatched lengths",
		before:  answer(badFrame(badTimeField+","+badValueField, `{"values":[`+badTimes+`,[1,1]]}`)),
		want:    []string{"NOT RECOVERED", `refId "A": frame 0: field 1 ("up"): 2 values for 3 timestamps`},
		queries: 1},
	{name: "frame with an entity index out of range",
		before:  answer(badFrame(badTimeField+","+badValueField, `{"values":[`+badTimes+`,[1,null,1]],"entities":[null,{"NaN":[7]}]}`)),
		want:    []string{"NOT RECOVERED", `refId "A": frame 0: field 1 ("up"): data.entities NaN row 7 is out of range: the frame has 3 rows`},
		queries: 1},
	{name: "frame without a Time field",
		before:  answer(badFrame(badValueField, `{"values":[[1,1,1]]}`)),
		want:    []string{"NOT RECOVERED", `refId "A": frame 0: no time field for its 1 number fields`},
		queries: 1},
	// Labels no block holds as they came: refused, the series named, not
	// retried; a value over 16 MiB used to panic, leaving no summary and
	// the staging directory behind.
	{name: "a label value over 16 MiB",
		before: func(t *testing.T, e *badEnv) {
			labelAnswer(`"__name__":"up","big":"`+strings.Repeat("x", extract.MaxLabelBytes+1)+`"`)(t, e)
		},
		want:    []string{"NOT RECOVERED", `series up{"big"="xxxx`, `the value of label "big" is 16777217 bytes (16.0 MiB) long, over the 16 MiB a TSDB label can hold`},
		queries: 1},
	{name: "a label value not UTF-8",
		before:  labelAnswer(`"__name__":"up","job":"a` + "\xff" + `"`),
		want:    []string{"NOT RECOVERED", `series up{"job"="a\xff"}: label "job" is not valid UTF-8`},
		queries: 1},
	{name: "an empty label name",
		before:  labelAnswer(`"__name__":"up","":"a"`),
		want:    []string{"NOT RECOVERED", `series up{""="a"}: a label has an empty name`},
		queries: 1},
	{name: "an empty metric name",
		before:  labelAnswer(`"__name__":"","job":"a"`),
		want:    []string{"NOT RECOVERED", `the metric name (__name__) is empty`},
		queries: 1},
	// A series with more points than its query's range holds at its step
	// is refused while decoded, before it takes more memory.
	{name: "more rows than the range holds",
		before: func(t *testing.T, e *badEnv) {
			times := strings.TrimSuffix(strings.Repeat(fmt.Sprint(badT0)+",", 200), ",")
			answer(badFrame(badTimeField+","+badValueField, `{"values":[[`+times+`],[`+strings.TrimSuffix(strings.Repeat("1,", 200), ",")+`]]}`))(t, e)
		},
		flags:   map[string]string{"--step": "1m"},
		want:    []string{"NOT RECOVERED", "more than 120 rows, the most a series of this query can have", "the answer repeats timestamps"},
		queries: 1},
	// The same through the datasource proxy, whose matrix was held whole.
	{name: "more points than the range holds, through the proxy",
		before: func(t *testing.T, e *badEnv) {
			values := strings.TrimSuffix(strings.Repeat(fmt.Sprintf(`[%d,"1"],`, badT0/1000), 200), ",")
			e.rules = append(e.rules, faults.On(faults.PathContains("/api/v1/query_range")).Do(faults.Answer(http.StatusOK,
				`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"node"},"values":[`+values+`]}]}}`,
				"Content-Type", "application/json")))
		},
		flags: map[string]string{"--step": "1m", "--via": "proxy"},
		want:  []string{"NOT RECOVERED", "decoding the answer to {__name__=~\".+\"}: more than 120 rows, the most a series of this query can have", "the answer repeats timestamps"}},
	{name: "truncated answer is retried",
		before: answer(badFrame(badTimeField+","+badValueField, `{"values":[`+badTimes+`,[1,1,1]]}`)[:150]),
		flags:  map[string]string{"--retries": "1"},
		// One retry allowed: two requests, then the window fails.
		want:    []string{"NOT RECOVERED", "unexpected EOF"},
		queries: 2},
}

func TestBadInput(t *testing.T) {
	for _, tc := range badInputCases {
		t.Run(tc.name, func(t *testing.T) {
			e := &badEnv{
				cfg:  sim.Config{Series: gen.DemoSeries(dataStart, dataEnd, 1), Tokens: []string{testToken}, Users: map[string]string{"admin": badPassword}},
				root: t.TempDir(),
				flags: map[string]string{
					"--datasource": "grafanacloud-prom", "--token": testToken,
					"--from": badFrom.Format(time.RFC3339), "--to": badTo.Format(time.RFC3339),
				},
			}
			e.out = filepath.Join(e.root, "data")
			if err := os.Mkdir(e.out, 0o755); err != nil {
				t.Fatal(err)
			}
			// A Prometheus data directory, with its WAL.
			if err := os.MkdirAll(filepath.Join(e.out, "wal"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(e.out, "wal", "00000000"), []byte("wal segment"), 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.before != nil {
				tc.before(t, e)
			}
			counter := faults.On(faults.Fetch)
			e.flags["--grafana-url"], e.srv = simtest.Start(t, e.cfg, append([]*faults.Rule{counter}, e.rules...)...)
			e.flags["--out"] = e.out
			for k, v := range tc.flags {
				e.flags[k] = v
			}
			if tc.after != nil {
				tc.after(t, e)
			}
			args := []string{"recover"}
			for _, k := range slices.Sorted(maps.Keys(e.flags)) {
				if v := e.flags[k]; v != "" {
					args = append(args, k, v)
				}
			}

			before := listTree(t, e.root)
			stdout, stderr, err := runCLI(t, args...)
			after := listTree(t, e.root)

			if err == nil {
				t.Fatalf("recover succeeded\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("the error is more than one line:\n%s", msg)
			}
			if strings.Contains(stdout+stderr, "Usage:") {
				t.Errorf("the usage was printed with the error:\n%s%s", stdout, stderr)
			}
			// The message: the error itself, or for a window that failed,
			// its NOT RECOVERED line in the summary (the error then says
			// how many windows were not recovered).
			lines := []string{msg}
			for _, l := range strings.Split(stdout, "\n") {
				if strings.HasPrefix(l, "NOT RECOVERED") {
					lines = append(lines, l)
				}
			}
			if !slices.ContainsFunc(lines, func(l string) bool {
				for _, w := range tc.want {
					if !strings.Contains(l, w) {
						return false
					}
				}
				return true
			}) {
				t.Errorf("no single message says all of %q; the error:\n%s\nstdout:\n%s\nstderr:\n%s", tc.want, msg, stdout, stderr)
			}
			if len(lines) > 1 && !strings.Contains(msg, "1 of 1 windows were not recovered") {
				t.Errorf("a window failed but the error does not say so: %s", msg)
			}
			if got := int64(counter.Count()); got != tc.queries {
				t.Errorf("%d queries reached Grafana, want %d", got, tc.queries)
			}
			if !slices.Equal(before, after) {
				t.Errorf("the run changed what is in and around --out:\nbefore: %q\nafter:  %q", before, after)
			}
			for _, p := range after {
				if strings.Contains(p, ".tmp-for-creation") {
					t.Errorf("staging left behind: %s", p)
				}
			}
			for _, secret := range []string{testToken + "-wrong", badPassword, e.flags["--session"]} {
				if secret != "" && strings.Contains(stdout+stderr+msg, secret) {
					t.Errorf("a secret was printed")
				}
			}
		})
	}
}

// labelAnswer answers with one series of the labels lbls (JSON members),
// made when the case runs.
func labelAnswer(lbls string) func(t *testing.T, e *badEnv) {
	return func(t *testing.T, e *badEnv) {
		field := `{"name":"up","type":"number","typeInfo":{"frame":"float64"},"labels":{` + lbls + `}}`
		answer(badFrame(badTimeField+","+field, `{"values":[`+badTimes+`,[1,1,1]]}`))(t, e)
	}
}

// answer makes a case's server answer every query with body.
func answer(body string) func(t *testing.T, e *badEnv) {
	return func(t *testing.T, e *badEnv) {
		e.rules = append(e.rules, replaceAnswer(body))
	}
}

// TestCorrectedCommandAfterBadInput: a run that failed on bad input and
// installed nothing must not stand in the way of the corrected command (a
// resume state of the mistyped plan would make it demand --restart).
func TestCorrectedCommandAfterBadInput(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 1)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	out := t.TempDir()
	args := func(ds string) []string {
		return []string{"recover", "--grafana-url", url, "--token", testToken, "--datasource", ds,
			"--from", badFrom.Format(time.RFC3339), "--to", badTo.Format(time.RFC3339), "--out", out}
	}
	if _, _, err := runCLI(t, args("grafanacloud-prometheus")...); err == nil {
		t.Fatal("a datasource that does not exist was accepted")
	}
	stdout, stderr, err := runCLI(t, args("grafanacloud-prom")...)
	if err != nil {
		t.Fatalf("the corrected command failed: %v\n%s\n%s", err, stdout, stderr)
	}
	if have := blockWindows(t, out); len(have) != 1 {
		t.Fatalf("want one block, have %v", have)
	}
}
