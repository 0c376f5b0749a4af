package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStateKeepsWindowsAndTheRotatedSession(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	plan := Plan{GrafanaURL: "http://g", Datasource: "prom", From: "a", To: "b", Step: "raw", Selectors: []string{"up"}}
	f, err := Open(path, plan, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Record(Window{Start: 7200000, End: 14400000, ULID: "B"}); err != nil {
		t.Fatal(err)
	}
	if err := f.Record(Window{Start: 0, End: 7200000, ULID: "A"}); err != nil {
		t.Fatal(err)
	}
	if err := f.SetSession("given-cookie", "rotated-cookie"); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), "given-cookie") {
		t.Fatal("the state holds the cookie the user gave, which only needs a hash")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode())
	}

	again, err := Open(path, plan, false)
	if err != nil {
		t.Fatal(err)
	}
	if ws := again.Windows(); len(ws) != 2 || ws[0].ULID != "A" || ws[1].ULID != "B" {
		t.Fatalf("windows %+v", ws)
	}
	cases := []struct{ given, want string }{
		{"given-cookie", "rotated-cookie"}, // the same login: use the rotated cookie
		{"new-login", "new-login"},         // the user logged in anew
	}
	for _, tc := range cases {
		if got := again.Session(tc.given); got != tc.want {
			t.Errorf("Session(%q) = %q, want %q", tc.given, got, tc.want)
		}
	}
	if err := again.Forget([]int64{0}); err != nil || len(again.Windows()) != 1 {
		t.Fatalf("Forget: %v, %+v", err, again.Windows())
	}

	other := plan
	other.Step = "15s"
	if _, err := Open(path, other, false); err == nil || !strings.Contains(err.Error(), "another recovery") {
		t.Fatalf("another plan: %v", err)
	}
	if f, err := Open(path, other, true); err != nil || len(f.Windows()) != 0 {
		t.Fatalf("restart: %v", err)
	}
	if err := os.WriteFile(path, []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, plan, false); err == nil || !strings.Contains(err.Error(), "restart to start over") {
		t.Fatalf("garbage: %v", err)
	}
}

