package report

import (
	"cmp"
	"slices"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/recovery"
	"github.com/promrecover/promrecover/served"
)

// Doc is the end-of-run summary for scripts. Its fields are the schema
// docs/reference.md documents.
type Doc struct {
	Command  string `json:"command"`
	Status   string `json:"status"`
	ExitCode int    `json:"exit_code"`
	Error    string `json:"error,omitempty"`
	// Datasource and Range are those of recover and export; Input is the
	// file import read.
	Datasource *Datasource `json:"datasource,omitempty"`
	Range      *Range      `json:"range,omitempty"`
	Input      string      `json:"input,omitempty"`
	Windows    Windows     `json:"windows"`
	// NotRecovered lists every whole window and every part of a window
	// that is missing from the result.
	NotRecovered []Missing `json:"not_recovered"`
	Requests     *Requests `json:"requests,omitempty"`
	Samples      Samples   `json:"samples"`
	// Crosscheck is the check with the source's counts; absent when it
	// was not done.
	Crosscheck *Crosscheck `json:"crosscheck,omitempty"`
	Blocks     []Block     `json:"blocks"`
	StateFile  string      `json:"state_file,omitempty"`
	// Served is how the wait for the Prometheus that serves the data
	// directory ended; absent without one.
	Served  *Serving `json:"served,omitempty"`
	Elapsed float64  `json:"elapsed_seconds"`
}

type Datasource struct {
	UID  string `json:"uid"`
	Name string `json:"name"`
}

type Range struct {
	From   string `json:"from"`
	To     string `json:"to"`
	FromMs int64  `json:"from_ms"`
	ToMs   int64  `json:"to_ms"`
}

type Windows struct {
	Total     int `json:"total"`
	Recovered int `json:"recovered"` // whole
	// InPart counts the windows written with parts that could not be
	// fetched: neither recovered nor failed, as the summary's text says.
	InPart  int `json:"in_part"`
	Failed  int `json:"failed"`
	Earlier int `json:"earlier"` // recovered by an earlier run of the same plan, skipped
	// Interrupted counts the windows an interrupt left undone: not failed,
	// the same command recovers them.
	Interrupted int `json:"interrupted"`
	// InOut counts the windows whose every fetched sample the data
	// directory held: no block was written for them.
	InOut int `json:"already_in_out"`
}

type Missing struct {
	Kind     string `json:"kind"` // "window" or "gap"
	Selector string `json:"selector,omitempty"`
	From     string `json:"from"`
	To       string `json:"to"`
	FromMs   int64  `json:"from_ms"`
	ToMs     int64  `json:"to_ms"`
	Reason   string `json:"reason"`
	Earlier  bool   `json:"earlier_run,omitempty"`
}

type Requests struct {
	Requests  int64 `json:"requests"`
	Retries   int64 `json:"retries"`
	Rotations int64 `json:"session_rotations"`
	WireBytes int64 `json:"wire_bytes"`
	Bytes     int64 `json:"bytes"`
	// RemoteRead is how a remote read source answered:
	// STREAMED_XOR_CHUNKS or SAMPLES.
	RemoteRead string `json:"remote_read,omitempty"`
}

type Samples struct {
	Series  int    `json:"series"`
	Fetched int64  `json:"fetched"`
	Written uint64 `json:"written"`
	Covered int64  `json:"only_gaps_skipped,omitempty"`
	// InOut and Conflicts count the fetched samples the data directory
	// held, with the same value and with another (the one there kept):
	// neither is written.
	InOut     int64 `json:"already_in_out"`
	Conflicts int64 `json:"conflicting_in_out"`
	// Future counts the samples stamped after the time of the run (and
	// blocks.MaxSkew): not written into a data directory.
	Future int64 `json:"held_back_future"`
	// Conflicting counts the fetched samples dropped because the source
	// gave a second, different value at the same timestamp (the first
	// kept), in the windows recovered.
	Conflicting int64 `json:"conflicting"`
}

type Crosscheck struct {
	Checked   int   `json:"units_checked"`
	Differing int   `json:"units_differing"`
	Refetched int   `json:"units_refetched"`
	Failed    int   `json:"units_failed"`
	Unchecked int   `json:"units_unchecked"`
	Requests  int   `json:"requests"`
	Bytes     int64 `json:"bytes"`
}

type Block struct {
	ULID      string  `json:"ulid"`
	MinTime   string  `json:"min_time"`
	MaxTime   string  `json:"max_time"`
	MinTimeMs int64   `json:"min_time_ms"`
	MaxTimeMs int64   `json:"max_time_ms"`
	Duration  float64 `json:"duration_seconds"`
	Series    uint64  `json:"series"`
	Samples   uint64  `json:"samples"`
	Chunks    uint64  `json:"chunks"`
	Size      int64   `json:"size_bytes"`
	Dir       string  `json:"dir"`
}

type Serving struct {
	Windows int        `json:"windows"`
	Served  int        `json:"served"`
	After   float64    `json:"after_seconds"`
	Missing []Unserved `json:"not_served"`
}

type Unserved struct {
	From     string `json:"from"`
	To       string `json:"to"`
	FromMs   int64  `json:"from_ms"`
	ToMs     int64  `json:"to_ms"`
	Expected int64  `json:"expected_samples"`
	Got      int64  `json:"served_samples"`
	Error    string `json:"error,omitempty"`
}

// End is how a run ended, as the program tells it.
type End struct {
	Err         error // nil when the run went well
	ExitCode    int
	Interrupted bool // by Ctrl-C or SIGTERM
}

