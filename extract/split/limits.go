package split

import "strings"

// limits are the words of the answers that no retry of the same query can
// pass: the query is over a limit of the server (Mimir's, whose texts end in
// the limit's err-mimir-... id, or Prometheus's own). Every source that
// reads a Prometheus API judges its error texts by them.
var limits = []string{
	"err-mimir-max-series-per-query",
	"err-mimir-max-chunks-per-query",
	"err-mimir-max-fetched-chunk-bytes-per-query",
	"err-mimir-max-chunks-bytes-per-query",
	"err-mimir-max-estimated-chunks-per-query",
	"err-mimir-max-estimated-memory-consumption-per-query",
	"err-mimir-max-total-query-length",
	"too many samples",
	"exceeded maximum resolution",
}

// LimitIn names the limit an error message reports, or "" when it reports
// none.
func LimitIn(msg string) string {
	msg = strings.ToLower(msg)
	for _, s := range limits {
		if strings.Contains(msg, s) {
			return s
		}
	}
	return ""
}

// OverLimit is the verdict on a query over limit (as LimitIn names it),
// whose error says msg: a series limit is met by fewer series only, a limit
// on the range or on points by a shorter range first, the others by fewer
// series first.
func OverLimit(limit, msg string) Failure {
	f := Failure{Kind: SeriesFirst, Limit: limit, Msg: msg, Hint: limitHint(limit)}
	switch limit {
	case "err-mimir-max-total-query-length", "exceeded maximum resolution":
		f.Kind = TimeFirst
	case "err-mimir-max-series-per-query":
		f.Kind = SeriesOnly
	}
	return f
}

// limitHint names the parameter that avoids a limit, for a part that
// stayed over it even split as far as it goes.
func limitHint(limit string) string {
	switch limit {
	case "exceeded maximum resolution":
		return "; Prometheus answers at most 11,000 points per series and query: choose a larger step (at least the range of a query / 11,000), or no step to fetch the raw samples, which this limit does not apply to"
	case "err-mimir-max-series-per-query":
		// Sharding cuts no finer than splitting: a lower limit of our own
		// cannot help a part that splitting could not get under the
		// server's.
		return "; nothing told this part's series apart under the server's series limit: raise that limit, or narrow the selector"
	}
	return ""
}