func TestACompletePlanMakesWayForAnother(t *testing.T) {
	plan := Plan{GrafanaURL: "http://g", Datasource: "prom", From: "a", To: "b", Step: "raw", Selectors: []string{"up"}}
	other := plan
	other.Selectors = []string{"node_load1"}
	for _, tc := range []struct {
		name     string
		complete bool
		forget   bool // a block of the complete plan was found missing since
		takeOver bool
	}{
		{"unfinished: refused", false, false, false},
		{"complete: replaced", true, false, true},
		{"complete, then a block lost: refused", true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			f, err := Open(path, plan, false)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Record(Window{Start: 0, End: 7200000, ULID: "A"}); err != nil {
				t.Fatal(err)
			}
			if err := f.SetSession("given", "rotated"); err != nil {
				t.Fatal(err)
			}
			if tc.complete {
				if err := f.Complete(); err != nil {
					t.Fatal(err)
				}
			}
			if tc.forget {
				if err := f.Forget([]int64{0}); err != nil {
					t.Fatal(err)
				}
			}
			g, err := Open(path, other, false)
			if !tc.takeOver {
				if err == nil || !strings.Contains(err.Error(), "another recovery") {
					t.Fatalf("Open of another plan: %v, want a refusal", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if old, ok := g.Replaced(); !ok || old.Selectors[0] != "up" {
				t.Errorf("Replaced() = %+v, %v", old, ok)
			}
			if len(g.Windows()) != 0 || g.Session("given") != "rotated" {
				t.Errorf("the new plan got windows %+v or lost the rotated session (%q)", g.Windows(), g.Session("given"))
			}
		})
	}
}

func TestCompleteWritesNoStateForNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f, err := Open(path, Plan{Selectors: []string{"up"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Complete(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a run that installed nothing left a state file (%v)", err)
	}
}

func TestNormalURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://127.0.0.1:3000", "http://127.0.0.1:3000"},
		{"http://127.0.0.1:3000/", "http://127.0.0.1:3000"},
		{"HTTP://Grafana.Example.COM:3000//", "http://grafana.example.com:3000"},
		{"http://g.example:80/", "http://g.example"},
		{"https://g.example:443", "https://g.example"},
		{"https://g.example:80", "https://g.example:80"}, // not https's default
		{"http://g.example:443", "http://g.example:443"},
		{"https://g.example/Grafana/", "https://g.example/Grafana"}, // the path keeps its case
		{"http://[::1]:3000/", "http://[::1]:3000"},
		{"http://[::1]:80", "http://[::1]"},
		{"not a url", "not a url"},
	} {
		if got := NormalURL(tc.in); got != tc.want {
			t.Errorf("NormalURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// The loopback names reach one Grafana beside promrecover: a rerun under
// another of them is the same recovery. Any other difference of host, port
// or scheme is another server.
func TestSameServer(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"http://127.0.0.1:3000/", "http://127.0.0.1:3000", true},
		{"http://127.0.0.1:3000", "http://localhost:3000", true},
		{"http://localhost:3000", "http://[::1]:3000", true},
		{"http://127.0.0.1:3000", "http://[::1]:3000/", true},
		{"http://LOCALHOST", "http://127.0.0.1:80", true},
		{"https://Grafana.example", "https://grafana.example:443/", true},
		{"http://localhost:3000", "http://localhost:3001", false},
		{"http://localhost:3000", "https://localhost:3000", false},
		{"http://127.0.0.2:3000", "http://127.0.0.1:3000", false}, // loopback, but another listener
		{"http://g.example/a", "http://g.example/b", false},
		{"http://g.example/Grafana", "http://g.example/grafana", false},
		{"https://a.example", "https://b.example", false},
	} {
		if got := sameServer(tc.a, tc.b); got != tc.same {
			t.Errorf("sameServer(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}

// A state written before the URL was normalised holds the URL as the user
// typed it: a run under a spelling of the same address resumes it.
func TestAStateOfTheOldFormResumes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	old := `{"version":1,"plan":{"grafanaUrl":"http://127.0.0.1:3000/","datasource":"prom","from":"2025-08-03T00:00:00Z","to":"2025-08-03T04:00:00Z","step":"raw","selectors":["up"]},` +
		`"windows":[{"start":1754179200000,"end":1754186400000,"ulid":"A","series":1,"samples":2}],"updated":"2025-08-04T00:00:00Z"}`
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"http://127.0.0.1:3000", "http://localhost:3000/", "HTTP://127.0.0.1:3000"} {
		plan := Plan{GrafanaURL: NormalURL(u), Datasource: "prom", From: "2025-08-03T00:00:00Z", To: "2025-08-03T04:00:00Z", Step: "raw", Selectors: []string{"up"}}
		f, err := Open(path, plan, false)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if ws := f.Windows(); len(ws) != 1 || ws[0].ULID != "A" {
			t.Errorf("%s: windows %+v, want the one the old state recorded", u, ws)
		}
	}
	other := Plan{GrafanaURL: "http://127.0.0.1:3001", Datasource: "prom", From: "2025-08-03T00:00:00Z", To: "2025-08-03T04:00:00Z", Step: "raw", Selectors: []string{"up"}}
	_, err := Open(path, other, false)
	want := "the resume state " + path + " is for another recovery (Grafana http://127.0.0.1:3000/, datasource prom, 2025-08-03T00:00:00Z to 2025-08-03T04:00:00Z, step raw, selectors up)"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("another port: %v, want %q", err, want)
	}
}

// TestAnotherShardIsAnotherRecovery keeps shards of one range from taking
// each other's state for their own.
func TestAnotherShardIsAnotherRecovery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	plan := Plan{GrafanaURL: "http://g", Datasource: "prom", From: "a", To: "b", Step: "raw", Selectors: []string{"up"}, Shard: "1/3"}
	f, err := Open(path, plan, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Record(Window{Start: 0, End: 7200000, ULID: "A"}); err != nil {
		t.Fatal(err)
	}
	for _, shard := range []string{"2/3", ""} {
		other := plan
		other.Shard = shard
		if _, err := Open(path, other, false); err == nil || !strings.Contains(err.Error(), "another recovery") {
			t.Errorf("shard %q opened the state of shard 1/3: %v", shard, err)
		}
	}
}
