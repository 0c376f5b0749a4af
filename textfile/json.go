package textfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/promrecover/promrecover/export"
)

// readJSON reads the Prometheus API's range answer, as `promrecover export`
// writes it: {"status":"success","data":{"resultType":"matrix","result":
// [...]}}. Such files are inspection-sized, so the whole file is decoded at
// once, each series as an export.Stream, which reads times and values
// exactly (NaN and ±Inf as strings, millisecond times, native histograms
// and stale markers as export writes them).
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
			Result []export.Stream `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(data, &body); err != nil {
		return jsonError(data, err)
	}
	for i := range body.Data.Result {
		if err := addStream(rt, &body.Data.Result[i], location{item: i}); err != nil {
			return err
		}
	}
	return nil
}

// addStream routes a series of the JSON formats, checking the times of both
// kinds of its samples.
func addStream(rt *router, st *export.Stream, at location) error {
	s, err := st.Series()
	if err != nil {
		return fmt.Errorf("%s: %w", at, err)
	}
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
