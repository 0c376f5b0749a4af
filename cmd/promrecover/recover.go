package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/grafana"
)

// headSpan is how far back a running Prometheus's head block reaches: blocks
// written there overlap data Prometheus still holds in memory.
const headSpan = 3 * time.Hour

func newRecoverCmd(logger func() *slog.Logger) *cobra.Command {
	var (
		conn      connFlags
		sel       selectFlags
		out       string
		retention string
	)
	cmd := &cobra.Command{
		Use:   "recover",
		Short: "Fetch a lost range from Grafana and install it as TSDB blocks",
		Long: `recover fetches every series the selectors match in [--from, --to) through
Grafana's /api/ds/query and writes one verified TSDB block per 2h window into
--out, usually the Prometheus data directory. Blocks are built and checked in a
staging directory and renamed into place whole; nothing in --out is ever
overwritten or deleted. A running Prometheus loads them within a minute.`,
		Example: `  # the data dir of a Docker volume
  docker volume inspect x_prometheus-storage --format '{{ .Mountpoint }}'
  GRAFANA_TOKEN=glsa_... promrecover recover --grafana-url https://example.grafana.net \
      --datasource grafanacloud-prom --from 2025-08-03T02:00:00Z --to 2025-08-03T08:30:00Z \
      --match '{job="traffic"}' --out /var/lib/docker/volumes/x_prometheus-storage/_data`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := logger()
			if out == "" {
				return errors.New("--out is required: the Prometheus data directory to put the blocks in")
			}
			var ret time.Duration
			if retention != "" {
				d, err := model.ParseDuration(retention)
				if err != nil {
					return fmt.Errorf("--retention: %w", err)
				}
				ret = time.Duration(d)
			}
			now := time.Now()
			plan, client, err := prepareQuery(&conn, &sel, log, now)
			if err != nil {
				return err
			}
			r := &recovery{plan: plan, client: client, datasource: conn.datasource, out: out, retention: ret, concurrency: sel.concurrency, now: now}
			_, err = r.run(cmd.Context(), log, cmd.OutOrStdout())
			return err
		},
	}
	conn.register(cmd.Flags())
	sel.register(cmd.Flags())
	cmd.Flags().StringVar(&conn.datasource, "datasource", "", "uid or name of the Prometheus datasource")
	cmd.Flags().StringVar(&out, "out", "", "Prometheus data directory to install the blocks in")
	cmd.Flags().StringVar(&retention, "retention", "", "the Prometheus's --storage.tsdb.retention.time (e.g. 200h), to warn about blocks it would delete")
	return cmd
}

// recovery is one run of the main job, shared by recover and demo.
type recovery struct {
	plan        *extract.Plan
	client      *grafana.Client
	datasource  string
	out         string
	retention   time.Duration
	concurrency int
	now         time.Time
}

func (r *recovery) run(ctx context.Context, log *slog.Logger, stdout io.Writer) ([]blocks.Block, error) {
	start := time.Now()
	sink, err := blocks.NewSink(r.out, log)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := sink.Close(); err != nil {
			log.Error("removing the staging directory", "err", err)
		}
	}()
	r.warn(log)
	ds, err := r.client.ResolveDatasource(ctx, r.datasource)
	if err != nil {
		return nil, err
	}
	log.Info("recovering", "datasource", ds.Name, "uid", ds.UID, "windows", len(r.plan.Windows), "selectors", len(r.plan.Selectors), "out", r.out)
	res, runErr := extract.Run(ctx, r.plan, &grafana.Source{Client: r.client, Datasource: ds}, sink, r.concurrency, log)
	installed := sink.Blocks()
	printSummary(stdout, ds, r.plan, res, r.client.Stats(), installed, time.Since(start))
	if failed, gaps := res.Failed(), res.Gaps(); len(failed) > 0 || len(gaps) > 0 || runErr != nil {
		msg := fmt.Sprintf("%d of %d windows were not recovered", len(failed), len(res.Windows))
		if len(gaps) > 0 {
			msg += fmt.Sprintf(", and %d parts of recovered windows could not be fetched (listed above)", len(gaps))
		}
		if runErr != nil {
			msg += ": " + runErr.Error()
		}
		return installed, &exitError{code: 1, msg: msg}
	}
	if _, samples := res.Totals(); samples == 0 {
		return installed, &exitError{code: 1, msg: fmt.Sprintf("no samples matched %v in the range; nothing was written (check --match, --datasource and --from/--to)", r.plan.Selectors)}
	}
	return installed, nil
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
