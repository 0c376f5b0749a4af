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
