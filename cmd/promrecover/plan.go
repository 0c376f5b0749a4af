package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/state"
	"github.com/promrecover/promrecover/grafana"
	"github.com/promrecover/promrecover/recovery"
)

// defaultScrape is the scrape interval the estimates assume.
const defaultScrape = 15 * time.Second

func newPlanCmd(logger func() *slog.Logger) *cobra.Command {
	var f jobFlags
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what a recover would fetch, and estimate its cost, writing nothing",
		Long: `plan takes the flags of recover and prints, without writing anything:
the 2h windows, which of them an earlier recover into --out already installed
(from its resume state, when their blocks are still there), reach into the
last 3h (a running Prometheus's head) or fall past --retention; the series per metric the selectors match,
counted through the datasource's series API (through its resources or the
datasource proxy) or, where Grafana refuses both, with count queries, and
which of these answered; and estimates of the requests, samples and download size of
the windows that remain.

The estimates are rough: samples are series x range / --scrape-interval (or
--step), as if every series had samples for the whole range; bytes are about
20 bytes of JSON a sample, a third of that gzipped on the wire.
'promrecover recover --dry-run' prints the same.`,
		Example: `  # Once per shell: credentials from the environment, typed at a prompt,
  # stay out of the shell history and the process list.
  read -rsp 'service account token: ' GRAFANA_TOKEN && export GRAFANA_TOKEN
  export GRAFANA_URL=https://example.grafana.net

  # Windows, series per metric and estimates; writes nothing.
  promrecover plan --datasource grafanacloud-prom --from 2025-08-03T02:00:00Z \
      --to 2025-08-03T08:30:00Z --match '{job="traffic"}' --retention 15d --out /var/lib/prometheus

  # The estimate for every series scraped every 30s, and for the same resampled at 1m.
  promrecover plan --datasource grafanacloud-prom --from now-24h --to now-3h --scrape-interval 30s
  promrecover plan --datasource grafanacloud-prom --from now-24h --to now-3h --step 1m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			j, _, err := f.job(logger())
			if err != nil {
				return err
			}
			return printPlan(cmd.Context(), cmd.OutOrStdout(), j, f.scrape)
		},
	}
	f.conn.register(cmd.Flags())
	f.sel.register(cmd.Flags())
	cmd.Flags().StringVar(&f.conn.datasource, "datasource", "", "uid or name of the Prometheus datasource")
	cmd.Flags().StringVar(&f.out, "out", "", "Prometheus data directory, read (never written) for the windows an earlier recover installed there and, with --retention, the newest block")
	cmd.Flags().StringVar(&f.statePath, "state", "", "the resume state recover would read (default: "+blocks.StateFileName+" in --out); only read")
	cmd.Flags().BoolVar(&f.restart, "restart", false, "plan as recover --restart would run: every window, whatever the resume state says")
	cmd.Flags().StringVar(&f.retention, "retention", "", "the Prometheus's --storage.tsdb.retention.time (e.g. 200h), to mark the windows it would delete")
	cmd.Flags().DurationVar(&f.scrape, "scrape-interval", defaultScrape, "typical scrape interval, for the estimate of samples and bytes")
	f.rl.register(cmd.Flags())
	return cmd
}

// printPlan prints what running j would fetch, leaving out what an earlier
// run of the same plan installed; plan and recover --dry-run share it.
func printPlan(ctx context.Context, stdout io.Writer, j *recovery.Job, scrape time.Duration) error {
	earlier, err := j.EarlierDone()
	if err != nil {
		return outError(err)
	}
	if scrape <= 0 {
		return errors.New("--scrape-interval must be positive")
	}
	r, err := j.Report(ctx, earlier, scrape)
	if err != nil {
		return err
	}
	p := j.Plan
	fmt.Fprintf(stdout, "plan for datasource %s (uid %s): %s to %s, %d windows of 2h, %d selectors\n",
		r.Origin.Name, r.Origin.UID, extract.FormatTime(p.From), extract.FormatTime(p.To), len(p.Windows), len(p.Selectors))
	for _, s := range p.Selectors {
		fmt.Fprintf(stdout, "  --match %s\n", s)
	}
	if p.Step > 0 {
		fmt.Fprintf(stdout, "  resampled at --step %s\n", p.Step)
	}
	if !j.Relabel.Empty() {
		fmt.Fprintf(stdout, "relabelling before writing: %s (selectors match the labels as the source has them)\n", rulesAsFlags(j.Relabel))
	}
	fmt.Fprintln(stdout)
	printWindows(stdout, r, j.Retention)
	fmt.Fprintln(stdout)
	printSeries(stdout, r.Series)
	fmt.Fprintln(stdout)
	printEstimate(stdout, r, p, scrape)
	fmt.Fprintln(stdout, "\nnothing was written")
	return nil
}

// printWindows lists the plan's windows with what becomes of each.
func printWindows(stdout io.Writer, r *recovery.Report, retention time.Duration) {
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WINDOW\tNOTE")
	var inHead, past int
	earlier := r.Earlier.Windows
	for _, w := range r.Windows {
		var notes []string
		if i := slices.IndexFunc(earlier, func(e state.Window) bool { return e.Start == w.Start }); i >= 0 {
			notes = append(notes, "recovered by an earlier run (block "+earlier[i].ULID+"): skipped")
		}
		if w.InHead {
			inHead++
			notes = append(notes, "in the head (last 3h): overlaps what a running Prometheus holds")
		}
		if w.PastRetention {
			past++
			notes = append(notes, "past --retention: Prometheus deletes its block at the next reload")
		}
		fmt.Fprintf(tw, "%s\t%s\n", w.Window, strings.Join(notes, "; "))
	}
	tw.Flush()
	if inHead > 0 {
		fmt.Fprintf(stdout, "%d windows reach into the last 3h; stop at --to now-3h unless Prometheus was down for that time too\n", inHead)
	}
	if past > 0 {
		fmt.Fprintf(stdout, "%d windows are older than --retention %s; their blocks would be deleted\n", past, retention)
	}
	switch {
	case len(r.Todo.Windows) == 0:
		fmt.Fprintf(stdout, "all %d windows were recovered by an earlier run (state: %s): recover with these flags fetches nothing\n", len(r.Windows), r.Earlier.State)
	case len(earlier) > 0:
		fmt.Fprintf(stdout, "%d of %d windows were recovered by an earlier run (state: %s) and would be skipped; the estimates cover the other %d\n",
			len(earlier), len(r.Windows), r.Earlier.State, len(r.Todo.Windows))
	}
}

// printSeries prints what discovery found: the series per metric, and the
// series relabelling would merge.
func printSeries(stdout io.Writer, d recovery.Series) {
	if d.Refused != nil {
		fmt.Fprintf(stdout, "series: unknown: %s\n", discoveryFailure(d.Refused))
	}
	if len(d.Metrics) > 0 {
		width := len("SERIES")
		for _, m := range d.Metrics {
			width = max(width, len(countString(m.Series)))
		}
		width = max(width, len(countString(d.Total)))
		fmt.Fprintf(stdout, "series per metric, counted %s:\n", d.Via)
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "METRIC\t%*s\n", width, "SERIES")
		for _, m := range d.Metrics {
			fmt.Fprintf(tw, "%s\t%*s\n", m.Name, width, countString(m.Series))
		}
		fmt.Fprintf(tw, "total\t%*s\n", width, countString(d.Total))
		tw.Flush()
	} else if d.Refused == nil {
		fmt.Fprintln(stdout, "series: none of the selectors matches a series in the range")
	}
	for _, m := range d.Merges {
		fmt.Fprintf(stdout, "relabelling merges series: %s\n", m)
	}
	if len(d.Merges) > 0 {
		fmt.Fprintln(stdout, "recover fails every window in which merged series both have samples; drop fewer labels")
	}
	if d.Unchecked {
		fmt.Fprintln(stdout, "relabelling: series it would merge are not looked for (count queries give no label sets); recover fails a window where it merges series")
	}
}

// discoveryFailure says why the series could not be counted.
func discoveryFailure(err error) string {
	why := userText(err)
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

func printEstimate(stdout io.Writer, r *recovery.Report, p *extract.Plan, scrape time.Duration) {
	batches := (len(p.Selectors) + r.PerRequest - 1) / r.PerRequest
	fmt.Fprintf(stdout, "estimate (rough):\n")
	fmt.Fprintf(stdout, "  requests: %d (%d windows x %d of up to %d selectors each), more if some must be retried or split\n",
		r.Requests, len(r.Todo.Windows), batches, r.PerRequest)
	if r.Series.Total < 0 {
		fmt.Fprintln(stdout, "  samples and bytes: unknown without a series count")
		return
	}
	interval, what := scrape, "--scrape-interval"
	if p.Step > 0 {
		interval, what = p.Step, "--step"
	}
	fmt.Fprintf(stdout, "  samples: %d (%d series x %s / %s %s; less for series that start or stop within the range)\n",
		r.Samples, r.Series.Total, r.Span, what, interval)
	fmt.Fprintf(stdout, "  download: %s of JSON, about %s gzipped (~%d bytes a sample, /%d with gzip)\n",
		formatBytes(r.JSONBytes), formatBytes(r.GzipBytes), extract.JSONBytesPerSample, extract.GzipFactor)
}

func countString(n int) string {
	if n < 0 {
		return "unknown"
	}
	return fmt.Sprint(n)
}
