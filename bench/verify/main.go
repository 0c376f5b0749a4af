// Command verify compares the TSDB blocks in two directories sample by
// sample (values bit for bit) and prints the number of series and samples
// they hold; it exits non-zero on the first difference. bench/import.sh uses
// it to check that promrecover import wrote exactly what promtool wrote.
package main

import (
	"fmt"
	"math"
	"os"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: verify WANT_DIR GOT_DIR")
		os.Exit(2)
	}
	want, err := blocks.ReadSeries(os.Args[1], math.MinInt64, math.MaxInt64)
	if err != nil {
		fatal(err)
	}
	got, err := blocks.ReadSeries(os.Args[2], math.MinInt64, math.MaxInt64)
	if err != nil {
		fatal(err)
	}
	if err := extract.Compare(want, got); err != nil {
		fatal(fmt.Errorf("%s and %s differ: %w", os.Args[1], os.Args[2], err))
	}
	fmt.Printf("identical: %d series, %d samples\n", len(got), extract.CountSamples(got))
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "verify:", err)
	os.Exit(1)
}
