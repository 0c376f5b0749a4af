package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/gaps"
	"github.com/promrecover/promrecover/internal/shellquote"
	"github.com/promrecover/promrecover/promapi"
	"github.com/promrecover/promrecover/recovery"
	"github.com/promrecover/promrecover/report"
)

// localFlags say where the data that survived is.
type localFlags struct {
	data, promURL string
	minGap        time.Duration
	bkt           *bucketFlags // gaps's: the blocks of a stream in a bucket
}

func (l *localFlags) register(cmd *cobra.Command, dataHelp, promHelp string) {
	cmd.Flags().StringVar(&l.data, "data", "", dataHelp)
	cmd.Flags().StringVar(&l.promURL, "prometheus-url", "", promHelp)
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
		Long: `gaps reads the surviving local data read-only (the blocks in --data, a
running Prometheus through --prometheus-url, or the blocks of a stream in a bucket
through --objstore.config-file and its --external-label) and lists, for each series, the
stretches of [--from, --to) without samples. 'recover --only-gaps' writes only
into such holes, so recovered samples never interleave with surviving ones.
Series that are not in the local data at all are not listed: a recovery writes
them whole.`,
		Example: example("gaps"),
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now, log := time.Now(), logger()
			if from == "" {
				return usagef("--from is required: the start of the range to look at")
			}
			f, err := parseTimeFlag(log, "--from", from, now)
			if err != nil {
				return err
			}
			t, err := parseTimeFlag(log, "--to", to, now)
			if err != nil {
				return err
			}
			plan, err := extract.NewPlan(f, t, 0, match)
			if err != nil {
				return err
			}
			ix, err := local.index(cmd.Context(), plan, log)
			if err != nil {
				return err
			}
			return report.Holes(cmd.OutOrStdout(), ix, showAll, local.fillCommand(plan, match, cmd.Flags().Changed("min-gap")))
		},
	}
	local.register(cmd, "the Prometheus data directory to read (read-only; its head block, in wal/, is not read: use --prometheus-url for the last hours)",
		"read the surviving data from this running Prometheus's API instead (covers its head block too)")
	local.bkt = &bucketFlags{}
	local.bkt.registerRead(cmd.Flags())
	cmd.Flags().StringVar(&from, "from", "", "start of the range: "+timeForms+", or now-6h")
	cmd.Flags().StringVar(&to, "to", "now", "end of the range (exclusive): "+timeForms+", now or now-1h")
	cmd.Flags().StringArrayVar(&match, "match", nil, "series selector, e.g. '{job=\"node\"}' (repeatable; default: every series)")
	cmd.Flags().BoolVar(&showAll, "all", false, "also list the series without holes")
	return cmd
}

// index reads the surviving data of the plan's selectors around its range.
func (l *localFlags) index(ctx context.Context, p *extract.Plan, log *slog.Logger) (*gaps.Index, error) {
	inBucket := l.bkt != nil && l.bkt.given()
	if inBucket && l.data == "" && l.promURL == "" {
		o, _, err := l.bkt.options(log)
		if err != nil {
			return nil, err
		}
		return recovery.BucketIndex(ctx, *o, p, l.minGap)
	}
	if (l.data == "") == (l.promURL == "") || inBucket {
		return nil, usagef("say where the surviving data is: --data DIR (a Prometheus data directory), --prometheus-url URL (a running Prometheus) or --objstore.config-file FILE (a bucket)")
	}
	if l.data != "" {
		if p.To > time.Now().Add(-recovery.HeadSpan).UnixMilli() {
			log.Warn("--data reads blocks only; the last hours are still in the head (wal/) of a running Prometheus and look like holes here: use --prometheus-url for them")
		}
		ix, err := recovery.BlocksIndex(l.data, p, l.minGap)
		if err != nil {
			return nil, fmt.Errorf("--data %s: %w", l.data, err)
		}
		return ix, nil
	}
	ix, err := recovery.PrometheusIndex(ctx, l.client(), p, l.minGap)
	var qe *recovery.QueryError
	var ae *promapi.AnswerError
	switch {
	case errors.As(err, &qe) && errors.As(err, &ae):
		return nil, fmt.Errorf("--prometheus-url: the query for %s failed (HTTP %d): %s%v; for a large range, read the data directory with --data instead", qe.Selector, ae.HTTPStatus, ae.Message, ae.Err)
	case errors.As(err, &qe):
		return nil, fmt.Errorf("--prometheus-url: %w", qe.Err)
	}
	return ix, err
}

// client asks the Prometheus of --prometheus-url.
func (l *localFlags) client() *promapi.Client { return promapi.New(l.promURL, promapi.Options{}) }

// fillCommand is the recover command that writes into the holes of the
// plan's range that gaps found, with the times resolved (now-6h moves) and
// placeholders for what gaps does not know.
func (l *localFlags) fillCommand(p *extract.Plan, match []string, minGapSet bool) string {
	args := []string{"promrecover", "recover", "--grafana-url", "URL", "--datasource", "NAME", "--out", "DIR", "--only-gaps",
		"--from", extract.FormatTime(p.From), "--to", extract.FormatTime(p.To)}
	for _, m := range match {
		args = append(args, "--match", m)
	}
	switch {
	case l.data != "":
		args = append(args, "--data", l.data)
	case l.promURL != "":
		args = append(args, "--prometheus-url", l.promURL)
	default:
		args = l.bkt.fillArgs(slices.DeleteFunc(args, func(a string) bool { return a == "--out" || a == "DIR" }))
	}
	if minGapSet {
		args = append(args, "--min-gap", l.minGap.String())
	}
	return shellquote.Join(args...)
}
