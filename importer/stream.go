package importer

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/jsonl"
	"github.com/promrecover/promrecover/format/openmetrics"
	"github.com/promrecover/promrecover/format/promjson"
)

// readJSON reads the Prometheus API's range answer, as `promrecover export`
// writes it: {"status":"success","data":{"resultType":"matrix","result":
// [...]}}, streaming, one series in memory at a time, with promjson.Read
// (times and values exact, native histograms and stale markers as export
// writes them). Its errors are worded for a file: where, by line and
// column or by data.result[i], and what the file should hold.
func readJSON(r io.Reader, rt *router) error {
	i := 0
	_, err := promjson.Read(r, func(s extract.Series) error {
		at := location{item: i}
		i++
		return addSeries(rt, s, at)
	})
	var (
		se  *promjson.SyntaxError
		st  *promjson.StatusError
		rte *promjson.ResultTypeError
		ser *promjson.SeriesError
	)
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("line %d, column %d: not valid Prometheus matrix JSON: %s", se.Line, se.Column, se.Reason())
	case errors.As(err, &st):
		msg := fmt.Sprintf("the JSON's status is %q, not \"success\"", st.Status)
		if st.Err != "" {
			msg += ": " + st.Err
		}
		return errors.New(msg)
	case errors.Is(err, promjson.ErrNoData):
		return errors.New(`the JSON has no "data"; want {"status":"success","data":{"resultType":"matrix","result":[...]}} as promrecover export writes it`)
	case errors.Is(err, promjson.ErrNoResult):
		return nil // an empty matrix
	case errors.As(err, &rte):
		return fmt.Errorf("the JSON holds a %q result; only a matrix (a range answer, as promrecover export writes) has the samples to import", rte.Type)
	case errors.As(err, &ser):
		return fmt.Errorf("%s: not valid Prometheus matrix JSON: %w", location{item: ser.Index}, ser.Err)
	}
	return err
}

// readJSONL reads JSON Lines with jsonl.Read, routing each series.
func readJSONL(ctx context.Context, r io.Reader, rt *router) (int64, error) {
	return jsonl.Read(ctx, r, func(s extract.Series, line int64) error {
		return addSeries(rt, s, location{line: line})
	})
}

// readOpenMetrics reads OpenMetrics text with openmetrics.Read, routing
// each series' run of lines.
func readOpenMetrics(ctx context.Context, r io.Reader, chunkSize int, rt *router) (int64, error) {
	opts := openmetrics.ReadOptions{MinTime: MinTime, MaxTime: MaxTime, ChunkSize: chunkSize}
	return openmetrics.Read(ctx, r, opts, func(lset labels.Labels, samples []extract.Sample, line int64) error {
		return rt.add(lset, samples, nil, location{line: line})
	})
}

// addSeries routes a series of the JSON formats, checking the times of both
// kinds of its samples.
func addSeries(rt *router, s extract.Series, at location) error {
	if t, ok := outside(s.Samples); ok {
		return fmt.Errorf("%s: the sample of %s is at %d ms, outside the years 1970..2100", at, s.Labels, t)
	}
	if t, ok := outside(s.Histograms); ok {
		return fmt.Errorf("%s: the histogram sample of %s is at %d ms, outside the years 1970..2100", at, s.Labels, t)
	}
	return rt.add(s.Labels, s.Samples, s.Histograms, at)
}

// outside finds a sample outside [MinTime, MaxTime).
func outside[S interface{ Time() int64 }](samples []S) (int64, bool) {
	for _, smp := range samples {
		if t := smp.Time(); t < MinTime || t >= MaxTime {
			return t, true
		}
	}
	return 0, false
}
