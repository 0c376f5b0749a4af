package main

// The check with the source's counts, through the CLI: a source that
// silently leaves part of an answer out, once or every time, over each
// --via; and no false alarm at the windows' edges, on either kind of
// range selector, with native histograms.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/exitcode"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/servers"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

var (
	ccFrom  = dataStart.Add(2 * time.Hour)
	ccTo    = dataStart.Add(8 * time.Hour)
	ccMatch = []string{`{job="api"}`, `up`}
	ccData  = gen.DemoSeries(dataStart, dataEnd, 11)
)

// ccVia is one way to the source: the flags that read through it, and
// what marks its fetch requests: a range selector ([...ms], URL-encoded in
// a form), and not the count requests, whose queries hold "_over_time(".
type ccVia struct {
	name  string
	fetch []faults.Match
	args  func(url string) []string
	// at matches the requests of a unit that ends at t.
	at func(t time.Time) faults.Match
}

var ccVias = []ccVia{
	{"ds", []faults.Match{faults.Query, faults.BodyContains(`ms]`), notCount}, func(url string) []string {
		return []string{"--via", "ds", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom"}
	}, func(t time.Time) faults.Match {
		return faults.BodyContains(`"to":"` + strconv.FormatInt(t.UnixMilli(), 10) + `"`)
	}},
	{"proxy", []faults.Match{faults.PathContains("/api/v1/query"), faults.BodyContains("ms%5D"), notCount}, func(url string) []string {
		return []string{"--via", "proxy", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom"}
	}, promAt},
	{"prometheus", []faults.Match{faults.PathPrefix(sim.CloudPrefix + "/api/v1/query"), faults.BodyContains("ms%5D"), notCount}, func(url string) []string {
		return []string{"--via", "prometheus", "--source-url", url + sim.CloudPrefix, "--source-user", "123456", "--source-password", "glc_read"}
	}, promAt},
	// Remote read asks [From, To): its query ends 1ms before the unit. Its
	// check at connecting asks of now.
	{"remote-read", []faults.Match{faults.PathPrefix(sim.CloudPrefix + "/api/v1/read"), faults.Read(func(q *prompb.Query) bool { return q.EndTimestampMs < ccTo.UnixMilli() })}, func(url string) []string {
		return []string{"--via", "remote-read", "--source-url", url + sim.CloudPrefix, "--source-user", "123456", "--source-password", "glc_read"}
	}, func(t time.Time) faults.Match {
		return faults.Read(func(q *prompb.Query) bool { return q.EndTimestampMs == t.UnixMilli()-1 })
	}},
}

var notCount = faults.Not(faults.CountQuery)

func promAt(t time.Time) faults.Match {
	return faults.BodyContains("time=" + strconv.FormatInt(t.Unix(), 10) + ".000")
}

func ccServe(t *testing.T, data []extract.Series, v2 bool, rules ...*faults.Rule) string {
	t.Helper()
	cloud := &sim.Cloud{Instance: "123456", Tokens: map[string][]string{"glc_read": {"metrics:read"}}}
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}, Cloud: cloud, PrometheusV2: v2}, rules...)
	return url
}

func ccArgs(via ccVia, url, out string, extra ...string) []string {
	args := append([]string{"recover"}, via.args(url)...)
	args = append(args, "--from", ccFrom.Format(time.RFC3339), "--to", ccTo.Format(time.RFC3339), "--out", out,
		"--summary-json", filepath.Join(out, "summary.json"))
	for _, m := range ccMatch {
		args = append(args, "--match", m)
	}
	return append(args, extra...)
}

// ccSummary reads the crosscheck part of the run's --summary-json.
func ccSummary(t *testing.T, out string) map[string]int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Crosscheck map[string]int }
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Crosscheck
}

