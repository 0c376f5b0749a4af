package main

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/recovery"
	"github.com/promrecover/promrecover/report"
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
		Example: example("plan"),
		Args:    cobra.NoArgs,
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
	cmd.Flags().StringVar(&f.conn.datasource, "datasource", "", "uid or name of the Prometheus datasource (default: the only one the credentials see)")
	cmd.Flags().StringVarP(&f.out, "out", "o", "", "Prometheus data directory, read (never written) for the windows an earlier recover installed there and, with --retention, the newest block")
	cmd.Flags().StringVar(&f.statePath, "state", "", "the resume state recover would read (default: "+blocks.StateFileName+" in --out); only read")
	cmd.Flags().BoolVar(&f.restart, "restart", false, "plan as recover --restart would run: every window, whatever the resume state says")
	cmd.Flags().StringVar(&f.retention, "retention", "", "the Prometheus's --storage.tsdb.retention.time (e.g. 200h), to mark the windows it would delete")
	cmd.Flags().DurationVar(&f.scrape, "scrape-interval", defaultScrape, "typical scrape interval, for the estimate of samples and bytes")
	f.rl.register(cmd.Flags())
	flagGroups.Apply(cmd, "grafana-url", "from")
	return cmd
}

// printPlan prints what running j would fetch, leaving out what an earlier
// run of the same plan installed; plan and recover --dry-run share it.
func printPlan(ctx context.Context, stdout io.Writer, j *recovery.Job, scrape time.Duration) error {
	earlier, err := j.EarlierDone(ctx)
	if err != nil {
		return outError(err)
	}
	if scrape <= 0 {
		return usagef("--scrape-interval must be positive")
	}
	r, err := j.Report(ctx, earlier, scrape)
	if err != nil {
		return err
	}
	(&report.Plan{Job: j, Report: r, Scrape: scrape}).Text(stdout, words)
	return nil
}
