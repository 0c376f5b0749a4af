// Command synthverify checks that the TSDB blocks in a directory hold
// exactly the synthetic data set bench/simserver serves over [--from, --to):
// window by window (2h by default), it reads the blocks with
// blocks.ReadSeries and compares them with Synthetic.SeriesIn, series by
// series and sample by sample, values bit for bit, so only one window of
// each is in memory at a time. It also checks that the blocks hold nothing
// outside the range. It prints the series and samples verified and exits
// non-zero on the first difference.
package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
)

func main() {
	var (
		dir      = flag.String("dir", "", "directory with the blocks (required)")
		series   = flag.Int("series", 10_000, "number of series of the data set")
		interval = flag.Duration("interval", 15*time.Second, "scrape interval of the data set")
		start    = flag.String("start", "2025-08-01T00:00:00Z", "start of the data set (RFC 3339)")
		end      = flag.String("end", "2025-08-04T00:00:00Z", "end of the data set, exclusive (RFC 3339)")
		seed     = flag.Int64("seed", 1, "seed of the data set")
		from     = flag.String("from", "", "start of the recovered range (RFC 3339, required)")
		to       = flag.String("to", "", "end of the recovered range, exclusive (RFC 3339, required)")
		window   = flag.Duration("window", 2*time.Hour, "compare this much at a time")
	)
	flag.Parse()
	if *dir == "" || *from == "" || *to == "" {
		fatal(errors.New("--dir, --from and --to are required"))
	}
	syn := &gen.Synthetic{Series: *series, Interval: *interval, Start: parse("start", *start), End: parse("end", *end), Seed: *seed}
	mint, maxt := parse("from", *from).UnixMilli(), parse("to", *to).UnixMilli()
	if mint >= maxt || *window <= 0 {
		fatal(errors.New("--from must be before --to and --window positive"))
	}

	began := time.Now()
	var samples int64
	maxSeries := 0
	step := window.Milliseconds()
	for w := mint; w < maxt; w += step {
		we := min(w+step, maxt)
		want := syn.SeriesIn(w, we)
		got, err := blocks.ReadSeries(*dir, w, we)
		if err != nil {
			fatal(err)
		}
		if err := extract.Compare(want, got); err != nil {
			fatal(fmt.Errorf("[%s, %s): %w", ms(w), ms(we), err))
		}
		samples += extract.CountSamples(got)
		maxSeries = max(maxSeries, len(got))
	}
	for _, r := range [][2]int64{{math.MinInt64 / 2, mint}, {maxt, math.MaxInt64 / 2}} {
		extra, err := blocks.ReadSeries(*dir, r[0], r[1])
		if err != nil {
			fatal(err)
		}
		if n := extract.CountSamples(extra); n > 0 {
			fatal(fmt.Errorf("%d samples outside [%s, %s)", n, ms(mint), ms(maxt)))
		}
	}
	if samples == 0 {
		fatal(errors.New("nothing to verify: the range holds no samples"))
	}
	fmt.Printf("verified %d samples of %d series in [%s, %s), exact, in %s\n",
		samples, maxSeries, ms(mint), ms(maxt), time.Since(began).Round(time.Millisecond))
}

func parse(flagName, v string) time.Time {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		fatal(fmt.Errorf("--%s: %w", flagName, err))
	}
	return t
}

func ms(t int64) string { return time.UnixMilli(t).UTC().Format(time.RFC3339) }

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "synthverify:", err)
	os.Exit(1)
}
