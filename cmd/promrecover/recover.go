package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/gaps"
	"github.com/promrecover/promrecover/extract/relabel"
	"github.com/promrecover/promrecover/extract/state"
	"github.com/promrecover/promrecover/grafana"
	"github.com/promrecover/promrecover/progress"
)

// headSpan is how far back a running Prometheus's head block reaches: blocks
// written there overlap data Prometheus still holds in memory.
const headSpan = 3 * time.Hour

func newRecoverCmd(logger func() *slog.Logger, showProgress progressFunc) *cobra.Command {
	var (
		conn      connFlags
		sel       selectFlags
		out       string
		retention string
		statePath string
		restart   bool
		rl        relabelFlags
		dryRun    bool
		scrape    time.Duration
		onlyGaps  bool
		local     localFlags
	)
	rep := &report{command: "recover"}
	cmd := &cobra.Command{
		Use:   "recover",
		Short: "Fetch a lost range from Grafana and install it as TSDB blocks",
		Long: `recover fetches every series the selectors match in [--from, --to) through
Grafana's /api/ds/query (or its datasource proxy with --via proxy, which also
carries native histograms) and writes one verified TSDB block per 2h window into
--out, usually the Prometheus data directory. Blocks are built and checked in a
staging directory and renamed into place whole; nothing in --out is ever
overwritten or deleted. A running Prometheus loads them within a minute.`,
		Example: `  # Once per shell: credentials from the environment, typed at a prompt,
  # stay out of the shell history and the process list.
  read -rsp 'service account token: ' GRAFANA_TOKEN && export GRAFANA_TOKEN
  export GRAFANA_URL=https://example.grafana.net

  # What would be fetched, and what it costs; writes nothing.
  promrecover recover --datasource grafanacloud-prom --from 2025-08-03T02:00:00Z \
      --to 2025-08-03T08:30:00Z --match '{job="traffic"}' --out /var/lib/prometheus --dry-run

  # Recover it into the data directory of a Docker volume, with a report for scripts.
  promrecover recover --datasource grafanacloud-prom --from 2025-08-03T02:00:00Z \
      --to 2025-08-03T08:30:00Z --match '{job="traffic"}' --summary-json recover.json \
      --out "$(docker volume inspect x_prometheus-storage --format '{{ .Mountpoint }}')"

  # Only into the holes of what Prometheus kept, dropping the label remote_write added.
  promrecover recover --datasource grafanacloud-prom --from now-12h --to now-3h \
      --out /var/lib/prometheus --only-gaps --drop-label cluster

  # With the grafana_session cookie of a logged-in browser instead of a token.
  unset GRAFANA_TOKEN; read -rsp 'grafana_session: ' GRAFANA_SESSION && export GRAFANA_SESSION
  promrecover recover --datasource grafanacloud-prom --from now-6h --to now-3h --out ./data`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			log := logger()
			if err := rep.check(); err != nil {
				return err
			}
			ret, err := parseRetention(retention)
			if err != nil {
				return err
			}
			rules, err := rl.rules()
			if err != nil {
				return err
			}
			now := time.Now()
			plan, client, err := prepareQuery(&conn, &sel, log, now)
			if err != nil {
				return err
			}
			r := &recovery{relabel: rules, plan: plan, client: client, grafanaURL: conn.url, datasource: conn.datasource, session: conn.session,
				out: out, statePath: statePath, restart: restart, retention: ret, concurrency: sel.concurrency, now: now, resumeHint: sel.pinned(plan), maxSeries: sel.maxSeries, progress: showProgress, via: sel.transport,
				sum: &rep.sum}
			if onlyGaps {
				if local.data == "" && local.promURL == "" {
					local.data = out
				}
				r.onlyGaps = &local
			}
			if dryRun {
				return printPlan(cmd, log, r, scrape)
			}
			if out == "" {
				return errors.New("--out is required: the Prometheus data directory to put the blocks in")
			}
			// From here on the run has started: --summary-json reports it
			// however it ends.
			defer func() { err = rep.write(cmd.Context(), cmd.OutOrStdout(), err) }()
			_, err = r.run(cmd.Context(), log, cmd.OutOrStdout())
			return err
		},
	}
	conn.register(cmd.Flags())
	sel.register(cmd.Flags())
	cmd.Flags().StringVar(&conn.datasource, "datasource", "", "uid or name of the Prometheus datasource")
	cmd.Flags().StringVar(&out, "out", "", "Prometheus data directory to install the blocks in")
	cmd.Flags().StringVar(&statePath, "state", "", "resume state file (default: "+blocks.StateFileName+" in --out)")
	rep.register(cmd.Flags())
	cmd.Flags().BoolVar(&restart, "restart", false, "start over instead of resuming a state left by a run with other flags")
	cmd.Flags().StringVar(&retention, "retention", "", "the Prometheus's --storage.tsdb.retention.time (e.g. 200h), to warn about blocks it would delete")
	rl.register(cmd.Flags())
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan as 'promrecover plan' does (windows, those an earlier run recovered, series found, estimated requests and size of the rest), and write nothing")
	cmd.Flags().DurationVar(&scrape, "scrape-interval", defaultScrape, "typical scrape interval, for --dry-run's estimate of samples and bytes")
	cmd.Flags().BoolVar(&onlyGaps, "only-gaps", false, "write only samples that fall in holes of the surviving data (see 'promrecover gaps'), so nothing interleaves with it")
	local.register(cmd, "with --only-gaps: the data directory that survived (default: --out)")
	return cmd
}

