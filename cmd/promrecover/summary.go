package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/pflag"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/state"
	"github.com/promrecover/promrecover/grafana"
	"github.com/promrecover/promrecover/recovery"
)

// summary is what a run reports at its end. A run fills it as it goes, so
// that a run that fails partway still has what it got to for --summary-json.
type summary struct {
	ds        recovery.Origin
	plan      *extract.Plan
	input     string // import: the file read
	res       *extract.Result
	read      int64 // import: samples read, failed windows included
	stats     *grafana.Stats
	installed []blocks.Block
	earlier   []state.Window // installed by earlier runs of the same plan
	state     string
	elapsed   time.Duration
	covered   int64 // with --only-gaps: fetched samples where surviving data has samples, not written
	exported  bool  // export: the file was written
}

func printSummary(w io.Writer, s summary) {
	res, st, installed := s.res, *s.stats, s.installed
	_, fetched := res.Totals()
	failed := res.Failed()
	written, repeats := blockTotals(installed)
	var earlierSamples uint64
	for _, e := range s.earlier {
		earlierSamples += e.Samples
	}
	switch {
	case len(res.Windows) == 0 && len(s.earlier) > 0:
		// "recovered 0 of 0 windows" would read as a failure.
		fmt.Fprintf(w, "\nnothing left to recover from %s (%s): all %d windows (%d samples) were recovered by an earlier run and skipped (state: %s)\n",
			s.ds.Name, s.ds.UID, len(s.earlier), earlierSamples, s.state)
	default:
		fmt.Fprintf(w, "\nrecovered %d of %d windows from %s (%s) in %s\n", len(res.Windows)-len(failed), len(res.Windows), s.ds.Name, s.ds.UID, s.elapsed.Round(time.Millisecond))
		if len(s.earlier) > 0 {
			fmt.Fprintf(w, "%d more windows (%d samples) were recovered by an earlier run and skipped (state: %s)\n", len(s.earlier), earlierSamples, s.state)
		}
	}
	fmt.Fprintf(w, "requests %d, retries %d, session rotations %d, %s received on the wire (%s decompressed)\n", st.Requests, st.Retries, st.Rotations, formatBytes(st.WireBytes), formatBytes(st.Bytes))
	fmt.Fprintf(w, "fetched %d samples of %d series; written %d samples in %d blocks\n", fetched, res.DistinctSeries, written, len(installed))
	if s.covered > 0 {
		fmt.Fprintf(w, "%d fetched samples fall where the surviving data has samples and were left out (--only-gaps)\n", s.covered)
	}
	if repeats > 0 {
		fmt.Fprintf(w, "%d series came again from overlapping selectors in the same window and were written once\n", repeats)
	}
	printBlocks(w, installed)
	for _, f := range failed {
		fmt.Fprintf(w, "NOT RECOVERED %s: %s\n", f.Window, windowReason(f.Err))
	}
	for _, g := range res.Gaps() {
		fmt.Fprintf(w, "NOT RECOVERED %s\n", userReason(g.String()))
	}
	for _, e := range s.earlier {
		for _, g := range e.Gaps {
			fmt.Fprintf(w, "NOT RECOVERED (by an earlier run) %s\n", userReason(g.String()))
		}
	}
	for _, r := range res.Windows {
		if r.Conflicts > 0 {
			fmt.Fprintf(w, "window %s: %d samples had a second, different value at the same timestamp; the first was kept\n", r.Window, r.Conflicts)
		}
	}
}

// windowReason is what a NOT RECOVERED line says of a failed window. An
// error that stopped the run is explained, with its fix, once: in the run's
// error, printed last; the lines of the windows it stopped only name it.
func windowReason(err error) string {
	if errors.Is(err, context.Canceled) {
		// Ctrl-C or SIGTERM, not a fault of the window: the chain of
		// wrappers would end in a bare "context canceled".
		return "interrupted before it was done; the same command fetches it"
	}
	var abort *extract.AbortError
	if !errors.As(err, &abort) {
		return userText(err)
	}
	var se *grafana.StatusError
	if errors.As(err, &se) {
		return se.Error() + " (the run stopped: the fix is in the error at the end)"
	}
	return "the run stopped (the cause and its fix are in the error at the end)"
}

// blockTotals sums the samples written in installed blocks and the repeated
// series they skipped.
func blockTotals(installed []blocks.Block) (written, repeats uint64) {
	for _, b := range installed {
		written += b.Samples
		repeats += b.Duplicates
	}
	return written, repeats
}

