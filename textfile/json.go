package textfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/prometheus/common/model"

	"github.com/promrecover/promrecover/export"
)

// readJSON reads the Prometheus API's range answer, as `promrecover export`
// writes it: {"status":"success","data":{"resultType":"matrix","result":
// [...]}}. Such files are inspection-sized, so the whole file is decoded at
// once with prometheus/common/model, which reads times and values exactly
// (NaN and ±Inf as strings, millisecond times).
func readJSON(r io.Reader, rt *router) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	var head struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   *struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return jsonError(data, err)
	}
	switch {
	case head.Status != "success":
		msg := fmt.Sprintf("the JSON's status is %q, not \"success\"", head.Status)
		if head.Error != "" {
			msg += ": " + head.Error
		}
		return errors.New(msg)
	case head.Data == nil:
		return errors.New(`the JSON has no "data"; want {"status":"success","data":{"resultType":"matrix","result":[...]}} as promrecover export writes it`)
	case head.Data.ResultType != "matrix":
		return fmt.Errorf("the JSON holds a %q result; only a matrix (a range answer, as promrecover export writes) has the samples to import", head.Data.ResultType)
	}
	var body struct {
		Data struct {
			Result model.Matrix `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(data, &body); err != nil {
		return jsonError(data, err)
	}
	for i, ss := range body.Data.Result {
		if len(ss.Histograms) > 0 {
			return fmt.Errorf("%s: series %s holds native histograms, which cannot be imported", location{item: i}, ss.Metric)
		}
	}
	for i, s := range export.FromMatrix(body.Data.Result) {
		for _, smp := range s.Samples {
			if smp.T < MinTime || smp.T >= MaxTime {
				return fmt.Errorf("%s: the sample of %s is at %d ms, outside the years 1970..2100", location{item: i}, s.Labels, smp.T)
			}
		}
		if err := rt.add(s.Labels, s.Samples, location{item: i}); err != nil {
			return err
		}
	}
	return nil
}

// jsonError says where in the file a decoding error is, as line and column.
func jsonError(data []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return fmt.Errorf("not valid Prometheus matrix JSON: %w", err)
	}
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	return fmt.Errorf("line %d, column %d: not valid Prometheus matrix JSON: %w", line, col, err)
}
