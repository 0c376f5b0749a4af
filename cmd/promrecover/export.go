package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/promrecover/promrecover/export"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/relabel"
	"github.com/promrecover/promrecover/grafana"
)

func newExportCmd(logger func() *slog.Logger) *cobra.Command {
	var (
		conn   connFlags
		sel    selectFlags
		rl     relabelFlags
		output string
		format string
	)
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Fetch series from Grafana and write them as matrix JSON, JSON Lines or OpenMetrics",
		Long: `export fetches the same selection as recover and writes it in one of three
formats, each of which 'promrecover import' (and 'promrecover verify --against')
reads back exactly:

  json         (default) the Prometheus API's range answer:
               {"status":"success","data":{"resultType":"matrix","result":[...]}}
  jsonl        JSON Lines, one series a line, each line a matrix element:
               {"metric":{...},"values":[[<unix seconds>,"<value>"],...]}
  openmetrics  the text 'promtool tsdb create-blocks-from openmetrics' reads:
               '# TYPE name unknown' per metric name, 'name{labels} value
               timestamp' with the timestamp in seconds, '# EOF' at the end.
               It cannot carry stale markers, which it writes as NaN.

The file is written only when every window was fetched.`,
		Example: `  GRAFANA_TOKEN=glsa_... promrecover export --grafana-url https://example.grafana.net \
      --datasource grafanacloud-prom --from now-6h --to now-3h --match 'up' --output up.json
  promrecover export ... --format openmetrics --output lost.om`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := logger()
			if output == "" {
				return errors.New("--output is required: a file, or - for stdout")
			}
			write, err := exportWriter(format)
			if err != nil {
				return err
			}
			rules, err := rl.rules()
			if err != nil {
				return err
			}
			plan, client, err := prepareQuery(&conn, &sel, log, time.Now())
			if err != nil {
				return err
			}
			ds, err := client.ResolveDatasource(cmd.Context(), conn.datasource)
			if err != nil {
				return err
			}
			sink := export.NewMatrix()
			src := &grafana.Source{Client: client, Datasource: ds, Via: sel.transport}
			if sel.maxSeries > 0 {
				plan.Selectors = src.Shard(cmd.Context(), plan.Selectors, plan.From, plan.To, sel.maxSeries)
			}
			res, err := extract.Run(cmd.Context(), plan, src, relabel.Wrap(sink, rules), sel.concurrency, log)
			if failed, gaps := res.Failed(), res.Gaps(); len(failed) > 0 || len(gaps) > 0 || err != nil {
				for _, f := range failed {
					fmt.Fprintf(cmd.ErrOrStderr(), "NOT FETCHED %s: %v\n", f.Window, f.Err)
				}
				for _, g := range gaps {
					fmt.Fprintf(cmd.ErrOrStderr(), "NOT FETCHED %s\n", g)
				}
				return &exitError{code: 1, msg: fmt.Sprintf("%d of %d windows were not fetched; nothing was written", len(failed), len(res.Windows))}
			}
			series := sink.Series()
			if err := writeOutput(output, cmd.OutOrStdout(), func(w io.Writer) error { return write(w, series) }); err != nil {
				return err
			}
			n, samples := res.Totals()
			log.Info("exported", "series", n, "samples", samples, "format", format, "output", output)
			return nil
		},
	}
	conn.register(cmd.Flags())
	sel.register(cmd.Flags())
	rl.register(cmd.Flags())
	cmd.Flags().StringVar(&conn.datasource, "datasource", "", "uid or name of the Prometheus datasource")
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write, or - for stdout")
	cmd.Flags().StringVar(&format, "format", "json", "json, jsonl or openmetrics")
	return cmd
}

// exportWriter returns the writer of an export --format.
func exportWriter(format string) (func(io.Writer, []extract.Series) error, error) {
	switch format {
	case "json":
		return export.WriteJSON, nil
	case "jsonl":
		return export.WriteJSONL, nil
	case "openmetrics":
		return export.WriteOpenMetrics, nil
	}
	return nil, fmt.Errorf("--format %q: use json, jsonl or openmetrics", format)
}

// writeOutput writes to stdout for "-", otherwise to a temporary file beside
// the target that is renamed over it only once complete.
func writeOutput(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "-" {
		return write(stdout)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("--output %s: %w", path, err)
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
