package report

import (
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/state"
	"github.com/promrecover/promrecover/recovery"
)

// planWindows is what the plan lists of the windows from..to, of which
// those with the given starts are marked in the head.
func planWindows(t *testing.T, from, to string, earlier []state.Window, inHead ...string) string {
	t.Helper()
	start, err := time.Parse(time.RFC3339, from)
	if err != nil {
		t.Fatal(err)
	}
	end, err := time.Parse(time.RFC3339, to)
	if err != nil {
		t.Fatal(err)
	}
	p, err := extract.NewPlan(start, end, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &recovery.Report{Earlier: recovery.Done{Windows: earlier, State: "s.json"}, Todo: *p}
	for _, w := range p.Windows {
		head := false
		for _, h := range inHead {
			head = head || rfc3339(w.Start) == h
		}
		r.Windows = append(r.Windows, extract.WindowInfo{Window: w, InHead: head})
	}
	var b strings.Builder
	pl := &Plan{Job: &recovery.Job{Plan: p}, Report: r}
	pl.windows(&b, Wording{To: "--to", Retention: "--retention"})
	return b.String()
}

func TestPlanCollapsesWindows(t *testing.T) {
	// 85 windows without notes: one row.
	got := planWindows(t, "2025-08-01T00:00:00Z", "2025-08-08T02:00:00Z", nil)
	want := "WINDOWS                                                   NOTE\n" +
		"2025-08-01T00:00:00Z .. 2025-08-08T02:00:00Z  85 windows  \n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// A run ends where the note changes.
	got = planWindows(t, "2025-08-01T00:00:00Z", "2025-08-01T12:00:00Z",
		[]state.Window{{Start: time.Date(2025, 8, 1, 4, 0, 0, 0, time.UTC).UnixMilli(), ULID: "01B"}},
		"2025-08-01T08:00:00Z", "2025-08-01T10:00:00Z")
	head := "in the head (last 3h): overlaps what a running Prometheus holds"
	for _, l := range []string{
		"2025-08-01T00:00:00Z .. 2025-08-01T04:00:00Z  2 windows  \n",
		"2025-08-01T04:00:00Z .. 2025-08-01T06:00:00Z  1 window   recovered by an earlier run (block 01B): skipped\n",
		"2025-08-01T06:00:00Z .. 2025-08-01T08:00:00Z  1 window   \n",
		"2025-08-01T08:00:00Z .. 2025-08-01T12:00:00Z  2 windows  " + head + "\n",
		"2 windows reach into the last 3h",
		"1 of 6 windows were recovered by an earlier run (state: s.json)",
	} {
		if !strings.Contains(got, l) {
			t.Errorf("lacks %q:\n%s", l, got)
		}
	}
	if n := strings.Count(got, "\n"); n != 7 {
		t.Errorf("%d lines, want 7:\n%s", n, got)
	}
}

func TestCollapseKeepsHolesApart(t *testing.T) {
	// Windows that do not meet are not one run, though their notes match.
	rows := collapse([]windowNote{{extract.Window{Start: 0, End: 7200000}, ""}, {extract.Window{Start: 14400000, End: 21600000}, ""}})
	if len(rows) != 2 || rows[0].count != "1 window" || rows[1].span != "1970-01-01T04:00:00Z .. 1970-01-01T06:00:00Z" {
		t.Errorf("rows %+v", rows)
	}
}

// A plan whose range ends in the future says that recover refuses it, and
// how to fix it; one that ends within the skew does not (issue 12, item 1).
func TestPlanWarnsOfAFutureEnd(t *testing.T) {
	now := time.Date(2025, 8, 1, 11, 0, 0, 0, time.UTC)
	warning := "the range ends 1h0m0s after now: recover into a data directory refuses it"
	for _, tc := range []struct {
		to   time.Time
		warn bool
	}{
		{now, false}, {now.Add(time.Minute), false}, {now.Add(time.Hour), true},
	} {
		p, err := extract.NewPlan(now.Add(-4*time.Hour), tc.to, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		pl := &Plan{Job: &recovery.Job{Plan: p, Now: now}, Report: &recovery.Report{Todo: *p}}
		pl.windows(&b, Wording{To: "--to"})
		if got := b.String(); strings.Contains(got, warning) != tc.warn || tc.warn && !strings.Contains(got, "; stop at --to now\n") {
			t.Errorf("--to %s: warning %v, want %v:\n%s", tc.to, !tc.warn, tc.warn, got)
		}
	}
}
