package grafana

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/promrecover/promrecover/extract/split"
)

// The adapter of adaptive splitting (see package split): a unit Grafana
// refuses as too big, or that still times out after the client's retries,
// is split through the label lookups of labels.go, and each part is one
// query of the unit's own path.

// splitter splits the units of s.
func (s *Source) splitter() *split.Splitter {
	return &split.Splitter{Lookup: lookup{s}, Query: s.fetch, Classify: classify, Brief: brief, Options: s.Split, Log: s.Client.opts.Log}
}

// splitKindOf classifies the error of one query.
func splitKindOf(ctx context.Context, err error) split.Kind {
	return split.Judge(ctx, err, classify).Kind
}

// classify judges the error of one query: over a datasource limit (by the
// limit Grafana's answer names) or timed out after the client's retries.
func classify(err error) split.Failure {
	var tb *tooBigError
	if errors.As(err, &tb) {
		return split.OverLimit(tb.limit, tb.err.Error())
	}
	if timedOut(err) {
		return split.Failure{Kind: split.Slow}
	}
	return split.Failure{}
}

// brief says a failed lookup's error without the path, which repeats the
// selector URL-encoded.
func brief(err error) string {
	var se *StatusError
	if !errors.As(err, &se) {
		return err.Error()
	}
	why := fmt.Sprintf("HTTP %d", se.Status)
	if se.Message != "" {
		why += ": " + se.Message
	}
	return why
}

// timedOut reports whether an error the client returned, after its retries,
// is a timeout: a 504 from Grafana or a proxy in front of it, a refId that
// failed with a timeout (Prometheus's "timeout" error type, a 504 upstream,
// a deadline exceeded), or a network timeout such as the client's own
// per-request timeout.
func timedOut(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status == http.StatusGatewayTimeout
	}
	var rq *retryQuery
	if errors.As(err, &rq) {
		msg := strings.ToLower(rq.Error())
		for _, s := range []string{"timeout", "timed out", "deadline exceeded", "status code 504"} {
			if strings.Contains(msg, s) {
				return true
			}
		}
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// lookup is the Source's label lookups as splitting asks them.
type lookup struct{ s *Source }

func (l lookup) LabelNames(ctx context.Context, selector string, from, to int64) ([]string, error) {
	names, _, err := l.s.LabelNames(ctx, selector, from, to)
	return names, err
}

func (l lookup) LabelValues(ctx context.Context, names []string, selector string, from, to int64) ([][]string, error) {
	values, _, err := l.s.LabelValues(ctx, names, selector, from, to)
	return values, err
}