// ccBlocks checks that every window but failed holds exactly the source's
// samples, and failed nothing.
func ccBlocks(t *testing.T, out string, failed *extract.Window) {
	t.Helper()
	p, err := extract.NewPlan(ccFrom, ccTo, 0, ccMatch)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range p.Windows {
		got := readWindow(t, out, w)
		if failed != nil && w == *failed {
			if len(got) > 0 {
				t.Errorf("window %s was not to be installed, yet blocks hold %d of its series", w, len(got))
			}
			continue
		}
		want := expected(ccData, time.UnixMilli(w.Start), time.UnixMilli(w.End), 0, ccMatch)
		if err := extract.Compare(want, got); err != nil {
			t.Errorf("window %s: the blocks hold other data than the source: %v", w, err)
		}
	}
}

func TestCrosscheckDroppedAnswer(t *testing.T) {
	bad := extract.Window{Start: dataStart.Add(4 * time.Hour).UnixMilli(), End: dataStart.Add(6 * time.Hour).UnixMilli()}
	for _, via := range ccVias {
		for _, loss := range []struct {
			name string
			l    faults.Loss
		}{{"tail", faults.Tail}, {"whole series", faults.Whole}} {
			t.Run(via.name+"/"+loss.name+"/once", func(t *testing.T) {
				cut := faults.On(via.fetch...).First(1).Do(faults.Drop(loss.l))
				out := t.TempDir()
				stdout, stderr, err := runCLI(t, ccArgs(via, ccServe(t, ccData, false, cut), out)...)
				if err != nil {
					t.Fatalf("recover: %v\n%s\n%s", err, stdout, stderr)
				}
				if cut.Count() == 0 {
					t.Fatal("no answer was cut")
				}
				cc := ccSummary(t, out)
				if cc["units_differing"] != 1 || cc["units_refetched"] != 1 || cc["units_failed"] != 0 || cc["units_checked"] != 6 {
					t.Fatalf("crosscheck summary %v; want 6 checked, 1 differing and refetched, none failed\n%s", cc, stdout)
				}
				if !strings.Contains(stderr, "fetching the unit again") || !strings.Contains(stdout, "1 differed and came whole when fetched again") {
					t.Errorf("the refetch is not told:\n%s\n%s", stdout, stderr)
				}
				ccBlocks(t, out, nil)
			})
			t.Run(via.name+"/"+loss.name+"/always", func(t *testing.T) {
				// Every fetch of the units that end at 06:00 is cut.
				cut := faults.On(append(via.fetch, via.at(time.UnixMilli(bad.End)))...).Do(faults.Drop(loss.l))
				out := t.TempDir()
				stdout, stderr, err := runCLI(t, ccArgs(via, ccServe(t, ccData, false, cut), out)...)
				if code := exitcode.Of(err); code != exitcode.Partial {
					t.Fatalf("exit status %d (%v), want %d\n%s\n%s", code, err, exitcode.Partial, stdout, stderr)
				}
				if cut.Count() < 2 {
					t.Fatalf("%d answers cut; want the fetch and its refetch", cut.Count())
				}
				text := stdout + stderr
				for _, want := range []string{"NOT RECOVERED " + bad.String(), "samples at the source", "fetched", "also when fetched again", "window is not installed", "--no-crosscheck installs what it answers unchecked"} {
					if !strings.Contains(text, want) {
						t.Errorf("the output lacks %q:\n%s", want, text)
					}
				}
				if cc := ccSummary(t, out); cc["units_failed"] < 1 {
					t.Errorf("crosscheck summary %v; want a failed unit", cc)
				}
				ccBlocks(t, out, &bad)
			})
		}
	}
}

