package report

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/crosscheck"
	"github.com/promrecover/promrecover/extract/state"
	"github.com/promrecover/promrecover/grafana"
	"github.com/promrecover/promrecover/recovery"
	"github.com/promrecover/promrecover/served"
)

var plain = Wording{Error: func(err error) string { return "user: " + err.Error() }, Reason: strings.ToUpper}

func TestDocumentStatus(t *testing.T) {
	win := extract.Window{Start: 0, End: 7200000}
	done := &extract.Result{Windows: []extract.WindowResult{{Window: win, Series: 1, Samples: 10}}}
	empty := &extract.Result{Windows: []extract.WindowResult{{Window: win}}}
	failed := &extract.Result{Windows: []extract.WindowResult{{Window: win, Err: errors.New("refused")}}}
	gap := &extract.Result{Windows: []extract.WindowResult{{Window: win, Samples: 5, Gaps: []extract.Gap{{Selector: "up", To: 60000, Reason: "cut"}}}}}
	runErr := errors.New("run failed")
	cases := []struct {
		name string
		sum  Summary
		end  End
		want string
	}{
		{"ok", Summary{Result: done}, End{}, "ok"},
		{"interrupted", Summary{Result: done}, End{Err: runErr, Interrupted: true}, "interrupted"},
		{"before anything was fetched", Summary{}, End{Err: runErr}, "error"},
		{"a failed window", Summary{Result: failed}, End{Err: runErr}, "incomplete"},
		{"a gap", Summary{Result: gap}, End{Err: runErr}, "incomplete"},
		{"a gap of an earlier run", Summary{Result: empty, Earlier: []state.Window{{Gaps: []extract.Gap{{Reason: "cut"}}}}}, End{Err: runErr}, "incomplete"},
		{"nothing matched", Summary{Result: empty}, End{Err: runErr}, "empty"},
		{"nothing matched, but a file was read", Summary{Result: empty, Read: 3}, End{Err: runErr}, "error"},
		{"writing failed after the fetch", Summary{Result: done}, End{Err: runErr}, "error"},
		{"not served", Summary{Result: done, Served: &served.Result{Windows: 1, Missing: []served.Missing{{Window: win}}}}, End{Err: runErr}, "not_served"},
		{"not served, the wait interrupted", Summary{Result: done, Served: &served.Result{Windows: 1, Missing: []served.Missing{{Window: win}}, Interrupted: true}}, End{Err: runErr, Interrupted: true}, "not_served"},
		{"a failed window, the other not served", Summary{Result: failed, Served: &served.Result{Windows: 1, Missing: []served.Missing{{Window: win}}}}, End{Err: runErr}, "incomplete"},
	}
	for _, c := range cases {
		if got := c.sum.Document("recover", c.end, plain).Status; got != c.want {
			t.Errorf("%s: status %q, want %q", c.name, got, c.want)
		}
	}
}