// Document is the summary of the run command, which ended as end says.
func (s *Summary) Document(command string, end End, words Wording) Doc {
	d := Doc{Command: command, Status: s.status(end), ExitCode: end.ExitCode, Input: s.Input, StateFile: s.State,
		Elapsed: s.Elapsed.Seconds(), NotRecovered: []Missing{}, Blocks: []Block{}}
	if end.Err != nil {
		d.Error = words.Error(end.Err)
	}
	if s.Origin.UID != "" {
		d.Datasource = &Datasource{UID: s.Origin.UID, Name: s.Origin.Name}
	}
	if s.Plan != nil {
		d.Range = &Range{From: extract.FormatTime(s.Plan.From), To: extract.FormatTime(s.Plan.To), FromMs: s.Plan.From, ToMs: s.Plan.To}
		d.Windows.Total = len(s.Plan.Windows)
	}
	if st := s.Stats; st != nil {
		d.Requests = &Requests{Requests: st.Requests, Retries: st.Retries, Rotations: st.Rotations, WireBytes: st.WireBytes, Bytes: st.Bytes, RemoteRead: s.RemoteRead}
	}
	missing := func(kind string, g extract.Gap, earlier bool) {
		d.NotRecovered = append(d.NotRecovered, Missing{Kind: kind, Selector: g.Selector, From: extract.FormatTime(g.From), To: extract.FormatTime(g.To),
			FromMs: g.From, ToMs: g.To, Reason: words.Reason(g.Reason), Earlier: earlier})
	}
	d.Windows.Earlier = len(s.Earlier)
	for _, e := range s.Earlier {
		for _, g := range e.Gaps {
			missing("gap", g, true)
		}
	}
	if res := s.Result; res != nil {
		failed := res.Failed()
		d.Windows.Failed = len(failed)
		d.Windows.Recovered, d.Windows.InPart = recovery.Whole(res)
		d.Windows.Interrupted = res.Interrupted()
		if s.Plan == nil {
			d.Windows.Total = len(res.Windows)
		}
		for _, f := range failed {
			missing("window", extract.Gap{From: f.Window.Start, To: f.Window.End, Reason: words.Error(f.Err)}, false)
		}
		for _, g := range res.Gaps() {
			missing("gap", g, false)
		}
		d.Samples.Series = res.DistinctSeries
		_, d.Samples.Fetched = res.Totals()
		for _, w := range res.Windows {
			if w.Err == nil {
				d.Samples.Conflicting += int64(w.Conflicts)
			}
		}
	}
	if s.Input != "" {
		d.Samples.Fetched = s.Read
	}
	d.Samples.Covered = s.Covered
	if c := s.Crosscheck; c != nil {
		d.Crosscheck = &Crosscheck{Checked: c.Checked, Differing: c.Differing, Refetched: c.Refetched, Failed: c.Failed, Unchecked: c.Unchecked, Requests: c.Requests, Bytes: c.Bytes}
	}
	d.Samples.InOut, d.Samples.Conflicts, d.Windows.InOut = s.Held.Samples, s.Held.Conflicts, s.Held.Windows
	d.Samples.Written, _ = Totals(s.Installed)
	for _, h := range s.HeldBack {
		d.Samples.Future += h.Samples
	}
	if s.Exported {
		d.Samples.Written = uint64(d.Samples.Fetched)
	}
	for _, b := range s.Installed {
		d.Blocks = append(d.Blocks, Block{ULID: b.ULID, MinTime: extract.FormatTime(b.MinTime), MaxTime: extract.FormatTime(b.MaxTime), MinTimeMs: b.MinTime, MaxTimeMs: b.MaxTime,
			Duration: (time.Duration(b.MaxTime-b.MinTime) * time.Millisecond).Seconds(), Series: b.Series, Samples: b.Samples, Chunks: b.Chunks, Size: b.Size, Dir: b.Dir})
	}
	slices.SortFunc(d.Blocks, func(a, b Block) int { return cmp.Compare(a.MinTimeMs, b.MinTimeMs) })
	d.Served = servedDoc(s.Served, words)
	return d
}

func servedDoc(r *served.Result, words Wording) *Serving {
	if r == nil {
		return nil
	}
	d := &Serving{Windows: r.Windows, Served: r.Windows - len(r.Missing), After: r.After.Seconds(), Missing: []Unserved{}}
	for _, m := range r.Missing {
		n := Unserved{From: extract.FormatTime(m.Window.Start), To: extract.FormatTime(m.Window.End), FromMs: m.Window.Start, ToMs: m.Window.End, Expected: m.Want, Got: m.Got}
		if m.Err != nil {
			n.Error = words.Error(m.Err)
		}
		d.Missing = append(d.Missing, n)
	}
	return d
}

// status names the outcome; docs/reference.md documents the values.
func (s *Summary) status(end End) string {
	switch {
	case end.Err == nil:
		return "ok"
	case s.Served != nil && len(s.Served.Missing) > 0 && len(s.Result.Failed()) == 0 && len(s.Result.Gaps()) == 0:
		return "not_served" // an interrupt came during the wait, if at all
	case end.Interrupted:
		return "interrupted"
	case s.Result == nil:
		return "error" // before anything was fetched or read
	case len(s.Result.Failed()) > 0 || len(s.Result.Gaps()) > 0:
		return "incomplete"
	}
	for _, e := range s.Earlier {
		if len(e.Gaps) > 0 {
			return "incomplete"
		}
	}
	if _, fetched := s.Result.Totals(); fetched == 0 && s.Read == 0 && len(s.Earlier) == 0 {
		return "empty"
	}
	return "error" // after the fetch: writing the file or the blocks failed
}
