package promjson_test

import (
	"bytes"
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/promjson"
)

// collect keeps copies of what Read hands on: its series are valid only
// during the call.
func collect(out *[]extract.Series) func(extract.Series) error {
	return func(s extract.Series) error {
		*out = append(*out, extract.Series{Labels: s.Labels, Samples: slices.Clone(s.Samples), Histograms: slices.Clone(s.Histograms)})
		return nil
	}
}

// TestRead: Prometheus's text is read exactly, and a body that breaks off
// is a *SyntaxError (which grafana's client retries), while a well-formed
// answer that says something impossible is another error.
func TestRead(t *testing.T) {
	const ok = `{"status":"success","data":{"resultType":"matrix","result":[` +
		`{"metric":{"job":"x","__name__":"a"},"values":[[1754186400.001,"NaN"],[1754186400.999,"+Inf"],[1754186401,"-Inf"],[-1.5,"5e-324"],[0.1,"1.7976931348623157e+308"],[1754186402.01,"-0"]]},` +
		`{"metric":{},"values":[[1754186400.5,"0.30000000000000004"]]}]},"warnings":["w1"],"infos":["i1"]}`
	cases := []struct {
		name   string
		body   string
		want   []extract.Series
		notes  []string
		syntax bool // the error is a *SyntaxError
		err    string
	}{
		{name: "exact values and timestamps", body: ok, notes: []string{"w1", "i1"}, want: []extract.Series{
			{Labels: labels.FromStrings("__name__", "a", "job", "x"), Samples: []extract.Sample{
				{T: 1754186400001, V: math.NaN()}, {T: 1754186400999, V: math.Inf(1)}, {T: 1754186401000, V: math.Inf(-1)},
				{T: -1500, V: 5e-324}, {T: 100, V: math.MaxFloat64}, {T: 1754186402010, V: math.Copysign(0, -1)}}},
			{Labels: labels.EmptyLabels(), Samples: []extract.Sample{{T: 1754186400500, V: 0.30000000000000004}}},
		}},
		{name: "export's stale marker", body: `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"a"},"values":[[1,"StaleNaN"]]}]}}`,
			want: []extract.Series{{Labels: labels.FromStrings("__name__", "a"), Samples: []extract.Sample{{T: 1000, V: math.Float64frombits(value.StaleNaN)}}}}},
		{name: "cut short", body: ok[:150], syntax: true, err: "(at byte 150)"},
		{name: "not JSON", body: "<html>bad gateway</html>", syntax: true},
		{name: "a vector", body: `{"status":"success","data":{"resultType":"vector","result":[]}}`, err: `result of type "vector"`},
		{name: "an error in a 2xx answer", body: `{"status":"error","errorType":"x","error":"y"}`, err: `status "error"`},
		{name: "no data", body: `{"status":"success"}`, err: `no "data"`},
		{name: "no result", body: `{"status":"success","data":{"resultType":"matrix"}}`, err: "no data.result"},
		{name: "a value that is no number", body: `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"one"]]}]}}`, err: `sample value "one"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []extract.Series
			notes, err := promjson.Read(strings.NewReader(tc.body), collect(&got))
			if tc.want != nil {
				if err != nil {
					t.Fatal(err)
				}
				if err := extract.Compare(tc.want, got); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(notes, tc.notes) {
					t.Errorf("notes %q, want %q", notes, tc.notes)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one saying %q", err, tc.err)
			}
			var se *promjson.SyntaxError
			if errors.As(err, &se) != tc.syntax {
				t.Errorf("a syntax error: %v, want %v (%v)", !tc.syntax, tc.syntax, err)
			}
		})
	}
}

// TestReadErrors: each kind of error is its own type, for callers to word,
// and a syntax error says where by line and column.
func TestReadErrors(t *testing.T) {
	var status *promjson.StatusError
	_, err := promjson.Read(strings.NewReader(`{"status":"error","errorType":"bad_data","error":"parse error"}`), collect(new([]extract.Series)))
	if !errors.As(err, &status) || status.Status != "error" || status.ErrorType != "bad_data" || status.Err != "parse error" {
		t.Errorf("status: %#v", err)
	}
	var rt *promjson.ResultTypeError
	if _, err := promjson.Read(strings.NewReader(`{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}`), collect(new([]extract.Series))); !errors.As(err, &rt) || rt.Type != "scalar" {
		t.Errorf("result type: %v", err)
	}
	var ser *promjson.SeriesError
	body := `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]]},{"metric":{},"values":[[1,"x"]]}]}}`
	if _, err := promjson.Read(strings.NewReader(body), collect(new([]extract.Series))); !errors.As(err, &ser) || ser.Index != 1 {
		t.Errorf("series: %v", err)
	}
	for _, tc := range []struct {
		body      string
		line, col int
		eof       bool
		reason    string
	}{
		{"{\"status\":\"success\",\n\"data\": {\"resultType\":\"matrix\",\"result\":[}}", 2, 42, false, "an element of data.result is not a series object"},
		{`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"a"},"values":[[1754179200,"1"]`, 1, 113, true, "unexpected end of JSON input"},
		{"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[\n{\"metric\":{},\n\"values\":{}}]}}", 3, 10, false, "ReadArray"},
	} {
		var se *promjson.SyntaxError
		// Reading a byte at a time puts a buffer boundary at the error.
		for _, r := range []io.Reader{strings.NewReader(tc.body), iotest.OneByteReader(strings.NewReader(tc.body)), iotest.HalfReader(strings.NewReader(tc.body))} {
			_, err := promjson.Read(r, collect(new([]extract.Series)))
			if !errors.As(err, &se) || se.Line != tc.line || se.Column != tc.col || se.EOF != tc.eof || !strings.HasPrefix(se.Reason(), tc.reason) {
				t.Errorf("%q: %v, line %d column %d eof %v %q, want line %d column %d eof %v %q", tc.body, err, se.Line, se.Column, se.EOF, se.Reason(), tc.line, tc.col, tc.eof, tc.reason)
			}
		}
	}
}

// TestWriteReads: what Write writes, Read reads back exactly.
func TestWriteReads(t *testing.T) {
	in := []extract.Series{
		{Labels: labels.FromStrings("__name__", "a", "job", "x"), Samples: []extract.Sample{{T: 1, V: 1}, {T: 2_000_005, V: math.NaN()}, {T: 2_000_006, V: math.Float64frombits(value.StaleNaN)}}},
		{Labels: labels.FromStrings("__name__", "b"), Samples: []extract.Sample{{T: -1, V: math.Inf(1)}, {T: 0, V: math.Inf(-1)}, {T: 7, V: math.Copysign(0, -1)}}},
	}
	var b bytes.Buffer
	if err := promjson.Write(&b, in); err != nil {
		t.Fatal(err)
	}
	var got []extract.Series
	if _, err := promjson.Read(&b, collect(&got)); err != nil {
		t.Fatal(err)
	}
	if err := extract.Compare(in, got); err != nil {
		t.Fatal(err)
	}
}