// TestCrosscheckExact: over every --via, with range selectors closed
// (Prometheus 2) and left-open (Prometheus 3, Mimir), unaligned ends, a
// selector of every series (whose names collide once count_over_time
// drops them) and native histograms, nothing differs; --no-crosscheck and
// --step check nothing.
func TestCrosscheckExact(t *testing.T) {
	for _, via := range ccVias {
		data := viaData(12)
		if via.name == "ds" {
			data = ccData // /api/ds/query carries no native histograms
		}
		for _, v2 := range []bool{false, true} {
			t.Run(via.name+"/v2="+strconv.FormatBool(v2), func(t *testing.T) {
				url := ccServe(t, data, v2)
				out := t.TempDir()
				args := append([]string{"recover"}, via.args(url)...)
				args = append(args, "--from", ccFrom.Add(17*time.Minute).Format(time.RFC3339), "--to", ccTo.Add(-23*time.Minute).Format(time.RFC3339),
					"--out", out, "--summary-json", filepath.Join(out, "summary.json"))
				stdout, stderr, err := runCLI(t, args...)
				if err != nil {
					t.Fatalf("recover: %v\n%s\n%s", err, stdout, stderr)
				}
				cc := ccSummary(t, out)
				if cc["units_checked"] != 3 || cc["units_differing"] != 0 || cc["units_unchecked"] != 0 || cc["requests"] == 0 || cc["bytes"] == 0 {
					t.Fatalf("crosscheck summary %v; want 3 checked, none differing\n%s\n%s", cc, stdout, stderr)
				}
			})
		}
	}
	url := ccServe(t, ccData, false)
	for _, extra := range [][]string{{"--no-crosscheck"}, {"--step", "30s"}} {
		out := t.TempDir()
		stdout, stderr, err := runCLI(t, ccArgs(ccVias[0], url, out, extra...)...)
		if err != nil {
			t.Fatalf("recover %v: %v\n%s\n%s", extra, err, stdout, stderr)
		}
		if cc := ccSummary(t, out); cc != nil || strings.Contains(stdout, "against the source's counts") {
			t.Errorf("recover %v checked counts: %v\n%s", extra, cc, stdout)
		}
	}
}

