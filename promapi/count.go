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

// ClosedRanges asks the server's build information and says whether its
// range selectors include both ends, [t-r, t], as Prometheus 1 and 2 do;
// Prometheus 3 leaves the start out, (t-r, t], and so does Mimir (Grafana
// Cloud), which names itself in the application field with a version of
// its own. An exact count of a range needs to know: known is false for a
// server that does not say, or whose version tells nothing of its range
// selectors. A 3.x built from its Go module says 0.3xx (v0.315.0 is 3.15).
func (c *Client) ClosedRanges(ctx context.Context) (closed, known bool) {
	var info struct{ Application, Version string }
	if err := c.getJSON(ctx, "status/buildinfo", nil, &info); err != nil {
		return false, false
	}
	return closedRanges(info.Application, info.Version)
}

func closedRanges(application, version string) (closed, known bool) {
	if strings.Contains(strings.ToLower(application), "mimir") {
		return false, true
	}
	if application != "" {
		return false, false
	}
	major, minor, _ := strings.Cut(version, ".")
	switch {
	case major == "1" || major == "2":
		return true, true
	case major == "3" || major == "0" && strings.HasPrefix(minor, "3"):
		return false, true
	}
	return false, false
}