func TestDocument(t *testing.T) {
	p, err := extract.NewPlan(time.UnixMilli(0), time.UnixMilli(4*7200000), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := &extract.Result{DistinctSeries: 2, Windows: []extract.WindowResult{
		{Window: p.Windows[0], Series: 2, Samples: 20, Gaps: []extract.Gap{{Selector: "up", From: 0, To: 60000, Reason: "cut"}}},
		{Window: p.Windows[1], Err: errors.New("refused")},
	}}
	s := Summary{Plan: p, Result: res, State: "s.json", Covered: 4, Held: blocks.Held{Samples: 5, Conflicts: 2, Windows: 1},
		Installed: []blocks.Block{{ULID: "B", MinTime: 7200000, MaxTime: 14400000, Samples: 7}, {ULID: "A", MinTime: 0, MaxTime: 7200000, Samples: 13}},
		Earlier:   []state.Window{{Start: 14400000, Gaps: []extract.Gap{{Reason: "old"}}}}}
	d := s.Document("recover", End{Err: errors.New("2 windows"), ExitCode: 1}, plain)
	if d.Windows != (Windows{Total: 4, InPart: 1, Failed: 1, Earlier: 1, InOut: 1}) || d.ExitCode != 1 || d.Error != "user: 2 windows" {
		t.Errorf("windows %+v exit %d error %q", d.Windows, d.ExitCode, d.Error)
	}
	// A window's reason is its error reworded, then as any reason.
	var kinds []string
	for _, m := range d.NotRecovered {
		kinds = append(kinds, m.Kind+":"+m.Reason)
	}
	if got := strings.Join(kinds, ","); got != "gap:OLD,window:USER: REFUSED,gap:CUT" {
		t.Errorf("not_recovered %s", got)
	}
	if d.Samples != (Samples{Series: 2, Fetched: 20, Written: 20, Covered: 4, InOut: 5, Conflicts: 2}) || d.StateFile != "s.json" || d.Range == nil || d.Requests != nil || d.Datasource != nil {
		t.Errorf("samples %+v state %q range %v requests %v datasource %v", d.Samples, d.StateFile, d.Range, d.Requests, d.Datasource)
	}
	if len(d.Blocks) != 2 || d.Blocks[0].ULID != "A" || d.Blocks[0].Duration != 7200 {
		t.Errorf("blocks %+v, want A first, of 2h", d.Blocks)
	}
	s.Exported, s.Installed = true, nil
	if d := s.Document("export", End{}, plain); d.Samples.Written != 20 || d.Status != "ok" || d.ExitCode != 0 || d.Error != "" {
		t.Errorf("export: %+v", d)
	}
}

// TestSummaryHeld: the summaries of recover and import say what the data
// directory already held, in the program's words for it, and nothing when
// it held nothing.
func TestSummaryHeld(t *testing.T) {
	words := Wording{Out: "--out"}
	cases := []struct {
		held blocks.Held
		what string
		want string
	}{
		{blocks.Held{}, "fetched samples", ""},
		{blocks.Held{Samples: 7}, "fetched samples", "7 fetched samples were already in the output directory (--out) and were not written again\n"},
		{blocks.Held{Samples: 7, Windows: 2, Conflicts: 3}, "fetched samples", "7 fetched samples were already in the output directory (--out) and were not written again; 2 windows were there whole and got no block\n" +
			"3 fetched samples differ from the value the output directory (--out) holds at their timestamp; the value there was kept\n"},
		{blocks.Held{Samples: 7, Windows: 2, Conflicts: 3}, "samples read", "7 samples read were already in the output directory (--out) and were not written again; 2 windows were there whole and got no block\n" +
			"3 samples read differ from the value the output directory (--out) holds at their timestamp; the value there was kept\n"},
	}
	for _, c := range cases {
		var b strings.Builder
		held(&b, c.held, c.what, words.Out)
		if b.String() != c.want {
			t.Errorf("%+v:\n%s\nwant\n%s", c.held, b.String(), c.want)
		}
	}
}

// TestSummaryRemoteRead: the summary and its document say how remote read
// answered, and nothing of it for the other APIs.
func TestSummaryRemoteRead(t *testing.T) {
	res := &extract.Result{Windows: []extract.WindowResult{{Window: extract.Window{End: 7200000}, Series: 1, Samples: 3}}}
	for _, c := range []struct {
		answer, line string
	}{
		{"", ""},
		{RemoteReadStreamed, "remote read answered with the stored chunks (STREAMED_XOR_CHUNKS)\n"},
		{RemoteReadSamples, "remote read answered with samples (SAMPLES): the server does not stream chunks, so each answer was held whole on both sides\n"},
	} {
		s := Summary{Result: res, Stats: &grafana.Stats{Requests: 2}, RemoteRead: c.answer}
		var b strings.Builder
		s.Text(&b, plain)
		if got := b.String(); (c.line == "") != !strings.Contains(got, "remote read") || !strings.Contains(got, "(0 B decompressed)\n"+c.line) {
			t.Errorf("%q: the summary is\n%s", c.answer, got)
		}
		if d := s.Document("recover", End{}, plain); d.Requests == nil || d.Requests.RemoteRead != c.answer {
			t.Errorf("%q: requests %+v", c.answer, d.Requests)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	cases := []struct {
		n    int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"}, {5 << 20, "5.0 MiB"}, {3 << 30, "3.0 GiB"}}
	for _, c := range cases {
		if got := FormatBytes(c.n); got != c.want {
			t.Errorf("FormatBytes(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

func TestShortBytes(t *testing.T) {
	cases := []struct {
		n    int64
		want string
	}{{0, "0B"}, {1023, "1023B"}, {1536, "1.5K"}, {1153434, "1.1M"}, {3 << 30, "3.0G"}}
	for _, c := range cases {
		if got := shortBytes(c.n); got != c.want {
			t.Errorf("shortBytes(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

func TestSpan(t *testing.T) {
	cases := []struct {
		ms   int64
		want string
	}{
		{7199578, "2h"}, {7200000, "2h"}, {3600000 + 29*60000 + 40000, "1h30m"}, {54 * 3600000, "54h"},
		{30 * 60000, "30m"}, {45500, "46s"}, {59600, "1m"}, {0, "0s"},
	}
	for _, c := range cases {
		if got := span(c.ms); got != c.want {
			t.Errorf("span(%d) = %q, want %q", c.ms, got, c.want)
		}
	}
}

// TestSummaryAgreesWithItself: a window with parts that could not be
// fetched is neither recovered nor failed, and the first line, the lines
// of what is missing and the run's error count the same windows.
func TestSummaryAgreesWithItself(t *testing.T) {
	win := func(i int64) extract.Window { return extract.Window{Start: i * 7200000, End: (i + 1) * 7200000} }
	gap := []extract.Gap{{Selector: "up", From: 0, To: 7200000, Reason: "cut"}}
	whole := extract.WindowResult{Window: win(0), Series: 1, Samples: 10}
	partial := extract.WindowResult{Window: win(1), Series: 1, Samples: 5, Gaps: gap}
	failed := extract.WindowResult{Window: win(2), Err: errors.New("refused")}
	for _, tc := range []struct {
		name    string
		windows []extract.WindowResult
		first   string // the summary's first line, up to the origin
		missing int    // NOT RECOVERED lines
		err     string // the Shortfall of the run's error
	}{
		{"all whole", []extract.WindowResult{whole, whole}, "recovered 2 of 2 windows from", 0, ""},
		{"every window with a hole", []extract.WindowResult{partial, partial, partial, partial}, "recovered 0 of 4 windows whole and 4 in part from", 4,
			"4 of 4 windows were recovered only in part: 4 parts could not be fetched (listed above)"},
		{"whole, partial and failed", []extract.WindowResult{whole, partial, failed}, "recovered 1 of 3 windows whole and 1 in part from", 2,
			"1 of 3 windows were not recovered, and 1 part of 1 other window could not be fetched (listed above)"},
		{"failed only", []extract.WindowResult{whole, failed}, "recovered 1 of 2 windows from", 1, "1 of 2 windows were not recovered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := &extract.Result{Windows: tc.windows}
			s := Summary{Result: res, Stats: &grafana.Stats{}}
			var b strings.Builder
			s.Text(&b, plain)
			text := b.String()
			if !strings.HasPrefix(text, "\n"+tc.first+" ") {
				t.Errorf("summary starts %q, want %q", strings.SplitN(text, "\n", 3)[1], tc.first)
			}
			if n := strings.Count(text, "NOT RECOVERED"); n != tc.missing {
				t.Errorf("%d NOT RECOVERED lines, want %d:\n%s", n, tc.missing, text)
			}
			whole, partial := recovery.Whole(res)
			if whole+partial+len(res.Failed()) != len(res.Windows) {
				t.Errorf("%d whole, %d partial and %d failed of %d windows", whole, partial, len(res.Failed()), len(res.Windows))
			}
			// --summary-json counts as the text does: a window with holes is
			// neither recovered nor failed.
			if d := s.Document("recover", End{}, plain).Windows; d.Recovered != whole || d.InPart != partial || d.Failed != len(res.Failed()) {
				t.Errorf("--summary-json windows %+v, want %d recovered, %d in part, %d failed", d, whole, partial, len(res.Failed()))
			}
			if tc.err == "" {
				return
			}
			if got := Shortfall(len(res.Failed()), partial, len(res.Gaps()), len(res.Windows)); got != tc.err {
				t.Errorf("error %q, want %q", got, tc.err)
			}
		})
	}
}

func TestServed(t *testing.T) {
	w1, w2 := extract.Window{Start: 0, End: 7200000}, extract.Window{Start: 7200000, End: 14400000}
	cases := []struct {
		name string
		res  *served.Result
		want string // the text; "" for none
		doc  *Serving
	}{
		{"no wait", nil, "", nil},
		{"every window served", &served.Result{Windows: 4, After: 41200 * time.Millisecond}, "all 4 windows served by Prometheus after 41s\n",
			&Serving{Windows: 4, Served: 4, After: 41.2, Missing: []Unserved{}}},
		{"one served, one short, one count refused", &served.Result{Windows: 3, After: 3 * time.Second, Missing: []served.Missing{{Window: w1, Want: 10, Got: 4}, {Window: w2, Err: errors.New("HTTP 422")}}},
			"NOT SERVED 1970-01-01T00:00:00Z..1970-01-01T02:00:00Z: Prometheus serves 4 samples there after 3s, 10 expected\nNOT SERVED 1970-01-01T02:00:00Z..1970-01-01T04:00:00Z: user: HTTP 422\n",
			&Serving{Windows: 3, Served: 1, After: 3, Missing: []Unserved{
				{From: "1970-01-01T00:00:00.000Z", To: "1970-01-01T02:00:00.000Z", FromMs: 0, ToMs: 7200000, Expected: 10, Got: 4},
				{From: "1970-01-01T02:00:00.000Z", To: "1970-01-01T04:00:00.000Z", FromMs: 7200000, ToMs: 14400000, Error: "user: HTTP 422"}}}},
	}
	interrupted := NotServed(&served.Result{URL: "http://p:9090", Windows: 2, Missing: []served.Missing{{Window: w1}}, Interrupted: true}, plain)
	if want := "interrupted while waiting for Prometheus at http://p:9090 to serve the windows installed: 1 of 2 windows not yet served"; !strings.HasPrefix(interrupted, want) {
		t.Errorf("interrupted: %s\nwant %s...", interrupted, want)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			Served(&b, tc.res, plain)
			if b.String() != tc.want {
				t.Errorf("text:\n%s\nwant:\n%s", b.String(), tc.want)
			}
			got := servedDoc(tc.res, plain)
			if (got == nil) != (tc.doc == nil) || got != nil && fmt.Sprint(*got) != fmt.Sprint(*tc.doc) {
				t.Errorf("document %+v, want %+v", got, tc.doc)
			}
		})
	}
}

func TestCrosschecked(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    crosscheck.Stats
		want string
	}{
		{"none differed", crosscheck.Stats{Checked: 5, Requests: 1, Bytes: 2048}, "checked 5 queries against the source's counts (1 request, 2.0 KiB): 0 differed\n"},
		{"one fetched again", crosscheck.Stats{Checked: 1, Differing: 1, Refetched: 1, Requests: 2},
			"checked 1 query against the source's counts (2 requests, 0 B): 1 differed and came whole when fetched again\n"},
		{"one failed", crosscheck.Stats{Checked: 6, Differing: 2, Refetched: 2, Failed: 1, Requests: 3},
			"checked 6 queries against the source's counts (3 requests, 0 B): 2 differed; 1 still differed when fetched again, and its window is not installed\n"},
		{"unchecked", crosscheck.Stats{Unchecked: 3, Requests: 5}, "checked 0 queries against the source's counts (5 requests, 0 B): 0 differed; 3 queries not checked (could not be counted, or came in part)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			Crosschecked(&b, &tc.c)
			if b.String() != tc.want {
				t.Errorf("got %q\nwant %q", b.String(), tc.want)
			}
			d := (&Summary{Crosscheck: &tc.c}).Document("recover", End{}, plain)
			if d.Crosscheck == nil || d.Crosscheck.Checked != tc.c.Checked || d.Crosscheck.Failed != tc.c.Failed || d.Crosscheck.Unchecked != tc.c.Unchecked || d.Crosscheck.Bytes != tc.c.Bytes {
				t.Errorf("--summary-json's crosscheck is %+v, want %+v", d.Crosscheck, tc.c)
			}
		})
	}
}

func TestNotServed(t *testing.T) {
	got := NotServed(&served.Result{URL: "http://p:9090", Windows: 2, After: 3 * time.Second, Missing: []served.Missing{{}, {}}}, Wording{Wait: "--wait"})
	want := "Prometheus at http://p:9090 does not serve 2 of the 2 windows installed as written after 3s (listed above); the blocks are installed. " +
		"Check that it runs on this data directory (its --storage.tsdb.path), that its retention keeps blocks this old (--storage.tsdb.retention.time/size), " +
		"and that it has had time to load them (it looks for new blocks once a minute: a longer --wait)"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