func readWindow(t *testing.T, out string, w extract.Window) []extract.Series {
	t.Helper()
	got, err := blocks.ReadSeries(out, w.Start, w.End)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestCrosscheckRealPrometheus: --via prometheus, --via remote-read and
// --via proxy (through grafanaBefore) from a real Prometheus,
// 2.42 (range selectors closed) and 3 (left-open), serving floats and
// native histograms, with unaligned ends and sharded selectors: every
// unit is checked and none differs.
func TestCrosscheckRealPrometheus(t *testing.T) {
	data := viaData(13)
	in := t.TempDir()
	if stdout, stderr, err := runCLI(t, ccArgs(ccVias[1], ccServe(t, data, false), in)...); err != nil {
		t.Fatalf("recover into the source's data directory: %v\n%s\n%s", err, stdout, stderr)
	}
	os.Remove(filepath.Join(in, "summary.json"))
	from, to := ccFrom.Add(17*time.Minute+500*time.Millisecond), ccTo.Add(-23*time.Minute)
	for _, v := range servers.Versions {
		t.Run(string(v), func(t *testing.T) {
			source := servers.Prometheus(t, v, in)
			defer source.Stop()
			grafana := simtest.Serve(t, grafanaBefore(t, source.URL))
			for _, tc := range []struct {
				via   []string
				match []string
			}{
				{[]string{"--via", "prometheus", "--source-url", source.URL}, nil},
				{[]string{"--via", "prometheus", "--source-url", source.URL}, ccMatch},
				{[]string{"--via", "remote-read", "--source-url", source.URL}, nil},
				{[]string{"--via", "remote-read", "--source-url", source.URL}, ccMatch},
				{[]string{"--via", "proxy", "--grafana-url", grafana, "--token", testToken, "--datasource", "prom"}, nil},
			} {
				match := tc.match
				out := t.TempDir()
				args := append([]string{"recover", "--max-series-per-query", "5",
					"--from", from.Format(time.RFC3339Nano), "--to", to.Format(time.RFC3339), "--out", out, "--summary-json", filepath.Join(out, "summary.json")}, tc.via...)
				for _, m := range match {
					args = append(args, "--match", m)
				}
				stdout, stderr, err := runCLI(t, args...)
				if err != nil {
					t.Fatalf("recover %v %v: %v\n%s\n%s", tc.via[:2], match, err, stdout, stderr)
				}
				cc := ccSummary(t, out)
				if cc["units_checked"] == 0 || cc["units_differing"] != 0 || cc["units_unchecked"] != 0 {
					t.Fatalf("crosscheck summary %v; want every unit checked, none differing\n%s\n%s", cc, stdout, stderr)
				}
				t.Logf("%v %v: %d units checked in %d requests, none differed", tc.via[:2], match, cc["units_checked"], cc["requests"])
			}
		})
	}
}

// TestCrosscheckCountRefused: a source that refuses every count request
// still has its answers installed, each unit named unchecked.
func TestCrosscheckCountRefused(t *testing.T) {
	for _, via := range ccVias[1:] {
		t.Run(via.name, func(t *testing.T) {
			refuse := faults.On(faults.BodyContains("count_over_time")).Do(faults.Answer(http.StatusBadRequest,
				`{"status":"error","errorType":"bad_data","error":"count_over_time is not allowed here"}`, "Content-Type", "application/json"))
			out := t.TempDir()
			stdout, stderr, err := runCLI(t, ccArgs(via, ccServe(t, ccData, false, refuse), out)...)
			if err != nil {
				t.Fatalf("recover: %v\n%s\n%s", err, stdout, stderr)
			}
			if refuse.Count() == 0 {
				t.Fatal("no count request was refused")
			}
			if cc := ccSummary(t, out); cc["units_unchecked"] != 6 || cc["units_checked"] != 0 {
				t.Errorf("crosscheck summary %v; want 6 unchecked", cc)
			}
			if !strings.Contains(stderr, "could not count the unit at the source, so it is not checked") || !strings.Contains(stdout, "6 queries not checked") {
				t.Errorf("the unchecked units are not told:\n%s\n%s", stdout, stderr)
			}
			ccBlocks(t, out, nil)
		})
	}
}

// TestCrosscheckUnderALimit: under a datasource limit of 60 series a
// query, the shards' counts together are too big; they are counted in
// halves, every unit checked, and the data is exact.
func TestCrosscheckUnderALimit(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 8)
	url, srv := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}, MaxSeriesPerQuery: 60})
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(6*time.Hour)
	out := t.TempDir()
	stdout, stderr, err := runCLI(t, "recover", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", out, "--max-series-per-query", "50",
		"--summary-json", filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	cc := ccSummary(t, out)
	if cc["units_checked"] < 4 || cc["units_differing"] != 0 || cc["units_unchecked"] != 0 || srv.Counters().FailedQueries == 0 {
		t.Fatalf("crosscheck summary %v, %d queries refused; want every unit checked, after some count requests were refused\n%s\n%s", cc, srv.Counters().FailedQueries, stdout, stderr)
	}
	t.Logf("%d units checked in %d count requests, %d refused as too big", cc["units_checked"], cc["requests"], srv.Counters().FailedQueries)
	installedExactly(t, out, data, from, to)
}

// grafanaBefore plays the part of Grafana that --via proxy reads through,
// in front of a real Prometheus: its health, the datasource "prom", and the
// datasource's proxy and resources, passed on to prom as Grafana does.
func grafanaBefore(t *testing.T, prom string) http.Handler {
	t.Helper()
	target, err := url.Parse(prom)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"commit":"test","database":"ok","version":"11.3.0"}`)
	})
	mux.HandleFunc("GET /api/datasources/uid/prom", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":1,"uid":"prom","name":"prom","type":"prometheus","url":"`+prom+`"}`)
	})
	for _, prefix := range []string{"/api/datasources/proxy/uid/prom", "/api/datasources/uid/prom/resources"} {
		mux.Handle(prefix+"/", http.StripPrefix(prefix, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Del("Authorization") // Grafana sends the datasource's own credentials, here none
			proxy.ServeHTTP(w, r)
		})))
	}
	return mux
}
