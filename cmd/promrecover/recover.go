package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/gaps"
	"github.com/promrecover/promrecover/extract/state"
	"github.com/promrecover/promrecover/grafana"
	"github.com/promrecover/promrecover/internal/exitcode"
	"github.com/promrecover/promrecover/progress"
	"github.com/promrecover/promrecover/recovery"
	"github.com/promrecover/promrecover/report"
	"github.com/promrecover/promrecover/served"
)

// jobFlags are the flags of recover and plan: what to fetch, from where,
// and where the blocks go.
type jobFlags struct {
	conn      connFlags
	sel       selectFlags
	rl        relabelFlags
	out       string
	retention string
	statePath string
	restart   bool
	scrape    time.Duration
	bkt       bucketFlags
	shard     string
}

// job checks the flags, the cheap checks first, and builds the job they
// describe, with the client it reads through.
func (f *jobFlags) job(log *slog.Logger) (*recovery.Job, *recovery.Door, error) {
	ret, err := extract.ParseRetention(f.retention)
	if err != nil {
		return nil, nil, usagef("--retention: %w", err)
	}
	rules, err := f.rl.rules()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	plan, r, err := prepareQuery(&f.conn, &f.sel, log, now)
	if err != nil {
		return nil, nil, err
	}
	shard, plan, err := f.share(plan)
	if err != nil {
		return nil, nil, err
	}
	return &recovery.Job{
		Plan:    plan,
		Shard:   shard,
		Connect: r.Connect,
		Out:     f.out,
		State:   recovery.StateOptions{Path: f.statePath, Restart: f.restart, URL: r.URL, Datasource: f.conn.datasource},
		Relabel: rules, Concurrency: f.sel.concurrency, Crosscheck: !f.sel.noCrosscheck, MaxSeries: f.sel.maxSeries, Scrape: f.scrape, Now: now, Retention: ret, Log: log,
	}, r, nil
}

// share is the part of plan that --shard gives this process.
func (f *jobFlags) share(plan *extract.Plan) (extract.Shard, *extract.Plan, error) {
	if f.shard == "" {
		return extract.Shard{}, plan, nil
	}
	shard, err := extract.ParseShard(f.shard, os.Getenv("JOB_COMPLETION_INDEX"))
	if err != nil {
		return shard, nil, err
	}
	mine := shard.Of(plan)
	if len(mine.Windows) == 0 {
		return shard, nil, usagef("--shard %s: the range has %d windows of 2h, none of them this shard's; recover it with at most %d processes", shard, len(plan.Windows), len(plan.Windows))
	}
	return shard, mine, nil
}