// recovery is one run of the main job, shared by recover and demo.
type recovery struct {
	plan        *extract.Plan
	client      *grafana.Client
	grafanaURL  string
	datasource  string
	session     string // the cookie the user gave, if any
	out         string
	statePath   string // "" means the default, inside out
	restart     bool
	retention   time.Duration
	concurrency int
	now         time.Time
	resumeHint  string // flags that pin a relative range, for the resume message
	relabel     relabel.Rules
	onlyGaps    *localFlags // where the surviving data is, with --only-gaps
	maxSeries   int         // shard selectors matching more series; 0: never
	sum         *summary    // filled as the run goes; nil when nobody reads it
	progress    progressFunc
	via         grafana.Transport
}

func (r *recovery) run(ctx context.Context, log *slog.Logger, stdout io.Writer) ([]blocks.Block, error) {
	start := time.Now()
	if r.sum == nil {
		r.sum = &summary{}
	}
	sum := r.sum
	sum.plan = r.plan
	defer func() {
		st := r.client.Stats()
		sum.stats, sum.elapsed = &st, time.Since(start)
	}()
	sink, err := blocks.NewSink(r.out, log)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := sink.Close(); err != nil {
			log.Error("removing the staging directory", "err", err)
		}
	}()
	st, err := r.openState()
	if err != nil {
		return nil, err
	}
	sum.state = st.Path()
	if old, ok := st.Replaced(); ok {
		r.replacing(old, st.Path(), log)
	}
	earlier, err := r.resume(st, log)
	if err != nil {
		return nil, err
	}
	sum.earlier = earlier
	todo := remaining(r.plan, earlier)
	if r.session != "" {
		r.client.KeepSession(st.Session(r.session), func(current string) error { return st.SetSession(r.session, current) })
	}
	sink.OnInstall = func(b blocks.Block) error {
		return st.Record(state.Window{Start: b.Window.Start, End: b.Window.End, ULID: b.ULID, Series: b.Series, Samples: b.Samples, Gaps: b.Gaps})
	}
	r.warn(log)
	ds, err := r.client.ResolveDatasource(ctx, r.datasource)
	if err != nil {
		return nil, err
	}
	sum.ds = ds
	log.Info("recovering", "datasource", ds.Name, "uid", ds.UID, "via", r.via.String(), "windows", len(todo.Windows), "done earlier", len(earlier), "selectors", len(r.plan.Selectors), "out", r.out)
	// The holes are read before anything is written: blocks this run
	// installs must not count as surviving data.
	var dst extract.Sink = sink
	var filter *gaps.Filter
	if r.onlyGaps != nil {
		ix, err := r.onlyGaps.index(ctx, r.plan, log)
		if err != nil {
			return nil, err
		}
		filter = gaps.NewFilter(sink, ix)
		dst = filter
	}
	src := &grafana.Source{Client: r.client, Datasource: ds, Via: r.via}
	if r.maxSeries > 0 && len(todo.Windows) > 0 {
		todo.Selectors = src.Shard(ctx, todo.Selectors, todo.From, todo.To, r.maxSeries)
	}
	show := r.progress(log, progress.Options{Windows: len(todo.Windows), Stats: r.client.Stats})
	res, runErr := extract.Run(ctx, &todo, src, show.Wrap(relabel.Wrap(dst, r.relabel)), r.concurrency, log)
	show.Stop()
	installed := sink.Blocks()
	stats := r.client.Stats()
	sum.res, sum.stats, sum.installed, sum.elapsed = res, &stats, installed, time.Since(start)
	if filter != nil {
		sum.covered = filter.Dropped()
	}
	printSummary(stdout, *sum)

	gaps := len(res.Gaps())
	for _, w := range earlier {
		gaps += len(w.Gaps)
	}
	failed := res.Failed()
	switch {
	case errors.Is(runErr, context.Canceled):
		return installed, &exitError{code: 1, msg: fmt.Sprintf("interrupted with %d of %d windows recovered; run the same command again%s to recover the rest (state: %s)",
			len(earlier)+len(res.Windows)-len(failed), len(r.plan.Windows), r.resumeHint, st.Path())}
	case len(failed) > 0 || gaps > 0 || runErr != nil:
		msg := fmt.Sprintf("%d of %d windows were not recovered", len(failed), len(r.plan.Windows))
		if gaps > 0 {
			msg += fmt.Sprintf(", and %d parts of recovered windows could not be fetched (listed above)", gaps)
		}
		if runErr != nil {
			msg += ": " + userText(runErr)
		}
		switch {
		case collided(failed):
			// The same command would merge the same series again: the
			// rules themselves are the cause.
			msg += "; change --drop-label/--set-label as said above and run again (with --restart if windows were already recovered under the old rules)"
		case len(failed) > 0:
			msg += fmt.Sprintf("; once the cause is fixed, the same command%s fetches only what is missing", r.resumeHint)
		}
		return installed, &exitError{code: 1, msg: msg}
	}
	if _, samples := res.Totals(); samples == 0 && len(earlier) == 0 {
		return installed, &exitError{code: 1, msg: fmt.Sprintf("no samples matched %v in the range; nothing was written (check --match, --datasource and --from/--to)", r.plan.Selectors)}
	}
	return installed, st.Complete()
}

