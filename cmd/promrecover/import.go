package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/promrecover/promrecover/format/jsonl"
	"github.com/promrecover/promrecover/importer"
	"github.com/promrecover/promrecover/internal/exitcode"
	"github.com/promrecover/promrecover/internal/flagsuggest"
	"github.com/promrecover/promrecover/progress"
	"github.com/promrecover/promrecover/recovery"
	"github.com/promrecover/promrecover/report"
)

func newImportCmd(logger func() *slog.Logger, showProgress progressFunc) *cobra.Command {
	var out, format string
	var rl relabelFlags
	var bkt bucketFlags
	rep := &summaryJSON{command: "import"}
	cmd := &cobra.Command{
		Use:   "import FILE --out DIR",
		Short: "Install TSDB blocks from a file: export's JSON, JSON Lines or OpenMetrics text",
		Long: `import reads series from FILE (- for stdin) and writes one verified TSDB block
per 2h window into --out, exactly as recover does: blocks are built and checked
in a staging directory and renamed into place whole; nothing in --out is
overwritten or deleted.

FILE is what 'promrecover export' writes in any of its formats: the Prometheus
matrix JSON (json), JSON Lines with one matrix element a line (jsonl), or
OpenMetrics text as 'promtool tsdb create-blocks-from openmetrics' reads it:
# TYPE and # HELP lines, 'name{labels} value timestamp' with the timestamp in
seconds, each series' lines together, and '# EOF' as the last line. The format
is detected from the content ('{' starts JSON; JSON whose first key is
"metric" is JSON Lines) unless --format says.

The file is read once. A file that is malformed anywhere (the error gives the
line), has a sample outside the years 1970..2100, or comes back to a series in
a window it already gave samples for, installs nothing.

With --objstore.config-file the blocks go into a bucket instead, as recover's
do (see 'promrecover recover --help'); the stream's blocks there are read first,
so that importing a file again uploads nothing twice.`,
		Example: example("import"),
		Args:    flagsuggest.OneArg("the file to read (- for stdin)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			log := logger()
			if err := rep.check(); err != nil {
				return err
			}
			if out == "" && !bkt.given() {
				return usagef("--out is required: the Prometheus data directory to put the blocks in (or --objstore.config-file for a bucket)")
			}
			if out != "" && bkt.given() {
				return usagef("give either --out (a data directory) or --objstore.config-file/--objstore.config (a bucket), not both")
			}
			f, err := importer.ParseFormat(format)
			if err != nil {
				return usagef("--format: %w", err)
			}
			rules, err := rl.rules()
			if err != nil {
				return err
			}
			o, _, err := bkt.options(log)
			if err != nil {
				return err
			}
			im := &recovery.Import{Out: out, Bucket: o, Format: f, Relabel: rules, Log: log}
			err = runImport(cmd.Context(), cmd.OutOrStdout(), cmd.InOrStdin(), args[0], im, &rep.sum, showProgress)
			return rep.write(cmd.Context(), cmd.OutOrStdout(), err)
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "Prometheus data directory to install the blocks in (required unless the blocks go into a bucket: --objstore.config-file)")
	bkt.register(cmd.Flags())
	cmd.Flags().StringVar(&format, "format", "", "json, jsonl or openmetrics (default: detected from the content)")
	rep.register(cmd.Flags())
	rl.register(cmd.Flags())
	return cmd
}

// withWriterHint completes a JSON Lines line that is no series with what
// writes the series wanted.
func withWriterHint(err error) error {
	if ns := (*jsonl.NotSeriesError)(nil); errors.As(err, &ns) {
		return fmt.Errorf("%w as promrecover export --format jsonl writes it", err)
	}
	return err
}

// runImport runs im on the file at path, filling sum as it goes, and prints
// what it installed.
func runImport(ctx context.Context, stdout io.Writer, stdin io.Reader, path string, im *recovery.Import, sum *report.Summary, show progressFunc) error {
	start := time.Now()
	sum.Input = path
	defer func() { sum.Elapsed = time.Since(start) }()
	name := path
	var size int64 // of a regular file, for the progress; the windows are known only once read
	var in *importer.Input
	defer func() {
		if in != nil {
			in.Close()
		}
	}()
	im.Open = func() (_ *importer.Input, err error) {
		if in, err = importer.Open(path, stdin); err != nil {
			return nil, err
		}
		name, size = in.Name, in.Size
		return in, nil
	}
	im.Progress = func() *progress.Run { return show(im.Log, progress.Options{Size: size}) }
	res, err := im.Run(ctx)
	if re := (*recovery.ReadError)(nil); errors.As(err, &re) {
		return fmt.Errorf("%s: %w; nothing was installed", name, withWriterHint(err))
	} else if err != nil {
		return outError(err)
	}
	sum.Result, sum.Read, sum.Installed, sum.Held, sum.HeldBack = &res.Result.Result, res.Read, res.Installed, res.Held, res.HeldBack
	report.Imported(stdout, name, res, time.Since(start), words)
	failed := res.Failed()
	switch {
	case len(failed) > 0:
		return &exitcode.Error{Code: exitcode.Partly(res.Partial()), Msg: report.NotImported(len(failed), len(res.Windows), res.Err)}
	case res.Read == 0:
		return &exitcode.Error{Code: exitcode.Failed, Msg: fmt.Sprintf("%s holds no samples; nothing was written", name)}
	}
	return nil
}
