package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/export"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/importer"
)

func newVerifyCmd(logger func() *slog.Logger) *cobra.Command {
	var against, format, from, to string
	cmd := &cobra.Command{
		Use:   "verify DIR [--against FILE]",
		Short: "List the TSDB blocks in a directory, their overlaps, and compare them with an export",
		Long: `verify opens the blocks in DIR read-only (it writes nothing there, and does not
use Prometheus's read-only DB, which would put a sandbox directory in DIR) and
prints one line per block, as 'promtool tsdb list' does: ULID, time range,
series, samples, chunks and size on disk. It lists the blocks whose time ranges
overlap; Prometheus 2.39 and later accept such blocks, query them merged and
merge them at the next compaction.

With --against FILE (an export in any format: json, jsonl or openmetrics; - for
stdin), it compares the samples of the blocks with the file's, sample by
sample and values bit for bit, over the file's time range or --from/--to. It
prints the first difference and a count of matching, differing, missing and
extra samples, and exits non-zero on any difference. Note that OpenMetrics
text cannot carry a stale marker: blocks holding one differ from such a file.`,
		Example: `  # The blocks, as 'promtool tsdb list' shows them, and their overlaps.
  promrecover verify /var/lib/prometheus

  # Compare the blocks with the export they were imported from.
  promrecover verify ./data --against lost.json

  # Only over part of the file's range.
  promrecover verify ./data --against lost.om --from 2025-08-03T02:00:00Z --to 2025-08-03T04:00:00Z`,
		Args: oneArg("the directory of the blocks (a Prometheus data directory, or the --out of recover or import)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := importer.ParseFormat(format)
			if err != nil {
				return fmt.Errorf("--format: %w", err)
			}
			if against == "" && (from != "" || to != "" || format != "") {
				return errors.New("--from, --to and --format only apply with --against FILE")
			}
			return runVerify(cmd, logger(), args[0], against, f, from, to)
		},
	}
	cmd.Flags().StringVar(&against, "against", "", "export file (json, jsonl or openmetrics; - for stdin) to compare the blocks with")
	cmd.Flags().StringVar(&format, "format", "", "format of --against: json, jsonl or openmetrics (default: detected from the content)")
	cmd.Flags().StringVar(&from, "from", "", "start of the compared range: RFC 3339, unix seconds, or now-6h (default: the file's first sample)")
	cmd.Flags().StringVar(&to, "to", "", "end of the compared range, exclusive (default: just after the file's last sample)")
	return cmd
}

