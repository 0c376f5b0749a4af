package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/promrecover/promrecover/export"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/openmetrics"
	"github.com/promrecover/promrecover/internal/atomicfile"
	"github.com/promrecover/promrecover/internal/exitcode"
	"github.com/promrecover/promrecover/internal/flagalias"
	"github.com/promrecover/promrecover/recovery"
	"github.com/promrecover/promrecover/report"
)

func newExportCmd(logger func() *slog.Logger, showProgress progressFunc) *cobra.Command {
	var (
		conn   connFlags
		sel    selectFlags
		rl     relabelFlags
		output string
		format string
	)
	rep := &summaryJSON{command: "export"}
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
		Example: example("export"),
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			log := logger()
			if err := rep.check(); err != nil {
				return err
			}
			write, err := exportWriter(format)
			if err != nil {
				return err
			}
			rules, err := rl.rules()
			if err != nil {
				return err
			}
			plan, r, err := prepareQuery(&conn, &sel, log, time.Now())
			if err != nil {
				return err
			}
			start := time.Now()
			defer func() {
				st := r.Stats()
				rep.sum.Plan, rep.sum.Stats, rep.sum.Elapsed, rep.sum.RemoteRead = plan, &st, time.Since(start), answered(r)
				err = rep.write(cmd.Context(), cmd.OutOrStdout(), err)
			}()
			sink := export.NewMatrix()
			j := &recovery.Job{Plan: plan, Connect: r.Connect, Sink: sink, Relabel: rules,
				Concurrency: sel.concurrency, Crosscheck: !sel.noCrosscheck, MaxSeries: sel.maxSeries, Progress: showProgress.of(log, r.Stats, 0), Log: log}
			o, err := j.Run(cmd.Context())
			rep.sum.Origin, rep.sum.Result, rep.sum.Crosscheck = o.Origin, o.Result, o.Crosscheck
			if o.Result == nil {
				return err
			}
			res := o.Result
			if failed, gaps := res.Failed(), res.Gaps(); len(failed) > 0 || len(gaps) > 0 || o.Err != nil {
				for _, f := range failed {
					fmt.Fprintf(cmd.ErrOrStderr(), "NOT FETCHED %s: %s\n", f.Window, report.WindowReason(f.Err, words))
				}
				for _, g := range gaps {
					fmt.Fprintf(cmd.ErrOrStderr(), "NOT FETCHED %s\n", g)
				}
				return &exitcode.Error{Code: exitcode.Failed, Msg: fmt.Sprintf("%d of %d windows were not fetched; nothing was written", len(res.Windows)-res.Recovered(), len(res.Windows))}
			}
			series := sink.Series()
			if err := writeOutput(output, 0o644, cmd.OutOrStdout(), func(w io.Writer) error { return write(w, series) }); err != nil {
				return err
			}
			rep.sum.Exported = true
			n, samples := res.Totals()
			log.Info("exported", "series", n, "samples", samples, "format", format, "output", output)
			return nil
		},
	}
	conn.register(cmd.Flags())
	sel.register(cmd.Flags())
	rl.register(cmd.Flags())
	cmd.Flags().StringVar(&conn.datasource, "datasource", "", "uid or name of the Prometheus datasource (default: the only one the credentials see)")
	cmd.Flags().StringVarP(&output, "out", "o", "-", "file to write, or - for stdout")
	flagalias.Rename(cmd.Flags(), "output", "out")
	cmd.Flags().StringVar(&format, "format", "json", "json, jsonl or openmetrics")
	rep.register(cmd.Flags())
	flagGroups.Apply(cmd, "grafana-url", "from")
	return cmd
}

// exportWriter returns the writer of an export --format.
func exportWriter(format string) (export.Writer, error) {
	write, ok := export.WriterFor(format)
	if !ok {
		return nil, usagef("--format %q: use json, jsonl or openmetrics", format)
	}
	return func(w io.Writer, series []extract.Series) error {
		err := write(w, series)
		if he := (*openmetrics.HistogramsError)(nil); errors.As(err, &he) {
			return fmt.Errorf("%w; export it with --format json or --format jsonl", err)
		}
		return err
	}, nil
}

// writeOutput writes path whole or not at all, or stdout for "-".
func writeOutput(path string, perm os.FileMode, stdout io.Writer, write func(io.Writer) error) error {
	err := atomicfile.Write(path, perm, stdout, write)
	if ce := (*atomicfile.CreateError)(nil); errors.As(err, &ce) {
		return fmt.Errorf("--out %s: %w", path, ce.Err)
	}
	return err
}
