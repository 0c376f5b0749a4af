package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/grafana"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/recovery"
	"github.com/promrecover/promrecover/report"
)

func newDemoCmd(logger func() *slog.Logger, showProgress progressFunc) *cobra.Command {
	var (
		out         string
		seed        int64
		concurrency int
		via         string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Recover a simulated lost window from a built-in Grafana-compatible server",
		Long: `demo starts a Grafana-compatible server on 127.0.0.1 that serves 10 hours of a
realistic data set (counters with resets, gauges, a classic histogram, NaN and
+Inf values, irregular scrape times), treats 4 hours of it as lost, recovers
them into --out through the same code as 'recover', and then reads the blocks
back and compares them sample by sample with the source. With --via proxy the
data set also holds native histograms, read through the datasource proxy.`,
		Example: example("demo"),
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := logger()
			transport, err := grafana.ParseTransport(via)
			if err != nil {
				return usagef("--via %w", err)
			}
			if err := emptyDir(out); err != nil {
				return err
			}
			now := time.Now().UTC()
			srv, err := sim.StartDemo(now, seed, transport == grafana.Proxy)
			if err != nil {
				return err
			}
			defer srv.Close()
			data, what := srv.Data, "NaN and +Inf included"
			if transport == grafana.Proxy {
				what = "NaN, +Inf and native histograms included"
			}
			// The lost range: two whole windows, older than the head's 3h.
			from := time.UnixMilli(now.Add(-7*time.Hour).UnixMilli() / extract.WindowMs * extract.WindowMs)
			to := from.Add(4 * time.Hour)
			plan, err := extract.NewPlan(from, to, 0, nil)
			if err != nil {
				return err
			}
			client, err := grafana.NewClient(grafana.Options{URL: srv.URL, Auth: grafana.Auth{Token: sim.DemoToken}, Log: log, UserAgent: "promrecover/" + versionString()})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "demo: Grafana-compatible server at %s with %d series over the last 10h\n", srv.URL, len(data))
			fmt.Fprintf(w, "demo: lost range %s .. %s, recovering into %s\n", from.Format(time.RFC3339), to.Format(time.RFC3339), out)
			const datasource = "grafanacloud-prom"
			want := extract.Clip(data, plan.From, plan.To)
			door := recovery.GrafanaDoor(client, datasource, transport)
			j := &recovery.Job{Plan: plan, Connect: door.Connect, Out: out,
				State:       recovery.StateOptions{URL: srv.URL, Datasource: datasource},
				Concurrency: concurrency, Crosscheck: true, Now: now, Progress: showProgress.of(log, client.Stats, extract.CountSamples(want)), Log: log}
			if err := runRecovery(cmd.Context(), w, j, door, &report.Summary{}, ""); err != nil {
				return err
			}
			got, err := blocks.ReadSeries(out, plan.From, plan.To)
			if err != nil {
				return fmt.Errorf("reading the recovered blocks back: %w", err)
			}
			if err := extract.Compare(want, got); err != nil {
				return fmt.Errorf("verification failed: %w", err)
			}
			fmt.Fprintf(w, "verified: the blocks in %s hold exactly the source's %d series and %d samples (%s)\n", out, len(want), extract.CountSamples(want), what)
			fmt.Fprintf(w, "next: promtool tsdb list %s, or prometheus --storage.tsdb.path=%s to browse them\n", out, out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "demo-data", "directory for the recovered blocks; created if missing, must be empty")
	cmd.Flags().Int64Var(&seed, "seed", 1, "seed of the generated data set")
	cmd.Flags().IntVar(&concurrency, "concurrency", 4, "queries in flight at once")
	cmd.Flags().StringVar(&via, "via", "ds", "ds (/api/ds/query) or proxy (the datasource proxy; the data set then holds native histograms too)")
	return cmd
}

// emptyDir makes sure dir exists and holds nothing, so that the demo's check
// compares its own blocks only.
func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("--out %s: %w", dir, err)
	}
	if len(entries) > 0 {
		return usagef("--out %s is not empty (an earlier demo?): remove it, or choose another --out", dir)
	}
	return nil
}
