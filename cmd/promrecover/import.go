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
	"github.com/promrecover/promrecover/extract/relabel"
	"github.com/promrecover/promrecover/format/jsonl"
	"github.com/promrecover/promrecover/importer"
	"github.com/promrecover/promrecover/progress"
)

func newImportCmd(logger func() *slog.Logger, showProgress progressFunc) *cobra.Command {
	var out, format string
	var rl relabelFlags
	rep := &report{command: "import"}
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
a window it already gave samples for, installs nothing.`,
		Example: `  # An export, into the data directory of a Docker volume.
  promrecover import lost.om --out "$(docker volume inspect x_prometheus-storage --format '{{ .Mountpoint }}')"

  # From stdin, the format said rather than detected, with a report for scripts.
  zcat lost.jsonl.gz | promrecover import - --format jsonl --out ./data --summary-json import.json

  # Relabelled on the way in.
  promrecover import lost.json --out ./data --set-label source=recovered`,
		Args: oneArg("the file to read (- for stdin)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			log := logger()
			if err := rep.check(); err != nil {
				return err
			}
			if out == "" {
				return errors.New("--out is required: the Prometheus data directory to put the blocks in")
			}
			f, err := importer.ParseFormat(format)
			if err != nil {
				return fmt.Errorf("--format: %w", err)
			}
			rules, err := rl.rules()
			if err != nil {
				return err
			}
			err = runImport(cmd.Context(), importRun{log: log, stdout: cmd.OutOrStdout(), stdin: cmd.InOrStdin(), path: args[0], out: out,
				format: f, rules: rules, sum: &rep.sum, showProgress: showProgress})
			return rep.write(cmd.Context(), cmd.OutOrStdout(), err)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "Prometheus data directory to install the blocks in")
	cmd.Flags().StringVar(&format, "format", "", "json, jsonl or openmetrics (default: detected from the content)")
	rep.register(cmd.Flags())
	rl.register(cmd.Flags())
	return cmd
}

// importRun is what an import reads, where it writes and what it reports
// to.
type importRun struct {
	log          *slog.Logger
	stdout       io.Writer
	stdin        io.Reader
	path, out    string // the file (- for stdin) and the data directory
	format       importer.Format
	rules        relabel.Rules
	sum          *summary // filled as the import goes
	showProgress progressFunc
}

// withWriterHint completes a JSON Lines line that is no series with what
// writes the series wanted.
func withWriterHint(err error) error {
	if ns := (*jsonl.NotSeriesError)(nil); errors.As(err, &ns) {
		return fmt.Errorf("%w as promrecover export --format jsonl writes it", err)
	}
	return err
}

// runImport imports r.path into r.out, filling r.sum as it goes.
func runImport(ctx context.Context, r importRun) error {
	log, stdout, stdin, path, out, sum := r.log, r.stdout, r.stdin, r.path, r.out, r.sum
	start := time.Now()
	sum.input = path
	defer func() { sum.elapsed = time.Since(start) }()
	sink, err := blocks.NewSink(out, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := sink.Close(); err != nil {
			log.Error("removing the staging directory", "err", err)
		}
	}()
	name, in := path, stdin
	var size int64 // of a regular file, for the progress; the windows are known only once read
	if path == "-" {
		name = "stdin"
	} else {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
	}
	show := r.showProgress(log, progress.Options{Size: size})
	res, err := importer.Import(ctx, show.Reader(in), importer.Options{Format: r.format}, show.Wrap(relabel.Wrap(sink, r.rules)))
	show.Stop()
	if err = withWriterHint(err); err != nil {
		return fmt.Errorf("%s: %w; nothing was installed", name, err)
	}
	installed := sink.Blocks()
	// The sink verifies each block against what it was given; this checks
	// that it was given everything read.
	byWindow := map[int64]blocks.Block{}
	for _, b := range installed {
		byWindow[b.Window.Start] = b
	}
	for i, w := range res.Windows {
		if b := byWindow[w.Window.Start]; w.Err == nil && b.Samples != uint64(w.Samples) {
			res.Windows[i].Err = fmt.Errorf("%d samples were read for the window but its block %s holds %d", w.Samples, b.ULID, b.Samples)
		}
	}

	var read int64
	for _, w := range res.Windows {
		read += w.Samples
	}
	sum.res, sum.read, sum.installed = &res.Result, read, installed
	written, _ := blockTotals(installed)
	failed := res.Failed()
	what := string(res.Format)
	if res.Format == importer.OpenMetrics || res.Format == importer.JSONL {
		what += fmt.Sprintf(", %d lines", res.Lines)
	}
	fmt.Fprintf(stdout, "\nimported %d of %d windows from %s (%s) in %s\n", len(res.Windows)-len(failed), len(res.Windows), name, what, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "read %d samples of %d series; written %d samples in %d blocks\n", read, res.DistinctSeries, written, len(installed))
	printBlocks(stdout, installed)
	for _, f := range failed {
		fmt.Fprintf(stdout, "NOT IMPORTED %s: %s\n", f.Window, userText(f.Err))
	}
	if n := len(installed); n > 0 && installed[n-1].MaxTime > time.Now().Add(-headSpan).UnixMilli() {
		log.Warn("the data reaches into the last 3h, which a running Prometheus still holds in its head block; the imported samples there overlap it")
	}
	switch {
	case len(failed) > 0:
		return &exitError{code: 1, msg: fmt.Sprintf("%d of %d windows were not imported (listed above); the others are installed", len(failed), len(res.Windows))}
	case read == 0:
		return &exitError{code: 1, msg: fmt.Sprintf("%s holds no samples; nothing was written", name)}
	}
	return nil
}
