// Command gen writes the benchmark's OpenMetrics input (gen.Bench, package internal/gen):
// N series of M samples, deterministic for a seed. bench/import.sh feeds it
// to promtool and to promrecover import.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/promrecover/promrecover/internal/gen"
)

func main() {
	cfg := gen.DefaultBench
	flag.IntVar(&cfg.Series, "series", cfg.Series, "number of series")
	flag.IntVar(&cfg.Samples, "samples", cfg.Samples, "samples per series (15s apart)")
	flag.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed; the same flags give the same file byte for byte")
	start := flag.String("start", cfg.Start.Format(time.RFC3339), "time of the first scrape (RFC 3339)")
	out := flag.String("o", "-", "output file, - for stdout")
	flag.Parse()
	var err error
	if cfg.Start, err = time.Parse(time.RFC3339, *start); err != nil {
		fatal(err)
	}
	f := os.Stdout
	if *out != "-" {
		if f, err = os.Create(*out); err != nil {
			fatal(err)
		}
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := gen.WriteOpenMetrics(bw, cfg); err != nil {
		fatal(err)
	}
	if err := bw.Flush(); err != nil {
		fatal(err)
	}
	if err := f.Close(); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}
