package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/spf13/cobra"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/relabel"
	"github.com/promrecover/promrecover/extract/state"
	"github.com/promrecover/promrecover/grafana"
)

// defaultScrape is the scrape interval the estimates assume.
const defaultScrape = 15 * time.Second

func newPlanCmd(logger func() *slog.Logger) *cobra.Command {
	var (
		conn      connFlags
		sel       selectFlags
		rl        relabelFlags
		out       string
		retention string
		statePath string
		restart   bool
		scrape    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what a recover would fetch, and estimate its cost, writing nothing",
		Long: `plan takes the flags of recover and prints, without writing anything:
the 2h windows, which of them an earlier recover into --out already installed
(from its resume state, when their blocks are still there), reach into the
last 3h (a running Prometheus's head) or fall past --retention; the series per metric the selectors match,
counted through the datasource's series API (through its resources or the
datasource proxy) or, where Grafana refuses both, with count queries, and
which of these answered; and estimates of the requests, samples and download size of
the windows that remain.

The estimates are rough: samples are series x range / --scrape-interval (or
--step), as if every series had samples for the whole range; bytes are about
20 bytes of JSON a sample, a third of that gzipped on the wire.
'promrecover recover --dry-run' prints the same.`,
		Example: `  # Once per shell: credentials from the environment, typed at a prompt,
  # stay out of the shell history and the process list.
  read -rsp 'service account token: ' GRAFANA_TOKEN && export GRAFANA_TOKEN
  export GRAFANA_URL=https://example.grafana.net

  # Windows, series per metric and estimates; writes nothing.
  promrecover plan --datasource grafanacloud-prom --from 2025-08-03T02:00:00Z \
      --to 2025-08-03T08:30:00Z --match '{job="traffic"}' --retention 15d --out /var/lib/prometheus

  # The estimate for every series scraped every 30s, and for the same resampled at 1m.
  promrecover plan --datasource grafanacloud-prom --from now-24h --to now-3h --scrape-interval 30s
  promrecover plan --datasource grafanacloud-prom --from now-24h --to now-3h --step 1m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := logger()
			ret, err := parseRetention(retention)
			if err != nil {
				return err
			}
			rules, err := rl.rules()
			if err != nil {
				return err
			}
			now := time.Now()
			plan, client, err := prepareQuery(&conn, &sel, log, now)
			if err != nil {
				return err
			}
			r := &recovery{plan: plan, client: client, grafanaURL: conn.url, datasource: conn.datasource, out: out, statePath: statePath,
				restart: restart, retention: ret, now: now, relabel: rules, via: sel.transport}
			return printPlan(cmd, log, r, scrape)
		},
	}
	conn.register(cmd.Flags())
	sel.register(cmd.Flags())
	cmd.Flags().StringVar(&conn.datasource, "datasource", "", "uid or name of the Prometheus datasource")
	cmd.Flags().StringVar(&out, "out", "", "Prometheus data directory, read (never written) for the windows an earlier recover installed there and, with --retention, the newest block")
	cmd.Flags().StringVar(&statePath, "state", "", "the resume state recover would read (default: "+blocks.StateFileName+" in --out); only read")
	cmd.Flags().BoolVar(&restart, "restart", false, "plan as recover --restart would run: every window, whatever the resume state says")
	cmd.Flags().StringVar(&retention, "retention", "", "the Prometheus's --storage.tsdb.retention.time (e.g. 200h), to mark the windows it would delete")
	cmd.Flags().DurationVar(&scrape, "scrape-interval", defaultScrape, "typical scrape interval, for the estimate of samples and bytes")
	rl.register(cmd.Flags())
	return cmd
}

// printPlan prints what recovering r would fetch, leaving out what an
// earlier run of the same plan installed; plan and recover --dry-run share it.
func printPlan(cmd *cobra.Command, log *slog.Logger, r *recovery, scrape time.Duration) error {
	pa := planArgs{plan: r.plan, client: r.client, datasource: r.datasource, out: r.out, retention: r.retention,
		now: r.now, rules: r.relabel, scrape: scrape, via: r.via}
	var err error
	if pa.earlier, pa.state, err = r.earlierDone(); err != nil {
		return err
	}
	return runPlan(cmd.Context(), cmd.OutOrStdout(), log, pa)
}

type planArgs struct {
	plan       *extract.Plan
	client     *grafana.Client
	datasource string
	out        string // "" when not given
	retention  time.Duration
	now        time.Time
	rules      relabel.Rules
	scrape     time.Duration
	via        grafana.Transport
	earlier    []state.Window // installed by an earlier recover of the same plan
	state      string         // the state file that records them
}

// discovery is what series discovery says about a plan's series.
type discovery struct {
	metrics []metricCount // by name
	total   int           // distinct series; -1 when unknown
	refused string        // why the counts are unknown, "" when known
	via     string        // which source counted them, as grafana.Discovery words it
	merges  []string      // relabelling collisions among the series found
	// unchecked: relabelling collisions could not be looked for (count
	// queries give no label sets).
	unchecked bool
}

type metricCount struct {
	name   string
	series int // -1 when unknown
}

// runPlan prints the plan and its estimates. It writes nothing: no state
// file, no staging directory, no block.
func runPlan(ctx context.Context, stdout io.Writer, log *slog.Logger, a planArgs) error {
	if a.scrape <= 0 {
		return errors.New("--scrape-interval must be positive")
	}
	ds, err := a.client.ResolveDatasource(ctx, a.datasource)
	if err != nil {
		return err
	}
	p := a.plan
	var cutoff int64
	if a.retention > 0 {
		newest := a.now.UnixMilli()
		if a.out != "" {
			if t, ok, err := blocks.NewestMaxTime(a.out); err == nil && ok && t > newest {
				newest = t
			}
		}
		cutoff = newest - a.retention.Milliseconds()
	}
	windows := extract.ClassifyWindows(p, a.now.Add(-headSpan).UnixMilli(), cutoff)
	d, err := discover(ctx, &grafana.Source{Client: a.client, Datasource: ds, Via: a.via}, p, a.rules, log)
	if err != nil {
		return err
	}

	fmt.Fprintf(stdout, "plan for datasource %s (uid %s): %s to %s, %d windows of 2h, %d selectors\n",
		ds.Name, ds.UID, extract.FormatTime(p.From), extract.FormatTime(p.To), len(p.Windows), len(p.Selectors))
	for _, s := range p.Selectors {
		fmt.Fprintf(stdout, "  --match %s\n", s)
	}
	if p.Step > 0 {
		fmt.Fprintf(stdout, "  resampled at --step %s\n", p.Step)
	}
	if !a.rules.Empty() {
		fmt.Fprintf(stdout, "relabelling before writing: %s (selectors match the labels as the source has them)\n", a.rules)
	}

	fmt.Fprintln(stdout)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WINDOW\tNOTE")
	var inHead, past int
	for _, w := range windows {
		var notes []string
		if i := slices.IndexFunc(a.earlier, func(e state.Window) bool { return e.Start == w.Start }); i >= 0 {
			notes = append(notes, "recovered by an earlier run (block "+a.earlier[i].ULID+"): skipped")
		}
		if w.InHead {
			inHead++
			notes = append(notes, "in the head (last 3h): overlaps what a running Prometheus holds")
		}
		if w.PastRetention {
			past++
			notes = append(notes, "past --retention: Prometheus deletes its block at the next reload")
		}
		fmt.Fprintf(tw, "%s\t%s\n", w.Window, strings.Join(notes, "; "))
	}
	tw.Flush()
	if inHead > 0 {
		fmt.Fprintf(stdout, "%d windows reach into the last 3h; stop at --to now-3h unless Prometheus was down for that time too\n", inHead)
	}
	if past > 0 {
		fmt.Fprintf(stdout, "%d windows are older than --retention %s; their blocks would be deleted\n", past, a.retention)
	}
	todo := remaining(p, a.earlier)
	switch {
	case len(todo.Windows) == 0:
		fmt.Fprintf(stdout, "all %d windows were recovered by an earlier run (state: %s): recover with these flags fetches nothing\n", len(p.Windows), a.state)
	case len(a.earlier) > 0:
		fmt.Fprintf(stdout, "%d of %d windows were recovered by an earlier run (state: %s) and would be skipped; the estimates cover the other %d\n",
			len(a.earlier), len(p.Windows), a.state, len(todo.Windows))
	}

	fmt.Fprintln(stdout)
	if d.refused != "" {
		fmt.Fprintf(stdout, "series: unknown: %s\n", d.refused)
	}
	if len(d.metrics) > 0 {
		width := len("SERIES")
		for _, m := range d.metrics {
			width = max(width, len(countString(m.series)))
		}
		width = max(width, len(countString(d.total)))
		fmt.Fprintf(stdout, "series per metric, counted %s:\n", d.via)
		tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "METRIC\t%*s\n", width, "SERIES")
		for _, m := range d.metrics {
			fmt.Fprintf(tw, "%s\t%*s\n", m.name, width, countString(m.series))
		}
		fmt.Fprintf(tw, "total\t%*s\n", width, countString(d.total))
		tw.Flush()
	} else if d.refused == "" {
		fmt.Fprintln(stdout, "series: none of the selectors matches a series in the range")
	}
	for _, m := range d.merges {
		fmt.Fprintf(stdout, "relabelling merges series: %s\n", m)
	}
	if len(d.merges) > 0 {
		fmt.Fprintln(stdout, "recover fails every window in which merged series both have samples; drop fewer labels")
	}
	if d.unchecked {
		fmt.Fprintln(stdout, "relabelling: series it would merge are not looked for (count queries give no label sets); recover fails a window where it merges series")
	}

	fmt.Fprintln(stdout)
	perRequest := (&grafana.Source{Via: a.via}).MaxBatch()
	batches := (len(p.Selectors) + perRequest - 1) / perRequest
	fmt.Fprintf(stdout, "estimate (rough):\n")
	fmt.Fprintf(stdout, "  requests: %d (%d windows x %d of up to %d selectors each), more if some must be retried or split\n",
		extract.Requests(&todo, perRequest), len(todo.Windows), batches, perRequest)
	if d.total < 0 {
		fmt.Fprintln(stdout, "  samples and bytes: unknown without a series count")
	} else {
		interval, what := a.scrape, "--scrape-interval"
		if p.Step > 0 {
			interval, what = p.Step, "--step"
		}
		// The windows left cover this much of the range, in pieces: the
		// estimate is that of one range as long.
		left := extract.Plan{To: covered(&todo), Step: p.Step}
		samples := extract.Samples(&left, d.total, a.scrape)
		js, gz := extract.Bytes(samples)
		fmt.Fprintf(stdout, "  samples: %d (%d series x %s / %s %s; less for series that start or stop within the range)\n",
			samples, d.total, time.Duration(left.To)*time.Millisecond, what, interval)
		fmt.Fprintf(stdout, "  download: %s of JSON, about %s gzipped (~%d bytes a sample, /%d with gzip)\n",
			formatBytes(js), formatBytes(gz), extract.JSONBytesPerSample, extract.GzipFactor)
	}
	fmt.Fprintln(stdout, "\nnothing was written")
	return nil
}

// covered is how many milliseconds of p's range its windows cover.
func covered(p *extract.Plan) int64 {
	var ms int64
	for _, w := range p.Windows {
		ms += min(w.End, p.To) - max(w.Start, p.From)
	}
	return ms
}

func countString(n int) string {
	if n < 0 {
		return "unknown"
	}
	return fmt.Sprint(n)
}

// discover counts the series per metric name the selectors match in the
// plan's range, through whichever source Grafana allows (the series API
// through the datasource's resources or proxy, else count queries; see
// grafana.Census), and says which. Where every source fails the counts are
// unknown, which is said, not an error; only a cancelled context is.
func discover(ctx context.Context, src *grafana.Source, p *extract.Plan, rules relabel.Rules, log *slog.Logger) (discovery, error) {
	from, to := p.From, p.To-1 // the API's end is inclusive
	cen, err := src.Census(ctx, p.Selectors, from, to)
	var counts []map[string]int
	if err == nil {
		counts, err = cen.Count(ctx, model.MetricNameLabel)
	}
	if err != nil {
		if ctx.Err() != nil {
			return discovery{}, ctx.Err()
		}
		log.Debug("series discovery failed", "err", err)
		why := userText(err)
		var se *grafana.StatusError
		if errors.As(err, &se) {
			// Without the path, which repeats the selectors URL-encoded;
			// what the error says around it stays.
			short := fmt.Sprintf("HTTP %d", se.Status)
			if se.Message != "" {
				short += ": " + se.Message
			}
			why = strings.Replace(why, se.Error(), short, 1)
		}
		return discovery{total: -1, refused: "series discovery failed: " + why}, nil
	}
	d := discovery{via: cen.Via.String()}
	byName := counts[0]
	names := make([]string, 0, len(byName))
	for n := range byName {
		if n != "" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		d.metrics = append(d.metrics, metricCount{name: n, series: byName[n]})
		d.total += byName[n]
	}
	switch {
	case rules.Empty():
	case cen.Sets == nil:
		d.unchecked = true
	default:
		d.merges = merges(cen.Sets, rules, 3)
	}
	return d, nil
}

// merges describes up to limit pairs of the series found that relabelling
// turns into one label set, and how many more there are.
func merges(found []labels.Labels, rules relabel.Rules, limit int) []string {
	seen := map[string]labels.Labels{}
	var out []string
	more := 0
	for _, ls := range found {
		res := rules.Apply(ls)
		key := res.String()
		if prev, ok := seen[key]; ok && !labels.Equal(prev, ls) {
			if len(out) < limit {
				out = append(out, fmt.Sprintf("%s and %s both become %s", prev, ls, res))
			} else {
				more++
			}
			continue
		}
		seen[key] = ls
	}
	if more > 0 {
		out = append(out, fmt.Sprintf("and %d more", more))
	}
	return out
}