func newRecoverCmd(logger func() *slog.Logger, showProgress progressFunc) *cobra.Command {
	var (
		f        jobFlags
		dryRun   bool
		onlyGaps bool
		local    localFlags
		wait     time.Duration
	)
	rep := &summaryJSON{command: "recover"}
	cmd := &cobra.Command{
		Use:   "recover",
		Short: "Fetch a lost range from Grafana and install it as TSDB blocks",
		Long: `recover fetches every series the selectors match in [--from, --to) through
Grafana's /api/ds/query (or its datasource proxy with --via proxy, which also
carries native histograms) and writes one verified TSDB block per 2h window into
--out, usually the Prometheus data directory. Blocks are built and checked in a
staging directory and renamed into place whole; nothing in --out is ever
overwritten or deleted. A running Prometheus loads them within a minute;
given its address (--prometheus-url), recover waits until it serves every
window written, up to --wait.

With --objstore.config-file (or --objstore.config) the blocks go into an
object-storage bucket instead, in Thanos's bucket configuration format (S3, GCS,
Azure, Swift, COS, OSS, filesystem...): each is built and verified in --tmp-dir,
uploaded with meta.json last so that no half-uploaded block is ever visible, and
checked in the bucket. Give the stream's external labels with --external-label:
Thanos deduplicates and compacts blocks only with blocks of the same labels.
Cortex and Mimir read blocks under the tenant: --objstore.prefix TENANT.`,
		Example: example("recover"),
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			log := logger()
			if err := rep.check(); err != nil {
				return err
			}
			j, r, err := f.job(log)
			if err != nil {
				return err
			}
			if err := f.bkt.apply(j, f.out, f.statePath, log); err != nil {
				return err
			}
			switch {
			case onlyGaps && local.data == "" && local.promURL == "" && j.Bucket != nil:
				j.OnlyGaps = j.BucketGaps(local.minGap)
			case onlyGaps:
				if local.data == "" && local.promURL == "" {
					local.data = f.out
				}
				j.OnlyGaps = func(ctx context.Context, p *extract.Plan) (*gaps.Index, error) { return local.index(ctx, p, log) }
			}
			if dryRun {
				return printPlan(cmd.Context(), cmd.OutOrStdout(), j, f.scrape)
			}
			if f.out == "" && !f.bkt.given() {
				return usagef("--out is required: the Prometheus data directory to put the blocks in (or --objstore.config-file for a bucket)")
			}
			if given := f.conn.session; given != "" && r.Grafana != nil {
				j.State.Opened = func(st *state.File) {
					r.Grafana.KeepSession(st.Session(given), func(current string) error { return st.SetSession(given, current) })
				}
			}
			// A bucket has no Prometheus serving it to wait for: there
			// --prometheus-url is only --only-gaps' surviving data.
			if local.promURL != "" && wait > 0 && !f.bkt.given() {
				if j.Served, err = served.New(cmd.Context(), local.client()); err != nil {
					return fmt.Errorf("--prometheus-url %s: %w; give the address of the running Prometheus that serves --out, or --wait 0 not to wait for it", local.promURL, err)
				}
				j.Wait = wait
			}
			j.Progress = showProgress.of(log, r.Stats, 0)
			// From here on the run has started: --summary-json reports it
			// however it ends.
			defer func() { err = rep.write(cmd.Context(), cmd.OutOrStdout(), err) }()
			return runRecovery(cmd.Context(), cmd.OutOrStdout(), j, r, &rep.sum, f.sel.pinned(j.Plan))
		},
	}
	f.conn.register(cmd.Flags())
	f.sel.register(cmd.Flags())
	cmd.Flags().StringVar(&f.conn.datasource, "datasource", "", "uid or name of the Prometheus datasource (default: the only one the credentials see)")
	cmd.Flags().StringVarP(&f.out, "out", "o", "", "Prometheus data directory to install the blocks in (required unless the blocks go into a bucket: --objstore.config-file)")
	cmd.Flags().StringVar(&f.statePath, "state", "", "resume state file (default: "+blocks.StateFileName+" in --out; for a bucket, a file named after it under $XDG_STATE_HOME/promrecover)")
	f.bkt.register(cmd.Flags())
	cmd.Flags().StringVar(&f.shard, "shard", "", "I/N: recover only this process's share of the windows, so that N processes (I from 1 to N, on one machine or several) recover the range into one bucket together; indexed/N takes I from a Kubernetes indexed Job's JOB_COMPLETION_INDEX")
	rep.register(cmd.Flags())
	cmd.Flags().BoolVar(&f.restart, "restart", false, "start over instead of resuming a state left by a run with other flags")
	cmd.Flags().StringVar(&f.retention, "retention", "", "the Prometheus's --storage.tsdb.retention.time (e.g. 200h), to warn about blocks it would delete")
	f.rl.register(cmd.Flags())
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan as 'promrecover plan' does (windows, those an earlier run recovered, series found, estimated requests and size of the rest), and write nothing")
	cmd.Flags().DurationVar(&f.scrape, "scrape-interval", defaultScrape, "typical scrape interval, for --dry-run's estimate of samples and bytes and the free space --out needs")
	cmd.Flags().BoolVar(&onlyGaps, "only-gaps", false, "write only samples that fall in holes of the surviving data (see 'promrecover gaps'), so nothing interleaves with it")
	local.register(cmd, "with --only-gaps: the data directory that survived (default: --out, or the blocks of the stream in the bucket)",
		"the running Prometheus that serves --out: wait until it serves every recovered window (see --wait); with --only-gaps, also read the surviving data from it (covers its head block too)")
	cmd.Flags().DurationVar(&wait, "wait", 3*time.Minute, "with --prometheus-url: how long to wait for it to serve the recovered windows (it loads new blocks once a minute); 0 does not wait")
	flagGroups.Apply(cmd, "grafana-url", "from")
	return cmd
}

