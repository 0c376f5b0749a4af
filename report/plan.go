package report

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/state"
	"github.com/promrecover/promrecover/grafana"
	"github.com/promrecover/promrecover/recovery"
)

// Plan is what running a job would fetch and cost: the job, the report on
// it, and the scrape interval the report's estimates assumed.
type Plan struct {
	Job    *recovery.Job
	Report *recovery.Report
	Scrape time.Duration
}

// Text writes the plan.
func (pl *Plan) Text(w io.Writer, words Wording) {
	r, p := pl.Report, pl.Job.Plan
	fmt.Fprintf(w, "plan for datasource %s (uid %s): %s to %s, %d windows of 2h, %d selectors\n",
		r.Origin.Name, r.Origin.UID, extract.FormatTime(p.From), extract.FormatTime(p.To), len(p.Windows), len(p.Selectors))
	for _, s := range p.Selectors {
		fmt.Fprintf(w, "  %s %s\n", words.Match, s)
	}
	if p.Step > 0 {
		fmt.Fprintf(w, "  resampled at %s %s\n", words.Step, p.Step)
	}
	if !pl.Job.Relabel.Empty() {
		fmt.Fprintf(w, "relabelling before writing: %s (selectors match the labels as the source has them)\n", words.Rules(pl.Job.Relabel))
	}
	fmt.Fprintln(w)
	pl.windows(w, words)
	fmt.Fprintln(w)
	series(w, r.Series, words)
	fmt.Fprintln(w)
	pl.estimate(w, words)
	fmt.Fprintln(w, "\nnothing was written")
}

// windows lists the plan's windows with what becomes of each: one row for a
// run of adjacent windows with the same note, so that a week of 2h windows
// is a line, not 84.
func (pl *Plan) windows(w io.Writer, words Wording) {
	r := pl.Report
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WINDOWS\t\tNOTE")
	var inHead, past int
	earlier := r.Earlier.Windows
	var run []windowNote
	for _, win := range r.Windows {
		var notes []string
		if i := slices.IndexFunc(earlier, func(e state.Window) bool { return e.Start == win.Start }); i >= 0 {
			notes = append(notes, "recovered by an earlier run (block "+earlier[i].ULID+"): skipped")
		}
		if win.InHead {
			inHead++
			notes = append(notes, "in the head (last 3h): overlaps what a running Prometheus holds")
		}
		if win.PastRetention {
			past++
			notes = append(notes, "past "+words.Retention+": Prometheus deletes its block at the next reload")
		}
		run = append(run, windowNote{win.Window, strings.Join(notes, "; ")})
	}
	for _, row := range collapse(run) {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", row.span, row.count, row.note)
	}
	tw.Flush()
	if inHead > 0 {
		fmt.Fprintf(w, "%d windows reach into the last 3h; stop at %s now-3h unless Prometheus was down for that time too\n", inHead, words.To)
	}
	if d := pl.Job.Ahead(); d > 0 {
		fmt.Fprintf(w, "the range ends %s after now: recover into a data directory refuses it, as a block reaching past now would make Prometheus drop every scrape until then; stop at %s now\n", d.Round(time.Second), words.To)
	}
	if past > 0 {
		fmt.Fprintf(w, "%d windows are older than %s %s; their blocks would be deleted\n", past, words.Retention, pl.Job.Retention)
	}
	switch {
	case len(r.Todo.Windows) == 0:
		fmt.Fprintf(w, "all %d windows were recovered by an earlier run (state: %s): recover with these flags fetches nothing\n", len(r.Windows), r.Earlier.State)
	case len(earlier) > 0:
		fmt.Fprintf(w, "%d of %d windows were recovered by an earlier run (state: %s) and would be skipped; the estimates cover the other %d\n",
			len(earlier), len(r.Windows), r.Earlier.State, len(r.Todo.Windows))
	}
}

// windowNote is a window of the plan and what the plan says of it.
type windowNote struct {
	extract.Window
	note string
}

