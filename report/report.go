// Package report holds the texts a run ends with: the summary a person
// reads, the document --summary-json gives a script (its schema is in
// docs/reference.md), the plan, the table of holes and the list of blocks.
// Each is built from the values the other packages return, so that every
// command, and every source or sink a later one adds, prints them alike.
//
// The texts never name a flag: what the user set is named through a
// Wording, which the program fills in its own terms.
package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/crosscheck"
	"github.com/promrecover/promrecover/extract/relabel"
	"github.com/promrecover/promrecover/extract/state"
	"github.com/promrecover/promrecover/grafana"
	"github.com/promrecover/promrecover/recovery"
	"github.com/promrecover/promrecover/served"
)

// Wording is how the program words the libraries' errors and the
// parameters the texts refer to.
type Wording struct {
	Error  func(error) string  // an error's text as the user reads it
	Reason func(string) string // likewise for a text that kept no error: a gap's reason
	// The parameters, as the user gives them: writing only into the
	// holes of the surviving data, the selectors, the resampling step,
	// the range's end, the Prometheus's retention, the scrape interval
	// the estimates assume and the data directory written to.
	OnlyGaps, Match, Step, To, Retention, ScrapeInterval, Out string
	// Wait bounds the wait for the Prometheus that serves Out.
	Wait  string
	Rules func(relabel.Rules) string // relabelling rules as the user gave them
}

// Summary is what a run reports at its end. A run fills it as it goes, so
// that a run that fails partway still has what it got to.
type Summary struct {
	Origin recovery.Origin
	Plan   *extract.Plan
	Input  string // import: the file read
	Result *extract.Result
	Read   int64 // import: samples read, failed windows included
	Stats  *grafana.Stats
	// RemoteRead is how a remote read source answered, Streamed or
	// Samples; "" for the other APIs.
	RemoteRead string
	Installed  []blocks.Block
	Earlier    []state.Window // installed by earlier runs of the same plan
	State      string
	Elapsed    time.Duration
	Covered    int64             // fetched samples where surviving data has samples, not written
	Held       blocks.Held       // what the data directory already held of what was fetched
	HeldBack   []blocks.HeldBack // samples stamped after the time of the run, not written
	Exported   bool              // export: the file was written
	Served     *served.Result    // how the wait for the Prometheus ended; nil without one
	// Crosscheck is what the check with the source's counts did; nil when
	// it was not done.
	Crosscheck *crosscheck.Stats
}

// Text writes the summary of a recovery.
func (s *Summary) Text(w io.Writer, words Wording) {
	res, st, installed := s.Result, *s.Stats, s.Installed
	_, fetched := res.Totals()
	failed := res.Failed()
	written, repeats := Totals(installed)
	var earlierSamples uint64
	for _, e := range s.Earlier {
		earlierSamples += e.Samples
	}
	switch {
	case len(res.Windows) == 0 && len(s.Earlier) > 0:
		// "recovered 0 of 0 windows" would read as a failure.
		fmt.Fprintf(w, "\nnothing left to recover from %s (%s): all %d windows (%d samples) were recovered by an earlier run and skipped (state: %s)\n",
			s.Origin.Name, s.Origin.UID, len(s.Earlier), earlierSamples, s.State)
	default:
		whole, partial := recovery.Whole(res)
		inPart := ""
		if partial > 0 {
			// A window with parts that could not be fetched is not
			// recovered, nor failed: it is written, with holes.
			inPart = fmt.Sprintf(" whole and %d in part", partial)
		}
		fmt.Fprintf(w, "\nrecovered %d of %d windows%s from %s (%s) in %s\n", whole, len(res.Windows), inPart, s.Origin.Name, s.Origin.UID, s.Elapsed.Round(time.Millisecond))
		if len(s.Earlier) > 0 {
			fmt.Fprintf(w, "%d more windows (%d samples) were recovered by an earlier run and skipped (state: %s)\n", len(s.Earlier), earlierSamples, s.State)
		}
	}
	fmt.Fprintf(w, "requests %d, retries %d, session rotations %d, %s received on the wire (%s decompressed)\n", st.Requests, st.Retries, st.Rotations, FormatBytes(st.WireBytes), FormatBytes(st.Bytes))
	remoteRead(w, s.RemoteRead)
	fmt.Fprintf(w, "fetched %d samples of %d series; written %d samples in %d blocks\n", fetched, res.DistinctSeries, written, len(installed))
	if c := s.Crosscheck; c != nil {
		Crosschecked(w, c)
	}
	if s.Covered > 0 {
		fmt.Fprintf(w, "%d fetched samples fall where the surviving data has samples and were left out (%s)\n", s.Covered, words.OnlyGaps)
	}
	held(w, s.Held, "fetched samples", words.Out)
	HeldBack(w, s.HeldBack)
	if repeats > 0 {
		fmt.Fprintf(w, "%d series came again from overlapping selectors in the same window and were written once\n", repeats)
	}
	Installed(w, installed)
	Served(w, s.Served, words)
	for _, f := range failed {
		fmt.Fprintf(w, "NOT RECOVERED %s: %s\n", f.Window, WindowReason(f.Err, words))
	}
	if n := res.Interrupted(); n > 0 {
		// Once, not a line each: the run's error, printed last, says how
		// to resume.
		fmt.Fprintf(w, "interrupted: %d of %d windows were left to recover (not fetched, or cut short and discarded)\n", n, len(res.Windows))
	}
	for _, g := range res.Gaps() {
		fmt.Fprintf(w, "NOT RECOVERED %s\n", words.Reason(g.String()))
	}
	for _, e := range s.Earlier {
		for _, g := range e.Gaps {
			fmt.Fprintf(w, "NOT RECOVERED (by an earlier run) %s\n", words.Reason(g.String()))
		}
	}
	for _, r := range res.Windows {
		if r.Conflicts > 0 {
			fmt.Fprintf(w, "window %s: %d samples had a second, different value at the same timestamp; the first was kept (series %s)\n", r.Window, r.Conflicts, r.ConflictText())
		}
	}
}