// of shows the progress of a job whose reader counts stats, of samples (0: unknown).
func (show progressFunc) of(log *slog.Logger, counts func() grafana.Stats, samples int64) func(int) *progress.Run {
	stats := func() progress.Counters {
		st := counts()
		return progress.Counters{Requests: st.Requests, Retries: st.Retries, WireBytes: st.WireBytes}
	}
	o := progress.Options{Samples: samples, Stats: stats}
	return func(windows int) *progress.Run { o.Windows = windows; return show(log, o) }
}

// answered is how remote read answered through door, for the summary: ""
// for the other APIs, or before any answer.
func answered(door *recovery.Door) string {
	if door.Streamed == nil {
		return ""
	}
	switch streamed, known := door.Streamed(); {
	case !known:
		return ""
	case streamed:
		return report.RemoteReadStreamed
	}
	return report.RemoteReadSamples
}

// outError names the flag of a data directory that could not be read.
func outError(err error) error {
	var de *recovery.DirError
	if errors.As(err, &de) {
		return fmt.Errorf("--out %s: %w", de.Dir, de.Err)
	}
	return err
}

// runRecovery runs j, filling sum as it goes, prints the summary and turns
// the outcome into the command's error, which names the flags that help;
// hint is the flags that pin a relative range for the run that resumes.
func runRecovery(ctx context.Context, stdout io.Writer, j *recovery.Job, door *recovery.Door, sum *report.Summary, hint string) error {
	start := time.Now()
	o, err := j.Run(ctx)
	stats := door.Stats()
	sum.Plan, sum.Stats, sum.Elapsed, sum.RemoteRead = j.Plan, &stats, time.Since(start), answered(door)
	sum.Origin, sum.State, sum.Earlier = o.Origin, o.State, o.Earlier
	if o.Result == nil {
		return outError(err)
	}
	sum.Result, sum.Installed, sum.Covered, sum.Held, sum.HeldBack, sum.Served, sum.Crosscheck = o.Result, o.Installed, o.Covered, o.Held, o.HeldBack, o.Served, o.Crosscheck
	sum.Text(stdout, words)
	total := len(j.Plan.Windows)
	switch o.Status() {
	case recovery.Interrupted:
		return &exitcode.Error{Code: exitcode.Partly(o.Partial()), Msg: report.Interrupted(o.Recovered(), total, hint, o.State)}
	case recovery.Incomplete:
		failed := len(o.Result.Failed())
		msg := report.Shortfall(failed, o.PartialWindows(), o.Gaps(), total)
		if o.Err != nil {
			msg += ": " + userText(o.Err)
		}
		switch {
		case o.Collided():
			// The same command would merge the same series again: the
			// rules themselves are the cause.
			msg += "; change --drop-label/--set-label as said above and run again (with --restart if windows were already recovered under the old rules)"
		case errors.As(o.Err, new(*recovery.DiskFullError)): // it says what to do
		case failed > 0:
			msg += fmt.Sprintf("; once the cause is fixed, the same command%s fetches only what is missing", hint)
		}
		return &exitcode.Error{Code: exitcode.Partly(o.Partial()), Msg: msg}
	case recovery.Empty:
		return &exitcode.Error{Code: exitcode.Failed, Msg: fmt.Sprintf("no samples matched %v in the range; nothing was written (check --match, --datasource and --from/--to)", j.Plan.Selectors)}
	}
	if err == nil && o.Served != nil && len(o.Served.Missing) > 0 {
		return &exitcode.Error{Code: exitcode.Failed, Msg: report.NotServed(o.Served, words)}
	}
	return err
}