// printBlocks lists installed blocks as verify and 'promtool tsdb list' do.
func printBlocks(w io.Writer, installed []blocks.Block) {
	if len(installed) == 0 {
		return
	}
	list := make([]blocks.BlockInfo, len(installed))
	for i, b := range installed {
		list[i] = blocks.BlockInfo{ULID: b.ULID, MinTime: b.MinTime, MaxTime: b.MaxTime, Series: b.Series, Samples: b.Samples, Chunks: b.Chunks, Size: b.Size}
	}
	// Windows finish in whatever order the workers get to them.
	slices.SortFunc(list, func(a, b blocks.BlockInfo) int { return cmp.Compare(a.MinTime, b.MinTime) })
	printBlockList(w, list)
}

func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// report writes --summary-json: the end-of-run summary for scripts. Its
// fields are the schema README's "Commands and flags" documents.
type report struct {
	command string
	path    string // "" when --summary-json is not given
	sum     summary
}

func (r *report) register(fs *pflag.FlagSet) {
	fs.StringVar(&r.path, "summary-json", "", "also write the end-of-run summary as JSON to this file, whatever the outcome (for scripts; schema in the README)")
}

// check fails at once on a --summary-json whose directory is missing, rather
// than after hours of fetching.
func (r *report) check() error {
	if r.path == "" || r.path == "-" {
		return nil
	}
	dir := filepath.Dir(r.path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("--summary-json %s: the directory %s does not exist", r.path, dir)
	}
	return nil
}

// write writes the report of a run that ended with runErr, and returns
// runErr, or the failure to write when the run itself went well. It writes
// whatever the outcome: a script learns most from the report of a failed run.
func (r *report) write(ctx context.Context, stdout io.Writer, runErr error) error {
	if r.path == "" {
		return runErr
	}
	b, err := json.MarshalIndent(r.document(ctx, runErr), "", "  ")
	if err == nil {
		err = writeOutput(r.path, stdout, func(w io.Writer) error {
			_, err := w.Write(append(b, '\n'))
			return err
		})
	}
	switch {
	case err == nil:
		return runErr
	case runErr == nil:
		return fmt.Errorf("--summary-json: %w", err)
	}
	return fmt.Errorf("%w (and --summary-json was not written: %v)", runErr, err)
}

type reportDoc struct {
	Command  string `json:"command"`
	Status   string `json:"status"`
	ExitCode int    `json:"exit_code"`
	Error    string `json:"error,omitempty"`
	// Datasource and Range are those of recover and export; Input is the
	// file import read.
	Datasource *reportDatasource `json:"datasource,omitempty"`
	Range      *reportRange      `json:"range,omitempty"`
	Input      string            `json:"input,omitempty"`
	Windows    reportWindows     `json:"windows"`
	// NotRecovered lists every whole window and every part of a window
	// that is missing from the result.
	NotRecovered []reportMissing `json:"not_recovered"`
	Requests     *reportRequests `json:"requests,omitempty"`
	Samples      reportSamples   `json:"samples"`
	Blocks       []reportBlock   `json:"blocks"`
	StateFile    string          `json:"state_file,omitempty"`
	Elapsed      float64         `json:"elapsed_seconds"`
}

type reportDatasource struct {
	UID  string `json:"uid"`
	Name string `json:"name"`
}

type reportRange struct {
	From   string `json:"from"`
	To     string `json:"to"`
	FromMs int64  `json:"from_ms"`
	ToMs   int64  `json:"to_ms"`
}

type reportWindows struct {
	Total     int `json:"total"`
	Recovered int `json:"recovered"`
	Failed    int `json:"failed"`
	Earlier   int `json:"earlier"` // recovered by an earlier run of the same plan, skipped
}

type reportMissing struct {
	Kind     string `json:"kind"` // "window" or "gap"
	Selector string `json:"selector,omitempty"`
	From     string `json:"from"`
	To       string `json:"to"`
	FromMs   int64  `json:"from_ms"`
	ToMs     int64  `json:"to_ms"`
	Reason   string `json:"reason"`
	Earlier  bool   `json:"earlier_run,omitempty"`
}

type reportRequests struct {
	Requests  int64 `json:"requests"`
	Retries   int64 `json:"retries"`
	Rotations int64 `json:"session_rotations"`
	WireBytes int64 `json:"wire_bytes"`
	Bytes     int64 `json:"bytes"`
}

