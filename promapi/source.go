package promapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/split"
)

// Source reads units through the Prometheus API: raw samples as instant
// queries of a range selector, steps as range queries (see
// split.UnitQuery), native histograms whole. A unit over the server's
// limits (Mimir's series, chunk and sample limits, Prometheus's 11,000
// points), or one that still times out after the retries, is split by
// metric name, by a label's values and by time through the label API, as
// Grafana's sources are. It implements extract.Source and recovery.Source.
type Source struct {
	Client *Client
	// Split bounds the adaptive splitting; zero values take the defaults
	// (see split.Options).
	Split split.Options
}

// Stream implements extract.Source. The unit is asked in one query whose
// series go to add as they are decoded; one too big or too slow is split
// into parts, gathered and added at the end.
func (s *Source) Stream(ctx context.Context, u extract.Unit, add func([]extract.Series) error) error {
	err := s.stream(ctx, u, add)
	if err == nil {
		return nil
	}
	sp := &split.Splitter{Lookup: s, Query: s.fetch, Classify: classify, Options: s.Split, Log: s.Client.opts.Log}
	series, err := sp.Split(ctx, u, err)
	if len(series) > 0 {
		if aerr := add(series); aerr != nil {
			return aerr
		}
	}
	return err
}

// fetch asks one query for the unit and returns its series.
func (s *Source) fetch(ctx context.Context, u extract.Unit) ([]extract.Series, error) {
	var out []extract.Series
	err := s.stream(ctx, u, split.Collect(&out))
	return out, err
}

// stream asks one request for the unit, retried by the client where a
// retry may pass, never split. A retry after part of an answer was
// streamed sends those series again; sinks take identical repeats as one.
func (s *Source) stream(ctx context.Context, u extract.Unit, add func([]extract.Series) error) error {
	q, ok := split.UnitQuery(u)
	if !ok {
		return nil
	}
	form := url.Values{"query": {q.Expr}}
	endpoint := "query_range"
	if q.Instant {
		endpoint = "query"
		form.Set("time", promTime(q.To))
	} else {
		form.Set("start", promTime(q.From))
		form.Set("end", promTime(q.To))
		form.Set("step", promTime(u.Step.Milliseconds()))
	}
	var one [1]extract.Series
	notes, err := s.Client.matrix(ctx, endpoint, form, func(ser extract.Series) error {
		one[0] = ser
		return add(one[:])
	})
	if err != nil {
		return fmt.Errorf("query %s: %w", q.Expr, err)
	}
	for _, w := range notes {
		s.Client.opts.Log.Warn("Prometheus warning", "query", q.Expr, "text", w)
	}
	return nil
}

// MaxBatch implements extract.BatchSource: the API takes one query a
// request.
func (s *Source) MaxBatch() int { return 1 }

// StreamBatch implements extract.BatchSource, a request a unit.
func (s *Source) StreamBatch(ctx context.Context, units []extract.Unit, add func(int, []extract.Series) error) []error {
	errs := make([]error, len(units))
	for i, u := range units {
		errs[i] = s.Stream(ctx, u, func(ss []extract.Series) error { return add(i, ss) })
	}
	return errs
}

// getJSON POSTs form to /api/v1/endpoint (GETs it, for a nil form) and
// decodes the answer's data into data.
func (c *Client) getJSON(ctx context.Context, endpoint string, form url.Values, data any) error {
	return c.post(ctx, endpoint, form, func(status int, body io.Reader) error {
		ans := struct {
			Status, Error string
			Data          any
		}{Data: data}
		if err := json.NewDecoder(body).Decode(&ans); err != nil {
			return &AnswerError{HTTPStatus: status, Err: fmt.Errorf("reading the answer: %w", err)}
		}
		if ans.Status != "success" {
			return &AnswerError{HTTPStatus: status, Message: ans.Error}
		}
		return nil
	})
}

// lookupForm is the form of a label or series lookup.
func lookupForm(selectors []string, from, to int64) url.Values {
	return url.Values{"match[]": selectors, "start": {promTime(from)}, "end": {promTime(to)}}
}

// LabelNames implements split.Lookup through /api/v1/labels.
func (s *Source) LabelNames(ctx context.Context, selector string, from, to int64) ([]string, error) {
	var names []string
	err := s.Client.getJSON(ctx, "labels", lookupForm([]string{selector}, from, to), &names)
	return names, err
}

// LabelValues implements split.Lookup through /api/v1/label/NAME/values,
// a request a name.
func (s *Source) LabelValues(ctx context.Context, names []string, selector string, from, to int64) ([][]string, error) {
	out := make([][]string, len(names))
	for i, name := range names {
		if err := s.Client.getJSON(ctx, "label/"+url.PathEscape(name)+"/values", lookupForm([]string{selector}, from, to), &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Series lists the label sets of the series that match any of selectors
// and have samples in [from, to] (epoch ms), through /api/v1/series: a
// census that counts and narrows them with no further request.
func (s *Source) Series(ctx context.Context, selectors []string, from, to int64) (split.Sets, error) {
	var data []map[string]string
	if err := s.Client.getJSON(ctx, "series", lookupForm(selectors, from, to), &data); err != nil {
		return nil, err
	}
	out := make(split.Sets, len(data))
	for i, m := range data {
		out[i] = labels.FromMap(m)
	}
	return out, nil
}

// Shard implements recovery.Source: a selector that matches more than
// maxSeries series over [from, to) becomes selectors that each match about
// maxSeries at most, counted through the series API (see split.ShardAll).
func (s *Source) Shard(ctx context.Context, selectors []string, from, to int64, maxSeries int) ([]string, int) {
	return split.ShardAll(ctx, selectors, func(sel string) (split.Census, string, error) {
		sets, err := s.Series(ctx, []string{sel}, from, to)
		return sets, "via the series API", err
	}, maxSeries, s.Split.WithDefaults().MaxLabelLookups, s.Client.opts.Log)
}

// Points implements extract.Counter: a query_range, retried but never
// split.
func (s *Source) Points(ctx context.Context, expr string, start, end int64, step time.Duration, add func(labels.Labels, int64, float64)) error {
	return s.stream(ctx, extract.PointsUnit(expr, start, end, step), extract.PointsOf(add))
}
