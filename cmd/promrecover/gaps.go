package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/spf13/cobra"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/gaps"
	"github.com/promrecover/promrecover/promapi"
)

// localFlags say where the data that survived is.
type localFlags struct {
	data, promURL string
	minGap        time.Duration
}

func (l *localFlags) register(cmd *cobra.Command, dataHelp string) {
	cmd.Flags().StringVar(&l.data, "data", "", dataHelp)
	cmd.Flags().StringVar(&l.promURL, "prometheus-url", "", "read the surviving data from this running Prometheus's API instead (covers its head block too)")
	cmd.Flags().DurationVar(&l.minGap, "min-gap", time.Minute, "shortest stretch without samples that counts as a hole (never less than 3 of the series' own scrape intervals)")
}

func newGapsCmd(logger func() *slog.Logger) *cobra.Command {
	var (
		local    localFlags
		from, to string
		match    []string
		showAll  bool
	)
	cmd := &cobra.Command{
		Use:   "gaps",
		Short: "List, series by series, the holes in the data a Prometheus kept",
		Long: `gaps reads the surviving local data read-only (the blocks in --data, or a
running Prometheus through --prometheus-url) and lists, for each series, the
stretches of [--from, --to) without samples. 'recover --only-gaps' writes only
into such holes, so recovered samples never interleave with surviving ones.
Series that are not in the local data at all are not listed: a recovery writes
them whole.`,
		Example: `  # The holes in the blocks of a Docker volume (Prometheus may keep running).
  promrecover gaps --data /var/lib/docker/volumes/x_prometheus-storage/_data --from now-12h --to now-3h

  # Through a running Prometheus, head block included, one job, holes of 5m or more.
  promrecover gaps --prometheus-url http://localhost:9090 --from 2025-08-03T02:00:00Z \
      --to 2025-08-03T08:30:00Z --match '{job="traffic"}' --min-gap 5m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			if from == "" {
				return errors.New("--from is required: the start of the range to look at")
			}
			f, err := parseTime(from, now)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			t, err := parseTime(to, now)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			plan, err := extract.NewPlan(f, t, 0, match)
			if err != nil {
				return err
			}
			ix, err := local.index(cmd.Context(), plan, logger())
			if err != nil {
				return err
			}
			return printHoles(cmd.OutOrStdout(), ix, showAll)
		},
	}
	local.register(cmd, "the Prometheus data directory to read (read-only; its head block, in wal/, is not read: use --prometheus-url for the last hours)")
	cmd.Flags().StringVar(&from, "from", "", "start of the range: RFC 3339, unix seconds, or now-6h")
	cmd.Flags().StringVar(&to, "to", "now", "end of the range (exclusive): RFC 3339, unix seconds, now or now-1h")
	cmd.Flags().StringArrayVar(&match, "match", nil, "series selector, e.g. '{job=\"node\"}' (repeatable; default: every series)")
	cmd.Flags().BoolVar(&showAll, "all", false, "also list the series without holes")
	return cmd
}

// index reads the surviving data of the plan's selectors around its range.
func (l *localFlags) index(ctx context.Context, p *extract.Plan, log *slog.Logger) (*gaps.Index, error) {
	if (l.data == "") == (l.promURL == "") {
		return nil, errors.New("say where the surviving data is: --data DIR (a Prometheus data directory) or --prometheus-url URL (a running Prometheus)")
	}
	ix := gaps.New(p.From, p.To, l.minGap)
	mint, maxt := p.From-ix.Margin(), p.To+ix.Margin()
	var sets [][]*labels.Matcher
	for _, sel := range p.Selectors {
		ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(sel)
		if err != nil {
			return nil, err
		}
		sets = append(sets, ms)
	}
	if l.data != "" {
		if p.To > time.Now().Add(-headSpan).UnixMilli() {
			log.Warn("--data reads blocks only; the last hours are still in the head (wal/) of a running Prometheus and look like holes here: use --prometheus-url for them")
		}
		err := blocks.EachSeries(l.data, mint, maxt, func(s extract.Series) error {
			if slices.ContainsFunc(sets, func(ms []*labels.Matcher) bool { return matches(ms, s.Labels) }) {
				ix.Add(s)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("--data %s: %w", l.data, err)
		}
		return ix, nil
	}
	seen := map[uint64]bool{}
	client := promapi.New(l.promURL, promapi.Options{})
	for _, sel := range p.Selectors {
		series, err := queryRaw(ctx, client, sel, mint, maxt)
		if err != nil {
			return nil, err
		}
		for _, s := range series {
			// Two selectors may match one series; index it once.
			if h := s.Labels.Hash(); !seen[h] {
				seen[h] = true
				s.Normalize(mint, maxt)
				ix.Add(s)
			}
		}
	}
	return ix, nil
}

func matches(ms []*labels.Matcher, ls labels.Labels) bool {
	for _, m := range ms {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}

// queryRaw asks a Prometheus for the raw samples of sel in [mint, maxt).
func queryRaw(ctx context.Context, c *promapi.Client, sel string, mint, maxt int64) ([]extract.Series, error) {
	var out []extract.Series
	err := c.QueryMatrix(ctx, fmt.Sprintf("%s[%dms]", sel, maxt-mint), maxt-1, func(s extract.Series) error {
		// The series is the reader's until the call returns.
		out = append(out, extract.Series{Labels: s.Labels, Samples: slices.Clone(s.Samples), Histograms: slices.Clone(s.Histograms)})
		return nil
	})
	var ae *promapi.AnswerError
	if errors.As(err, &ae) {
		return nil, fmt.Errorf("--prometheus-url: the query for %s failed (HTTP %d): %s%v; for a large range, read the data directory with --data instead", sel, ae.HTTPStatus, ae.Message, ae.Err)
	}
	if err != nil {
		return nil, fmt.Errorf("--prometheus-url: %w", err)
	}
	return out, nil
}

func printHoles(w io.Writer, ix *gaps.Index, showAll bool) error {
	type row struct {
		ls    labels.Labels
		holes []gaps.Range
	}
	var rows []row
	total := 0
	ix.Each(func(ls labels.Labels, holes []gaps.Range) {
		total++
		if len(holes) > 0 || showAll {
			rows = append(rows, row{ls, holes})
		}
	})
	slices.SortFunc(rows, func(a, b row) int { return labels.Compare(a.ls, b.ls) })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERIES\tFROM\tTO\tMISSING")
	withHoles := 0
	for _, r := range rows {
		if len(r.holes) == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t0s\n", r.ls)
			continue
		}
		withHoles++
		for _, h := range r.holes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ls, extract.FormatTime(h.From), extract.FormatTime(h.To), time.Duration(h.To-h.From)*time.Millisecond)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d of %d local series have holes in [%s, %s); series not in the local data at all are not listed, and a recovery writes them whole\n",
		withHoles, total, extract.FormatTime(ix.From), extract.FormatTime(ix.To))
	return nil
}
