package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/importer"
	"github.com/promrecover/promrecover/internal/exitcode"
	"github.com/promrecover/promrecover/internal/flagalias"
	"github.com/promrecover/promrecover/recovery"
	"github.com/promrecover/promrecover/report"
)

func newVerifyCmd(logger func() *slog.Logger) *cobra.Command {
	var dir, against, format, from, to string
	var bkt bucketFlags
	cmd := &cobra.Command{
		Use:   "verify --data DIR [--against FILE]",
		Short: "List the TSDB blocks in a directory, their overlaps, and compare them with an export",
		Long: `verify opens the blocks in DIR read-only (it writes nothing there, and does not
use Prometheus's read-only DB, which would put a sandbox directory in DIR) and
prints one line per block, as 'promtool tsdb list' does: ULID, time range,
series, samples, chunks and size on disk. It lists the blocks whose time ranges
overlap; Prometheus 2.39 and later accept such blocks, query them merged and
merge them at the next compaction. It counts the samples both blocks of such a
pair hold (a window installed twice), and fails on any.

With --against FILE (an export in any format: json, jsonl or openmetrics; - for
stdin), it compares the samples of the blocks with the file's, sample by
sample and values bit for bit, over the file's time range or --from/--to. It
prints the first difference and a count of matching, differing, missing and
extra samples, and exits non-zero on any difference. Note that OpenMetrics
text cannot carry a stale marker: blocks holding one differ from such a file.

With --objstore.config-file (and --external-label), the blocks are those of a
stream in a bucket, overlapping --from/--to when given: they are downloaded into
--tmp-dir, verified there and removed; the bucket is only read.`,
		Example: example("verify"),
		Args:    flagalias.Arg("data", "DIR", "the directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := importer.ParseFormat(format)
			if err != nil {
				return usagef("--format: %w", err)
			}
			if against == "" && (format != "" || (!bkt.given() && (from != "" || to != ""))) {
				return usagef("--from, --to and --format only apply with --against FILE (or, --from and --to, with a bucket)")
			}
			log := logger()
			if !bkt.given() {
				return runVerify(cmd, log, dir, dir, against, f, from, to)
			}
			if dir != "" {
				return usagef("give either --data (a directory) or --objstore.config-file/--objstore.config (a bucket), not both")
			}
			copied, where, done, err := bkt.copyStream(cmd.Context(), log, from, to)
			if err != nil {
				return err
			}
			defer done()
			return runVerify(cmd, log, copied, where, against, f, from, to)
		},
	}
	cmd.Flags().StringVar(&dir, "data", "", "the directory of the blocks: a Prometheus data directory, or the --out of recover or import (read only; it used to be the argument DIR) (required)")
	cmd.Flags().StringVar(&against, "against", "", "export file (json, jsonl or openmetrics; - for stdin) to compare the blocks with")
	cmd.Flags().StringVar(&format, "format", "", "format of --against: json, jsonl or openmetrics (default: detected from the content)")
	cmd.Flags().StringVar(&from, "from", "", "start of the compared range: "+timeForms+", or now-6h (default: the file's first sample)")
	cmd.Flags().StringVar(&to, "to", "", "end of the compared range, exclusive: "+timeForms+", now or now-1h (default: just after the file's last sample)")
	bkt.registerRead(cmd.Flags())
	return cmd
}

// parseBounds reads the optional --from and --to (nil where not given).
func parseBounds(log *slog.Logger, fromFlag, toFlag string) (from, to *time.Time, err error) {
	now := time.Now()
	for _, b := range []struct {
		flag, value string
		t           **time.Time
	}{{"--from", fromFlag, &from}, {"--to", toFlag, &to}} {
		if b.value != "" {
			t, err := parseTimeFlag(log, b.flag, b.value, now)
			if err != nil {
				return nil, nil, err
			}
			*b.t = &t
		}
	}
	return from, to, nil
}

// runVerify verifies the blocks in dir, which messages call where.
func runVerify(cmd *cobra.Command, log *slog.Logger, dir, where, against string, format importer.Format, fromFlag, toFlag string) error {
	// The times first, so that a mistyped one fails before the blocks are read.
	from, to, err := parseBounds(log, fromFlag, toFlag)
	if err != nil {
		return err
	}
	stdout := cmd.OutOrStdout()
	list, err := blocks.List(dir)
	switch {
	case dir == "": // checked here, as a config file may give it after the arguments are
		return usagef("--data is required: the directory of the blocks (a Prometheus data directory, or the --out of recover or import)")
	case errors.Is(err, fs.ErrNotExist):
		return usagef("%s does not exist: give the Prometheus data directory (or --out of recover or import)", dir)
	case err != nil:
		return fmt.Errorf("listing the blocks in %s: %w", dir, err)
	case len(list) == 0:
		return &exitcode.Error{Code: exitcode.Failed, Msg: fmt.Sprintf("%s holds no TSDB blocks (directories named by a ULID, with a meta.json)", where)}
	}
	report.BlockList(stdout, list)
	ov := blocks.Overlaps(list)
	report.Overlaps(stdout, ov)
	dups, err := blocks.Duplicates(dir, ov)
	if err != nil {
		return err
	}
	report.Duplicates(stdout, dups)
	if against == "" {
		return blocks.CheckDuplicates(dir, dups)
	}

	in, err := importer.Open(against, cmd.InOrStdin())
	if err != nil {
		return usagef("--against: %w", err)
	}
	defer in.Close()
	want, err := recovery.ReadExport(cmd.Context(), in, format)
	if err != nil {
		return usagef("%s: %w", in.Name, withWriterHint(err))
	}
	mint, maxt := recovery.Span(want)
	if from != nil {
		mint = from.UnixMilli()
	}
	if to != nil {
		maxt = to.UnixMilli()
	}
	if len(want) == 0 && (fromFlag == "" || toFlag == "") {
		return &exitcode.Error{Code: exitcode.Failed, Msg: fmt.Sprintf("%s holds no samples; give --from and --to to check that the blocks hold none either", in.Name)}
	}
	c, err := recovery.Compare(dir, want, mint, maxt)
	if err != nil {
		return err
	}
	log.Debug("compared", "file", in.Name, "from", extract.FormatTime(mint), "to", extract.FormatTime(maxt))
	report.Comparison(stdout, where, in.Name, mint, maxt, c, dups)
	if c.Err != nil {
		return &exitcode.Error{Code: exitcode.Failed, Msg: fmt.Sprintf("the blocks in %s differ from %s: %d samples with another value, %d missing, %d not in the file", where, in.Name, c.Differ, c.Missing, c.Extra)}
	}
	return blocks.CheckDuplicates(dir, dups)
}