func runVerify(cmd *cobra.Command, log *slog.Logger, dir, against string, format importer.Format, fromFlag, toFlag string) error {
	stdout := cmd.OutOrStdout()
	list, err := blocks.List(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s does not exist: give the Prometheus data directory (or --out of recover or import)", dir)
	case err != nil:
		return fmt.Errorf("listing the blocks in %s: %w", dir, err)
	case len(list) == 0:
		return &exitError{code: 1, msg: fmt.Sprintf("%s holds no TSDB blocks (directories named by a ULID, with a meta.json)", dir)}
	}
	printBlockList(stdout, list)
	if ov := blocks.Overlaps(list); len(ov) > 0 {
		fmt.Fprintf(stdout, "\n%d overlapping block pairs (Prometheus >= 2.39 queries them merged and merges them at its next compaction):\n", len(ov))
		for _, o := range ov {
			fmt.Fprintf(stdout, "OVERLAP %s and %s: %s..%s\n", o.A.ULID, o.B.ULID, extract.FormatTime(o.MinTime), extract.FormatTime(o.MaxTime))
		}
	} else {
		fmt.Fprintln(stdout, "\nno overlapping blocks")
	}
	if against == "" {
		return nil
	}

	want, name, err := readExport(cmd, against, format)
	if err != nil {
		return err
	}
	mint, maxt := int64(math.MaxInt64), int64(math.MinInt64)
	for _, s := range want {
		for t := range s.Times() {
			mint, maxt = min(mint, t), max(maxt, t+1)
		}
	}
	now := time.Now()
	if fromFlag != "" {
		t, err := parseTime(fromFlag, now)
		if err != nil {
			return fmt.Errorf("--from: %w", err)
		}
		mint = t.UnixMilli()
	}
	if toFlag != "" {
		t, err := parseTime(toFlag, now)
		if err != nil {
			return fmt.Errorf("--to: %w", err)
		}
		maxt = t.UnixMilli()
	}
	if len(want) == 0 && (fromFlag == "" || toFlag == "") {
		return &exitError{code: 1, msg: fmt.Sprintf("%s holds no samples; give --from and --to to check that the blocks hold none either", name)}
	}
	if maxt <= mint {
		return fmt.Errorf("the compared range %s..%s is empty", extract.FormatTime(mint), extract.FormatTime(maxt))
	}
	want = extract.Clip(want, mint, maxt)
	got, err := blocks.ReadSeries(dir, mint, maxt)
	if err != nil {
		return fmt.Errorf("reading the blocks in %s: %w", dir, err)
	}
	log.Debug("compared", "file", name, "from", extract.FormatTime(mint), "to", extract.FormatTime(maxt))
	d := extract.Diff(want, got)
	fmt.Fprintf(stdout, "\ncompared %s with %s over %s..%s\n", dir, name, extract.FormatTime(mint), extract.FormatTime(maxt))
	fmt.Fprintf(stdout, "series: %d in the file, %d in the blocks; samples: %d equal, %d with another value, %d missing from the blocks, %d not in the file\n",
		len(want), len(got), d.Equal, d.Differ, d.Missing, d.Extra)
	if err := extract.Compare(want, got); err != nil {
		first := d.First
		if first == "" {
			first = err.Error()
		}
		fmt.Fprintf(stdout, "FIRST DIFFERENCE %s\n", first)
		return &exitError{code: 1, msg: fmt.Sprintf("the blocks in %s differ from %s: %d samples with another value, %d missing, %d not in the file", dir, name, d.Differ, d.Missing, d.Extra)}
	}
	fmt.Fprintf(stdout, "OK: the blocks hold exactly the file's %d samples of %d series\n", d.Equal, len(want))
	return nil
}

// readExport reads an export file of any format.
func readExport(cmd *cobra.Command, path string, format importer.Format) ([]extract.Series, string, error) {
	name, in := path, io.Reader(cmd.InOrStdin())
	if path == "-" {
		name = "stdin"
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, name, fmt.Errorf("--against: %w", err)
		}
		defer f.Close()
		in = f
	}
	m := export.NewMatrix()
	res, err := importer.Import(cmd.Context(), in, importer.Options{Format: format}, m)
	if err = withWriterHint(err); err != nil {
		return nil, name, fmt.Errorf("%s: %w", name, err)
	}
	if f := res.Failed(); len(f) > 0 {
		return nil, name, fmt.Errorf("%s: %w", name, f[0].Err)
	}
	return m.Series(), name, nil
}

func printBlockList(w io.Writer, list []blocks.BlockInfo) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BLOCK ULID\tMIN TIME\tMAX TIME\tDURATION\tNUM SERIES\tNUM SAMPLES\tNUM CHUNKS\tSIZE")
	var series, samples, chunks uint64
	var size int64
	for _, b := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", b.ULID, extract.FormatTime(b.MinTime), extract.FormatTime(b.MaxTime),
			time.Duration(b.MaxTime-b.MinTime)*time.Millisecond, b.Series, b.Samples, b.Chunks, formatBytes(b.Size))
		series, samples, chunks, size = series+b.Series, samples+b.Samples, chunks+b.Chunks, size+b.Size
	}
	tw.Flush()
	fmt.Fprintf(w, "%d blocks, %d series (counted per block), %d samples, %d chunks, %s\n", len(list), series, samples, chunks, formatBytes(size))
}
