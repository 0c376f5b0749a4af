package promapi

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// QuerySum runs an instant query at t (ms) whose answer is a vector, and
// returns the sum of its values: 0 for a vector of no series. It is what a
// count such as sum(count_over_time(...)) needs, without a decoder of
// series.
func (c *Client) QuerySum(ctx context.Context, expr string, t int64) (float64, error) {
	var ans struct {
		ResultType string
		Result     []struct{ Value [2]any }
	}
	if err := c.getJSON(ctx, "query", url.Values{"query": {expr}, "time": {promTime(t)}}, &ans); err != nil {
		return 0, fmt.Errorf("query %s: %w", expr, err)
	}
	if ans.ResultType != "vector" && ans.ResultType != "scalar" && len(ans.Result) > 0 {
		return 0, fmt.Errorf("query %s: the answer is a %s, not a vector", expr, ans.ResultType)
	}
	var sum float64
	for _, r := range ans.Result {
		s, ok := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if !ok || err != nil {
			return 0, fmt.Errorf("query %s: the value %v is not a number", expr, r.Value[1])
		}
		sum += v
	}
	return sum, nil
}

// ClosedRanges asks the server's version and says whether its range
// selectors include both ends, [t-r, t], as Prometheus 1 and 2 do;
// Prometheus 3 leaves the start out, (t-r, t]. An exact count of a range
// needs to know. A 3.x built from its Go module says 0.3xx (v0.315.0 is
// 3.15), and a server that does not say its version is taken for a
// current one.
func (c *Client) ClosedRanges(ctx context.Context) bool {
	var info struct{ Version string }
	if err := c.getJSON(ctx, "status/buildinfo", nil, &info); err != nil {
		return false
	}
	return closedRanges(info.Version)
}

func closedRanges(version string) bool {
	major, _, _ := strings.Cut(version, ".")
	return major == "1" || major == "2"
}