// windowRow is a row of the plan's windows: a run of adjacent windows
// with the same note.
type windowRow struct{ span, count, note string }

// collapse makes a row of each run of adjacent windows with the same note.
func collapse(windows []windowNote) []windowRow {
	var rows []windowRow
	for i := 0; i < len(windows); {
		j := i + 1
		for j < len(windows) && windows[j].note == windows[i].note && windows[j].Start == windows[j-1].End {
			j++
		}
		count := "1 window"
		if j-i > 1 {
			count = fmt.Sprintf("%d windows", j-i)
		}
		span := rfc3339(windows[i].Start) + " .. " + rfc3339(windows[j-1].End)
		rows = append(rows, windowRow{span, count, windows[i].note})
		i = j
	}
	return rows
}

// series writes what discovery found: the series per metric, and the
// series relabelling would merge.
func series(w io.Writer, d recovery.Series, words Wording) {
	if d.Refused != nil {
		fmt.Fprintf(w, "series: unknown: %s\n", discoveryFailure(d.Refused, words))
	}
	if len(d.Metrics) > 0 {
		width := len("SERIES")
		for _, m := range d.Metrics {
			width = max(width, len(countString(m.Series)))
		}
		width = max(width, len(countString(d.Total)))
		fmt.Fprintf(w, "series per metric, counted %s:\n", d.Via)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "METRIC\t%*s\n", width, "SERIES")
		for _, m := range d.Metrics {
			fmt.Fprintf(tw, "%s\t%*s\n", m.Name, width, countString(m.Series))
		}
		fmt.Fprintf(tw, "total\t%*s\n", width, countString(d.Total))
		tw.Flush()
	} else if d.Refused == nil {
		fmt.Fprintln(w, "series: none of the selectors matches a series in the range")
	}
	for _, m := range d.Merges {
		fmt.Fprintf(w, "relabelling merges series: %s\n", m)
	}
	if len(d.Merges) > 0 {
		fmt.Fprintln(w, "recover fails every window in which merged series both have samples; drop fewer labels")
	}
	if d.Unchecked {
		fmt.Fprintln(w, "relabelling: series it would merge are not looked for (count queries give no label sets); recover fails a window where it merges series")
	}
}

// discoveryFailure says why the series could not be counted.
func discoveryFailure(err error, words Wording) string {
	why := words.Error(err)
	var se *grafana.StatusError
	if errors.As(err, &se) {
		// Without the path, which repeats the selectors URL-encoded;
		// what the error says around it stays.
		short := fmt.Sprintf("HTTP %d", se.Status)
		if se.Message != "" {
			short += ": " + se.Message
		}
		why = strings.Replace(why, se.Error(), short, 1)
	}
	return "series discovery failed: " + why
}

func (pl *Plan) estimate(w io.Writer, words Wording) {
	r, p := pl.Report, pl.Job.Plan
	batches := (len(p.Selectors) + r.PerRequest - 1) / r.PerRequest
	fmt.Fprintf(w, "estimate (rough):\n")
	fmt.Fprintf(w, "  requests: %d (%d windows x %d of up to %d selectors each), more if some must be retried or split\n",
		r.Requests, len(r.Todo.Windows), batches, r.PerRequest)
	if r.Series.Total < 0 {
		fmt.Fprintln(w, "  samples and bytes: unknown without a series count")
		return
	}
	interval, what := pl.Scrape, words.ScrapeInterval
	if p.Step > 0 {
		interval, what = p.Step, words.Step
	}
	fmt.Fprintf(w, "  samples: %d (%d series x %s / %s %s; less for series that start or stop within the range)\n",
		r.Samples, r.Series.Total, r.Span, what, interval)
	fmt.Fprintf(w, "  download: %s of JSON, about %s gzipped (~%d bytes a sample, /%d with gzip)\n",
		FormatBytes(r.JSONBytes), FormatBytes(r.GzipBytes), extract.JSONBytesPerSample, extract.GzipFactor)
}

func countString(n int) string {
	if n < 0 {
		return "unknown"
	}
	return fmt.Sprint(n)
}