// replacing tells that the state of an earlier, complete recovery makes way
// for this one, and warns when both cover the same time: the series both
// select are then written twice, as overlapping blocks.
func (r *recovery) replacing(old state.Plan, path string, log *slog.Logger) {
	log.Info("the recovery recorded in the resume state was complete; this one keeps its own there", "state", path, "earlier", old.From+".."+old.To, "earlier selectors", old.Selectors)
	from, errFrom := time.Parse(time.RFC3339Nano, old.From)
	to, errTo := time.Parse(time.RFC3339Nano, old.To)
	if errFrom != nil || errTo != nil || r.onlyGaps != nil {
		return
	}
	if from.UnixMilli() < r.plan.To && r.plan.From < to.UnixMilli() {
		log.Warn("this range overlaps the earlier recovery's: series both select are written again, as blocks overlapping the earlier ones (Prometheus merges identical samples); add --only-gaps to write only what is missing",
			"earlier", old.From+".."+old.To, "earlier selectors", old.Selectors)
	}
}

// collided says whether a window failed because relabelling merged series.
func collided(failed []extract.WindowResult) bool {
	for _, f := range failed {
		var c *relabel.CollisionError
		if errors.As(f.Err, &c) {
			return true
		}
	}
	return false
}

// openState opens the resume state of this run's plan. Unless r.restart, it
// writes nothing, so --dry-run can read it too.
func (r *recovery) openState() (*state.File, error) {
	if r.statePath == "" {
		r.statePath = filepath.Join(r.out, blocks.StateFileName)
	}
	fingerprint := state.NewPlan(r.grafanaURL, r.datasource, r.plan)
	// --via is not part of the plan: both transports ask Prometheus the same
	// queries and get the same float samples, and a window holding native
	// histograms fails whole over /api/ds/query, so it is never recorded as
	// done. Running again with --via proxy then fetches exactly the windows
	// that failed.
	fingerprint.Relabel, fingerprint.OnlyGaps = r.relabel.String(), r.onlyGaps != nil
	return state.Open(r.statePath, fingerprint, r.restart)
}

