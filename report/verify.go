package report

import (
	"fmt"
	"io"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/recovery"
)

// Duplicates names the overlapping block pairs that hold samples twice.
func Duplicates(w io.Writer, dups []blocks.Duplicated) {
	for _, d := range dups {
		fmt.Fprintf(w, "DUPLICATE %s and %s: %d samples are in both\n", d.A.ULID, d.B.ULID, d.Samples)
	}
}

// Comparison is verify's account of the blocks in dir against the file
// over [mint, maxt): the counts, the first difference, or OK when the
// blocks hold the file's samples exactly and none of them twice (dups).
func Comparison(w io.Writer, dir, file string, mint, maxt int64, c *recovery.Comparison, dups []blocks.Duplicated) {
	fmt.Fprintf(w, "\ncompared %s with %s over %s..%s\n", dir, file, extract.FormatTime(mint), extract.FormatTime(maxt))
	fmt.Fprintf(w, "series: %d in the file, %d in the blocks; samples: %d equal, %d with another value, %d missing from the blocks, %d not in the file\n",
		len(c.Want), len(c.Got), c.Equal, c.Differ, c.Missing, c.Extra)
	switch {
	case c.Err != nil:
		first := c.First
		if first == "" {
			first = c.Err.Error()
		}
		fmt.Fprintf(w, "FIRST DIFFERENCE %s\n", first)
	case len(dups) == 0:
		fmt.Fprintf(w, "OK: the blocks hold exactly the file's %d samples of %d series\n", c.Equal, len(c.Want))
	}
}