// held says what the data directory (out, as the user names it) already
// held of what a run got (what: "fetched samples", "samples read"), and so
// was not written again.
func held(w io.Writer, h blocks.Held, what, out string) {
	if h.Samples > 0 {
		fmt.Fprintf(w, "%d %s were already in the output directory (%s) and were not written again", h.Samples, what, out)
		if h.Windows > 0 {
			fmt.Fprintf(w, "; %d windows were there whole and got no block", h.Windows)
		}
		fmt.Fprintln(w)
	}
	if h.Conflicts > 0 {
		fmt.Fprintf(w, "%d %s differ from the value the output directory (%s) holds at their timestamp; the value there was kept\n", h.Conflicts, what, out)
	}
}

// Interrupted is what the error of an interrupted run says: the same
// command again (with hint, the flags that pin its range) recovers the
// rest; state is the resume state's path, named when the file is there: it
// is written only once a window is installed.
func Interrupted(recovered, total int, hint, state string) string {
	msg := fmt.Sprintf("interrupted with %d of %d windows recovered; run the same command again%s to recover the rest", recovered, total, hint)
	if _, err := os.Stat(state); state != "" && err == nil {
		msg += " (state: " + state + ")"
	}
	return msg
}

// Crosschecked says what the check with the source's counts did.
func Crosschecked(w io.Writer, c *crosscheck.Stats) {
	fmt.Fprintf(w, "checked %s against the source's counts (%s, %s): %d differed", queries(c.Checked), count(c.Requests, "request"), FormatBytes(c.Bytes), c.Differing)
	switch {
	case c.Refetched > 0 && c.Failed == 0:
		fmt.Fprint(w, " and came whole when fetched again")
	case c.Failed == 1:
		fmt.Fprint(w, "; 1 still differed when fetched again, and its window is not installed")
	case c.Failed > 1:
		fmt.Fprintf(w, "; %d still differed when fetched again, and their windows are not installed", c.Failed)
	}
	if c.Unchecked > 0 {
		fmt.Fprintf(w, "; %s not checked (could not be counted, or came in part)", queries(c.Unchecked))
	}
	fmt.Fprintln(w)
}

// queries is n queries, in words.
func queries(n int) string {
	if n == 1 {
		return "1 query"
	}
	return fmt.Sprintf("%d queries", n)
}

// HeldBack says, a line a window, what was not written for being stamped
// after the time of the run.
func HeldBack(w io.Writer, held []blocks.HeldBack) {
	for _, h := range held {
		fmt.Fprintf(w, "window %s: %d samples stamped after %s (the time of the run and a minute of skew) were held back: a block holding them would make Prometheus drop every scrape until then\n",
			h.Window, h.Samples, extract.FormatTime(h.NotAfter))
	}
}