// installed splits the windows st records into those whose blocks are still
// in --out (as themselves, or compacted by Prometheus into others) and those
// whose blocks are not. It only reads.
func (r *recovery) installed(st *state.File) (done, lost []state.Window, err error) {
	recorded := st.Windows()
	if len(recorded) == 0 {
		// Nothing to look for: --out need not even exist yet (plan).
		return nil, nil, nil
	}
	ids := make([]string, len(recorded))
	for i, w := range recorded {
		ids[i] = w.ULID
	}
	present, err := blocks.Installed(r.out, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("--out %s: %w", r.out, err)
	}
	for _, w := range recorded {
		if present[w.ULID] {
			done = append(done, w)
		} else {
			lost = append(lost, w)
		}
	}
	return done, lost, nil
}

// earlierDone is what a recover with these flags would skip: the windows an
// earlier run of the same plan installed whose blocks are still there, and
// the state file that says so. It writes nothing, for --dry-run and plan.
// Without --out there is nothing to resume into, and with --restart the
// state would be dropped: then nothing is done.
func (r *recovery) earlierDone() ([]state.Window, string, error) {
	if r.out == "" || r.restart {
		return nil, "", nil
	}
	st, err := r.openState()
	if err != nil {
		return nil, "", err
	}
	done, _, err := r.installed(st)
	return done, st.Path(), err
}

// remaining is the part of p that the earlier windows do not cover.
func remaining(p *extract.Plan, earlier []state.Window) extract.Plan {
	todo := *p
	todo.Windows = slices.DeleteFunc(slices.Clone(p.Windows), func(w extract.Window) bool {
		return slices.ContainsFunc(earlier, func(e state.Window) bool { return e.Start == w.Start })
	})
	return todo
}

// resume returns the windows earlier runs of this plan installed whose blocks
// are still there. A recorded block that is not there was recorded by a run
// that died before the rename: it is forgotten, and its window fetched again.
func (r *recovery) resume(st *state.File, log *slog.Logger) ([]state.Window, error) {
	done, lost, err := r.installed(st)
	if err != nil {
		return nil, err
	}
	missing := make([]int64, len(lost))
	for i, w := range lost {
		missing[i] = w.Start
		log.Info("a block recorded by an earlier run is not in --out; its window is fetched again", "ulid", w.ULID)
	}
	if len(missing) > 0 {
		if err := st.Forget(missing); err != nil {
			return nil, err
		}
	}
	if len(done) > 0 {
		log.Info("resuming: windows recovered by an earlier run are skipped", "windows", len(done), "state", st.Path())
	}
	return done, nil
}

// warn says, before anything is fetched, what Prometheus will do with blocks
// that overlap its head or fall outside its retention.
func (r *recovery) warn(log *slog.Logger) {
	if r.plan.To > r.now.Add(-headSpan).UnixMilli() {
		log.Warn("the range reaches into the last 3h, which a running Prometheus still holds in its head block; recovered samples there overlap it. Stop at --to now-3h unless Prometheus was down for that time too")
	}
	if r.retention <= 0 {
		return
	}
	newest := r.now.UnixMilli()
	if t, ok, err := blocks.NewestMaxTime(r.out); err == nil && ok && t > newest {
		newest = t
	}
	cutoff := newest - r.retention.Milliseconds()
	for _, w := range r.plan.Windows {
		if w.End <= cutoff {
			log.Warn("window is older than the retention: Prometheus will delete its block at the next reload", "window", w.String(), "retention", r.retention)
		}
	}
}