type reportSamples struct {
	Series  int    `json:"series"`
	Fetched int64  `json:"fetched"`
	Written uint64 `json:"written"`
	Covered int64  `json:"only_gaps_skipped,omitempty"`
}

type reportBlock struct {
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

func (r *report) document(ctx context.Context, runErr error) reportDoc {
	s := &r.sum
	d := reportDoc{Command: r.command, Status: r.status(ctx, runErr), Input: s.input, StateFile: s.state,
		Elapsed: s.elapsed.Seconds(), NotRecovered: []reportMissing{}, Blocks: []reportBlock{}}
	if runErr != nil {
		d.ExitCode = 1
		var ex *exitError
		if errors.As(runErr, &ex) {
			d.ExitCode = ex.code
		}
		d.Error = userText(runErr)
	}
	if s.ds.UID != "" {
		d.Datasource = &reportDatasource{UID: s.ds.UID, Name: s.ds.Name}
	}
	if s.plan != nil {
		d.Range = &reportRange{From: extract.FormatTime(s.plan.From), To: extract.FormatTime(s.plan.To), FromMs: s.plan.From, ToMs: s.plan.To}
		d.Windows.Total = len(s.plan.Windows)
	}
	if st := s.stats; st != nil {
		d.Requests = &reportRequests{Requests: st.Requests, Retries: st.Retries, Rotations: st.Rotations, WireBytes: st.WireBytes, Bytes: st.Bytes}
	}
	missing := func(kind string, g extract.Gap, earlier bool) {
		d.NotRecovered = append(d.NotRecovered, reportMissing{Kind: kind, Selector: g.Selector, From: extract.FormatTime(g.From), To: extract.FormatTime(g.To),
			FromMs: g.From, ToMs: g.To, Reason: userReason(g.Reason), Earlier: earlier})
	}
	d.Windows.Earlier = len(s.earlier)
	for _, e := range s.earlier {
		for _, g := range e.Gaps {
			missing("gap", g, true)
		}
	}
	if res := s.res; res != nil {
		failed := res.Failed()
		d.Windows.Failed = len(failed)
		d.Windows.Recovered = len(res.Windows) - len(failed)
		if s.plan == nil {
			d.Windows.Total = len(res.Windows)
		}
		for _, f := range failed {
			missing("window", extract.Gap{From: f.Window.Start, To: f.Window.End, Reason: userText(f.Err)}, false)
		}
		for _, g := range res.Gaps() {
			missing("gap", g, false)
		}
		d.Samples.Series = res.DistinctSeries
		_, d.Samples.Fetched = res.Totals()
	}
	if s.input != "" {
		d.Samples.Fetched = s.read
	}
	d.Samples.Covered = s.covered
	d.Samples.Written, _ = blockTotals(s.installed)
	if s.exported {
		d.Samples.Written = uint64(d.Samples.Fetched)
	}
	for _, b := range s.installed {
		d.Blocks = append(d.Blocks, reportBlock{ULID: b.ULID, MinTime: extract.FormatTime(b.MinTime), MaxTime: extract.FormatTime(b.MaxTime), MinTimeMs: b.MinTime, MaxTimeMs: b.MaxTime,
			Duration: (time.Duration(b.MaxTime-b.MinTime) * time.Millisecond).Seconds(), Series: b.Series, Samples: b.Samples, Chunks: b.Chunks, Size: b.Size, Dir: b.Dir})
	}
	slices.SortFunc(d.Blocks, func(a, b reportBlock) int { return cmp.Compare(a.MinTimeMs, b.MinTimeMs) })
	return d
}

// status names the outcome; README documents the values.
func (r *report) status(ctx context.Context, runErr error) string {
	s := &r.sum
	switch {
	case runErr == nil:
		return "ok"
	case ctx.Err() != nil:
		return "interrupted"
	case s.res == nil:
		return "error" // before anything was fetched or read
	case len(s.res.Failed()) > 0 || len(s.res.Gaps()) > 0:
		return "incomplete"
	}
	for _, e := range s.earlier {
		if len(e.Gaps) > 0 {
			return "incomplete"
		}
	}
	if _, fetched := s.res.Totals(); fetched == 0 && s.read == 0 && len(s.earlier) == 0 {
		return "empty"
	}
	return "error" // after the fetch: writing the file or the blocks failed
}