// Shortfall is what the error of a run that missed something says of it:
// failed of total windows not recovered, and gaps parts of partial others
// that could not be fetched.
func Shortfall(failed, partial, gaps, total int) string {
	switch {
	case failed > 0 && gaps > 0:
		return fmt.Sprintf("%d of %d windows were not recovered, and %s of %s could not be fetched (listed above)", failed, total, count(gaps, "part"), count(partial, "other window"))
	case gaps > 0:
		return fmt.Sprintf("%d of %d windows were recovered only in part: %s could not be fetched (listed above)", partial, total, count(gaps, "part"))
	}
	return fmt.Sprintf("%d of %d windows were not recovered", failed, total)
}

// count is n and noun, plural unless n is 1.
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// WindowReason is what the line of a failed window says of it. An error
// that stopped the run is explained, with its fix, once: in the run's
// error, printed last; the lines of the windows it stopped only name it.
func WindowReason(err error, words Wording) string {
	if errors.Is(err, context.Canceled) {
		// Ctrl-C or SIGTERM, not a fault of the window: the chain of
		// wrappers would end in a bare "context canceled".
		return "interrupted before it was done; the same command fetches it"
	}
	var abort *extract.AbortError
	if !errors.As(err, &abort) {
		return words.Error(err)
	}
	var se *grafana.StatusError
	if errors.As(err, &se) {
		return se.Error() + " (the run stopped: the fix is in the error at the end)"
	}
	return "the run stopped (the cause and its fix are in the error at the end)"
}

// Totals sums the samples written in installed blocks and the repeated
// series they skipped.
func Totals(installed []blocks.Block) (written, repeats uint64) {
	for _, b := range installed {
		written += b.Samples
		repeats += b.Duplicates
	}
	return written, repeats
}

// Installed lists the blocks a run installed, as BlockList does.
func Installed(w io.Writer, installed []blocks.Block) {
	if len(installed) == 0 {
		return
	}
	list := make([]blocks.BlockInfo, len(installed))
	for i, b := range installed {
		list[i] = blocks.BlockInfo{ULID: b.ULID, MinTime: b.MinTime, MaxTime: b.MaxTime, Series: b.Series, Samples: b.Samples, Chunks: b.Chunks, Size: b.Size}
	}
	// Windows finish in whatever order the workers get to them.
	slices.SortFunc(list, func(a, b blocks.BlockInfo) int { return cmp.Compare(a.MinTime, b.MinTime) })
	BlockList(w, list)
}

// How a remote read source answered, as Prometheus's protocol names it.
const (
	RemoteReadStreamed = "STREAMED_XOR_CHUNKS"
	RemoteReadSamples  = "SAMPLES"
)

// remoteRead says how remote read answered, where it did.
func remoteRead(w io.Writer, answer string) {
	switch answer {
	case RemoteReadStreamed:
		fmt.Fprintf(w, "remote read answered with the stored chunks (%s)\n", RemoteReadStreamed)
	case RemoteReadSamples:
		fmt.Fprintf(w, "remote read answered with samples (%s): the server does not stream chunks, so each answer was held whole on both sides\n", RemoteReadSamples)
	}
}

// Served says how the wait for the Prometheus that serves the data
// directory ended: every window served, or a line each for those it did
// not serve as written.
func Served(w io.Writer, r *served.Result, words Wording) {
	if r == nil {
		return
	}
	if len(r.Missing) == 0 {
		fmt.Fprintf(w, "all %s served by Prometheus after %s\n", count(r.Windows, "window"), r.After.Round(time.Second))
		return
	}
	for _, m := range r.Missing {
		if m.Err != nil {
			fmt.Fprintf(w, "NOT SERVED %s: %s\n", m.Window, words.Error(m.Err))
			continue
		}
		fmt.Fprintf(w, "NOT SERVED %s: Prometheus serves %d samples there after %s, %d expected\n", m.Window, m.Got, r.After.Round(time.Second), m.Want)
	}
}

// NotServed is what the error of a run says whose windows the Prometheus
// did not serve within the wait: what to check.
func NotServed(r *served.Result, words Wording) string {
	if r.Interrupted {
		return fmt.Sprintf("interrupted while waiting for Prometheus at %s to serve the windows installed: %d of %s not yet served (listed above); the blocks are installed",
			r.URL, len(r.Missing), count(r.Windows, "window"))
	}
	return fmt.Sprintf("Prometheus at %s does not serve %d of the %s installed as written after %s (listed above); the blocks are installed. "+
		"Check that it runs on this data directory (its --storage.tsdb.path), that its retention keeps blocks this old (--storage.tsdb.retention.time/size), "+
		"and that it has had time to load them (it looks for new blocks once a minute: a longer %s)",
		r.URL, len(r.Missing), count(r.Windows, "window"), r.After.Round(time.Second), words.Wait)
}
