package frames

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

type namedBody struct {
	name string
	body []byte
}

// decodeCorpus is bodies of every kind the decoder meets: Grafana's own
// answers, SDK-built ones with every value and frame type, and the
// malformed cases.
func decodeCorpus(t testing.TB) []namedBody {
	t.Helper()
	var out []namedBody
	files, err := filepath.Glob(filepath.Join(decGoldenDir, "*.frames.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden frames: %v", err)
	}
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, namedBody{filepath.Base(path), []byte(`{"results": {"A": ` + string(b) + `}}`)})
	}
	up := data.Labels{"__name__": "up", "job": "node"}
	special := specialValues()
	frames, _ := manySeries(30, 60)
	nullable := []*float64{decPtr(1.5), nil, decPtr(math.NaN()), nil, decPtr(math.Inf(-1))}
	heatmap := data.NewFrame("heatmap", data.NewField("xMax", nil, decSteps(2, time.Minute)),
		data.NewField("count", data.Labels{"__name__": "rpc"}, []float64{3, 4}))
	heatmap.Meta = &data.FrameMeta{Type: data.FrameType("heatmap-cells")}
	wide := data.NewFrame("",
		data.NewField("Time", nil, decSteps(3, time.Second)),
		data.NewField("a", data.Labels{"__name__": "a"}, []float32{1.1, float32(math.Inf(1)), -3.4e38}),
		data.NewField("b", data.Labels{"__name__": "b"}, []int64{-5, 1<<53 + 1, math.MaxInt64}),
	)
	wide.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesWide}
	nanos := tsFrame(up, []time.Time{decT0, decT0.Add(1500 * time.Microsecond)}, []float64{1, 2})
	for name, responses := range map[string]backend.Responses{
		"special": {"A": {Frames: data.Frames{tsFrame(up, decSteps(len(special), time.Second), special)}}},
		"many":    {"A": {Frames: frames}, "B": {Frames: frames[:3]}},
		"mixed": {
			"A": {Frames: data.Frames{tsFrame(up, decSteps(len(nullable), time.Second), nullable), heatmap, wide, nanos,
				decWithNotices(data.NewFrame("Warnings"), "w1", "w2")}},
			"B": {Error: errors.New("bad_data: boom"), Status: backend.StatusBadRequest, ErrorSource: backend.ErrorSourceDownstream},
		},
	} {
		out = append(out, namedBody{name, decMarshal(t, responses)})
	}
	tv := timeFieldJSON + "," + valueFieldJSON
	for i, body := range []string{
		bodyJSON(frameJSON(tv, `{"values":[[1,2,3],[1,null,"x"]],"entities":[null,{"NaN":[1]}]}`)),
		bodyJSON(frameJSON(tv, `{"values":[[1,2],[1e400,{"a":[1,2]}]]}`)),
		bodyJSON(frameJSON(tv, `{"values":[[1,2],[null,5]],"entities":[null,{"NegInf":[1],"NaN":[0]}]}`)),
		bodyJSON(frameJSON(tv, `{"values":[[1,2],[true, 5]],"entities":[null,{"Inf":[1]}]}`)),
		bodyJSON(frameJSON(tv, `{"values":[[1,2,3],[1,2]],"entities":[null,{"NaN":[2]}]}`)),
		bodyJSON(frameJSON(tv, `{"values":[["1", 2],[1,2]]}`)),
		bodyJSON(frameJSON(tv, `{"values":[[1, 2],[1,2,"long string value that goes on and on and on"]]}`)),
		bodyJSON(frameJSON(tv, `{"values":[[1,2],[1,2]],"nanos":[[1,2,3],null]}`)),
		bodyJSON(frameJSON(tv, `{"values":[[1,2],[1,2]],"nanos":[[1e3,2],null]}`)),
		bodyJSON(frameJSON(tv, `{"values":[[1,2],{"x":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21]}]}`)),
		bodyJSON(frameJSON(tv, `{"values":[[1,2],[1,2]]},"extra":[1,{"a":null}]`)),
		bodyJSON(`null`, frameJSON(tv, `null`), frameJSON(tv, `{"values":null}`)),
		`{"results":{"A":null,"B":{"status":null,"error":null,"frames":null}}}`,
		`{"results":{"A":{"status":1.5}}}`,
		`{"results":{"A":{"error":5}}}`,
		`{"results":{"A":{"frames":[{"schema":{"fields":[null]},"data":{"values":[[]]}}]}}}`,
		`{"results":{"A":{"frames":[{"schema":{"fields":[{"type":"time"},{"type":"number","labels":{"a":null,"b":"x","a":"y"}}]},"data":{"values":[[1],[2]]}}]}}}`,
		`{"results":{"A":{"frames":[{"Schema":{"Fields":[{"Type":"time"},{"TYPE":"number","Labels":{"a":"1"}}]},"DATA":{"Values":[[1],[2]]}}]}}}`,
	} {
		out = append(out, namedBody{fmt.Sprintf("hand-written %d", i), []byte(body)})
	}
	for i, c := range malformedBodies() {
		out = append(out, namedBody{fmt.Sprintf("malformed %d", i), []byte(c)})
	}
	return out
}

// malformedBodies are the bodies of TestDecodeMalformed.
func malformedBodies() []string {
	tv := timeFieldJSON + "," + valueFieldJSON
	return []string{``, `<html>502</html>`, `[]`, `{"message":"x"}`, `{"results":[]}`, `{"results":{},"results":{}}`,
		`{"results":{"A":{},"A":{}}}`, `{"results":{"A":5}}`, bodyJSON(goodFrameJSON)[:60], `{"results":{}} {"results":{}}`,
		`{"results":{}}]`, `{"results":{"A":{"frames":[]}}x}`,
		bodyJSON(frameJSON(tv, `{"values":[[1]]}`)), bodyJSON(frameJSON(tv, `{}`)), bodyJSON(frameJSON(``, `{"values":[[1]]}`)),
		bodyJSON(frameJSON(tv, `{"values":[[1,2,3],[1,2]]}`)), bodyJSON(frameJSON(tv, `{"values":[[1],[1,2]]}`)),
		bodyJSON(frameJSON(tv, `{"values":[[1,2],[null,null]],"entities":[null,{"NaN":[2]}]}`)),
		bodyJSON(frameJSON(tv, `{"values":[[1,2],[null,5]],"entities":[null,{"NegInf":[1]}]}`)),
		bodyJSON(frameJSON(tv, `{"values":[[1],[null]],"entities":[null,{"NaN":[0],"Inf":[0]}]}`)),
		bodyJSON(frameJSON(tv, `{"values":[[1],[null]],"entities":[null,{"NaN":"x"}]}`)),
		bodyJSON(frameJSON(tv, `{"values":[[1],[2]],"entities":[null,null,null]}`)),
		bodyJSON(frameJSON(tv, `{"values":[[null],[2]],"entities":[{"NaN":[0]},null]}`)),
		bodyJSON(frameJSON(valueFieldJSON, `{"values":[[1]]}`)),
		bodyJSON(frameJSON(tv, `{"values":5}`)), bodyJSON(frameJSON(tv, `{"values":[[1],5]}`)),
		bodyJSON(frameJSON(tv, `{"values":[null,[1]]}`)), bodyJSON(frameJSON(tv, `{"values":[[1,null],[1,2]]}`)),
		bodyJSON(frameJSON(tv, `{"values":[[1.5],[1]]}`)), bodyJSON(frameJSON(tv, `{"values":[["1"],[1]]}`)),
		bodyJSON(frameJSON(tv, `{"values":[[1],[1e400]]}`)), bodyJSON(frameJSON(tv, `{"values":[[99999999999999999999],[1]]}`)),
		bodyJSON(frameJSON(tv, `{"values":[[1,2],[1,2]],"nanos":[[5],null]}`)),
		bodyJSON(frameJSON(timeFieldJSON+`,{"name":"v","type":"number","labels":["a"]}`, `{"values":[[1],[1]]}`)),
	}
}

// sameResponse compares two decoded responses entirely.
func sameResponse(t *testing.T, what string, got, want *response) {
	t.Helper()
	if len(got.Results) != len(want.Results) {
		t.Fatalf("%s: %d results, want %d", what, len(got.Results), len(want.Results))
	}
	for i := range want.Results {
		g, w := got.Results[i], want.Results[i]
		if !slices.Equal(g.Unsupported, w.Unsupported) {
			t.Fatalf("%s: unsupported %q, want %q", what, g.Unsupported, w.Unsupported)
		}
		checkResult(t, g, w)
	}
}

// mangle changes, deletes or inserts a few bytes.
func mangle(rnd *rand.Rand, body []byte) []byte {
	const alphabet = `[]{},:"0123456789-+.eEnul tfaNIT\\u`
	b := slices.Clone(body)
	for range 1 + rnd.Intn(3) {
		if len(b) == 0 {
			return b
		}
		i := rnd.Intn(len(b))
		switch rnd.Intn(4) {
		case 0:
			b[i] = alphabet[rnd.Intn(len(alphabet))]
		case 1:
			b = slices.Delete(b, i, i+1)
		case 2:
			b = slices.Insert(b, i, alphabet[rnd.Intn(len(alphabet))])
		default:
			b = b[:i] // cut
		}
	}
	return b
}

// Decode (through decodeAll) gives what the encoding/json-based decoder
// it replaced gave: the same results for every body that decoded, and an
// error for every body that did not, including thousands of mangled ones.
// The only intended difference: a member that carries data (frames,
// schema, data, values, labels...) given twice in one object is an error,
// where encoding/json merged or replaced it.
func TestDecodeSameAsReference(t *testing.T) {
	rnd := rand.New(rand.NewSource(11))
	var mismatches []string
	compare := func(name string, body []byte) {
		want, werr := refDecode(bytes.NewReader(body))
		got, err := decodeAll(bytes.NewReader(body))
		switch {
		case werr == nil && err == nil:
			sameResponse(t, name, got, want)
		case werr != nil && err == nil:
			mismatches = append(mismatches, fmt.Sprintf("%s: decoded, but the reference says %v\n%s", name, werr, body))
		case werr == nil && err != nil:
			var le *extract.LabelError
			if errors.As(err, &le) && refusedLabels(want) {
				break // the reference stored what no block holds as it came
			}
			if !strings.Contains(err.Error(), "two ") {
				mismatches = append(mismatches, fmt.Sprintf("%s: %v, but the reference decoded it\n%s", name, err, body))
			}
		}
	}
	n := 0
	for _, c := range decodeCorpus(t) {
		compare(c.name, c.body)
		if _, err := decodeAll(bytes.NewReader(c.body)); err == nil {
			// Cut anywhere, a good body is a cut body, never something
			// else: what the caller retries.
			step := 1 + len(c.body)/2000
			for i := 0; i < len(c.body); i += step {
				_, err := decodeAll(bytes.NewReader(c.body[:i]))
				var se *SyntaxError
				if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &se) {
					t.Fatalf("%s cut at %d: %v", c.name, i, err)
				}
			}
		}
		tries := 1500
		if len(c.body) > 20000 {
			tries = 100
		}
		for range tries {
			compare(c.name+" mangled", mangle(rnd, c.body))
			n++
		}
	}
	if len(mismatches) > 0 {
		t.Errorf("%d of %d bodies decode differently; the first:\n%s", len(mismatches), n, strings.Join(mismatches[:min(5, len(mismatches))], "\n\n"))
	}
}

// refusedLabels reports whether the reference decoded a series whose
// labels extract.CheckLabels refuses: an empty name or __name__, or U+FFFD
// put in place of what was not UTF-8 (no corpus body holds a U+FFFD).
func refusedLabels(resp *response) bool {
	for _, r := range resp.Results {
		for _, s := range r.Series {
			bad := false
			s.Labels.Range(func(l labels.Label) {
				bad = bad || l.Name == "" || l.Name == "__name__" && l.Value == "" ||
					strings.ContainsRune(l.Name+l.Value, utf8.RuneError)
			})
			if bad {
				return true
			}
		}
	}
	return false
}

// decodeOutcome is what Decode made of a body: the response as text, or
// the error.
func decodeOutcome(r io.Reader) string {
	resp, err := decodeAll(r)
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprintf("%+v", resp)
}

// However the body arrives (a byte at a time, with the error beside the
// last data), Decode says the same, errors included: the buffer refills
// anywhere, inside numbers, strings, escapes and literals.
func TestDecodeChunking(t *testing.T) {
	for _, c := range decodeCorpus(t) {
		want := decodeOutcome(bytes.NewReader(c.body))
		for name, r := range map[string]io.Reader{
			"one byte": iotest.OneByteReader(bytes.NewReader(c.body)),
			"half":     iotest.HalfReader(bytes.NewReader(c.body)),
			"data+err": iotest.DataErrReader(bytes.NewReader(c.body)),
		} {
			if got := decodeOutcome(r); got != want {
				t.Fatalf("%s read %s:\n got %.500s\nwant %.500s", c.name, name, got, want)
			}
		}
	}
}

// A read error is returned in the chain, not mistaken for the body's end.
func TestDecodeReadError(t *testing.T) {
	body := decMarshal(t, backend.Responses{"A": {Frames: data.Frames{tsFrame(data.Labels{"job": "x"}, decSteps(100, time.Second), make([]float64, 100))}}})
	boom := errors.New("connection reset by peer")
	for _, n := range []int{0, 1, 50, len(body) / 2, len(body) - 1} {
		r := io.MultiReader(bytes.NewReader(body[:n]), iotest.ErrReader(boom))
		_, err := decodeAll(r)
		if !errors.Is(err, boom) {
			t.Errorf("cut at %d: %v", n, err)
		}
	}
	// A body damaged on the way may say something impossible before the
	// damage shows (a gzip stream checks its CRC at the end): the rest is
	// read, and the read error comes with the decoding error.
	bad := bodyJSON(frameJSON(timeFieldJSON+","+valueFieldJSON, `{"values":[[1],[1,2]]}`)) + strings.Repeat(" ", 100000)
	_, err := decodeAll(io.MultiReader(strings.NewReader(bad), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "more values than the 1 timestamps") {
		t.Errorf("damaged body: %v", err)
	}
}

// responsesBody marshals frames with each frame's members in the given
// order (the SDK writes schema first).
func reorderFrames(t *testing.T, body []byte) []byte {
	t.Helper()
	var top struct {
		Results map[string]map[string]json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(body, &top); err != nil {
		t.Fatal(err)
	}
	for _, res := range top.Results {
		var frames []map[string]json.RawMessage
		if res["frames"] == nil {
			continue
		}
		if err := json.Unmarshal(res["frames"], &frames); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.WriteByte('[')
		for i, f := range frames {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"data":`)
			b.Write(f["data"])
			b.WriteString(`,"other":{"x":[1,"\"]"]},"schema":`)
			b.Write(f["schema"])
			b.WriteByte('}')
		}
		b.WriteByte(']')
		res["frames"] = b.Bytes()
	}
	out, err := json.Marshal(top)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A frame whose data comes before its schema (JSON objects are unordered)
// decodes the same: its data is kept and read once the schema is known.
func TestDecodeDataBeforeSchema(t *testing.T) {
	frames, want := manySeries(200, 480)
	body := reorderFrames(t, decMarshal(t, backend.Responses{"A": {Frames: frames}}))
	if !bytes.Contains(body, []byte(`{"data":{"values":`)) {
		t.Fatalf("not reordered: %.200s", body)
	}
	for _, r := range []io.Reader{bytes.NewReader(body), iotest.OneByteReader(bytes.NewReader(body))} {
		resp, err := decodeAll(r)
		if err != nil {
			t.Fatal(err)
		}
		checkSeries(t, resp.Results[0].Series, want)
	}
	// Errors in such a frame are found and placed as well.
	tv := timeFieldJSON + "," + valueFieldJSON
	_, err := decodeAll(strings.NewReader(`{"results":{"A":{"frames":[{"data":{"values":[[1,2],[1,"x"]]},"schema":{"name":"n","fields":[` + tv + `]}}]}}}`))
	if err == nil || !strings.Contains(err.Error(), `refId "A": frame 0 ("n"): field 1 ("Value"): row 1: the value is a string`) {
		t.Errorf("error %v", err)
	}
}

// Pretty-printed bodies (the goldens are) decode the same as compact ones.
func TestDecodeIndented(t *testing.T) {
	frames, want := manySeries(50, 100)
	body := decMarshal(t, backend.Responses{"A": {Frames: frames}})
	var b bytes.Buffer
	if err := json.Indent(&b, body, "\r\n", "\t  "); err != nil {
		t.Fatal(err)
	}
	resp := decodeBody(t, b.Bytes())
	checkSeries(t, resp.Results[0].Series, want)
}

// Label names and values are decoded as encoding/json decodes strings:
// escapes and surrogate pairs; but where encoding/json puts U+FFFD for what
// is not UTF-8 (a byte, a lone surrogate), and for an empty name, the
// series is refused.
func TestDecodeLabelStrings(t *testing.T) {
	values := []string{
		`plain`, `with \"quotes\" and \\ and \/`, `\b\f\n\r\t`, `\u00e9t\u00C9`, `\ud83d\ude00 smile`, `lone \ud800 high`,
		`lone \udc00 low`, `\ud800\u0041 high then A`, `\ud800\ud800\udc00`, "raw \xc3\xa9 and \xe6\x97\xa5\xe6\x9c\xac",
		"bad \xff byte", "cut \xe6\x97", "\xed\xa0\x80 encoded surrogate", `\u0000 nul`, ``, strings.Repeat(`\u00e9`, 3000),
		strings.Repeat("x", 70000), // longer than the read buffer
	}
	for i, v := range values {
		for _, where := range []string{"value", "name"} {
			lbls := `{"job":"` + v + `"}`
			if where == "name" {
				lbls = `{"` + v + `":"x"}`
			}
			body := bodyJSON(frameJSON(timeFieldJSON+`,{"name":"v`+v+`","type":"number","labels":`+lbls+`}`, `{"values":[[1],[2]]}`))
			want, err := refDecode(strings.NewReader(body))
			if err != nil {
				t.Fatalf("%d: reference: %v", i, err)
			}
			refused := refusedLabels(want)
			for _, r := range []io.Reader{strings.NewReader(body), iotest.OneByteReader(strings.NewReader(body))} {
				got, err := decodeAll(r)
				var le *extract.LabelError
				if refused {
					if !errors.As(err, &le) {
						t.Errorf("%d %s: %v, want the series refused", i, where, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%d %s: %v", i, where, err)
				}
				sameResponse(t, fmt.Sprintf("label %s %d", where, i), got, want)
			}
		}
	}
	// Bad escapes are syntax errors.
	for _, v := range []string{`\x`, `\u12`, `\u12G4`, "tab\there"} {
		_, err := decodeAll(strings.NewReader(bodyJSON(frameJSON(timeFieldJSON+`,{"name":"v","type":"number","labels":{"a":"`+v+`"}}`, `{"values":[[1],[2]]}`))))
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: %v", v, err)
		}
	}
}

// Syntax errors are *SyntaxError and a cut body keeps io.ErrUnexpectedEOF,
// which grafana marks for a retry (TestDecodeFailure there); a well-formed
// body that makes no sense is neither.
func TestDecodeErrorKinds(t *testing.T) {
	tv := timeFieldJSON + "," + valueFieldJSON
	for _, tc := range []struct {
		body        string
		syntax, eof bool
	}{
		{`<html>`, true, false},
		{`{"results":{"A":{"frames":[]}}x}`, true, false},
		{`{"results":{"A":{"frames":[{"data":{"values":[[1,2],[1,2.]]}}]}}}`, true, false},
		{`{"results":{"A":{"frames":[{"data":{"values":[[1,2],[1,nul]]}}]}}}`, true, false},
		{`{"results":{"A":{"frames":[{"data":{"values":[[01],[1]]}}]}}}`, true, false},
		{`{"results":{"A":{"frames":[{"data":{"values":[[1],[-]]}}]}}}`, true, false},
		{`{"results":{"A":{"frames":[{"data":{"values":[[1],[1,]]}}]}}}`, true, false},
		{`{"results":{"A":{"frames":[{"data":{"values":[[1],[1 2]]}}]}}}`, true, false},
		{`{"results":{"A":{"frames":[{"data":{"values":[[1],[1]` + "\x01" + `]}}]}}}`, true, false},
		{`{"results":{"A":{"frames":[{"data":{"values":[[1],[1]]}`, false, true},
		{`{"results":{"A":{"frames":[{"data":{"values":[[1],[1.`, false, true},
		{`{"results":{"A":{"frames":[{"data":{"values":[[1],[1`, false, true},
		{bodyJSON(frameJSON(tv, `{"values":[[1],[1,2]]}`)), false, false},
		{bodyJSON(frameJSON(tv, `{"values":5}`)), false, false},
	} {
		_, err := decodeAll(strings.NewReader(tc.body))
		var se *SyntaxError
		if err == nil || errors.As(err, &se) != tc.syntax || errors.Is(err, io.ErrUnexpectedEOF) != tc.eof {
			t.Errorf("%s: error %v (syntax %v, eof %v)", tc.body, err, errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF))
		}
	}
}

// event is one call a Handler got.
type event struct {
	refID   string
	series  *extract.Series // a copy
	result  *Result
	samples []extract.Sample // the slice as given, not copied
}

type recorder struct {
	events []event
	failAt int // fail the failAt'th call (1-based), 0 never
	err    error
}

func (r *recorder) call(e event) error {
	r.events = append(r.events, e)
	if len(r.events) == r.failAt {
		return r.err
	}
	return nil
}

func (r *recorder) Series(refID string, s extract.Series) error {
	c := extract.Series{Labels: s.Labels, Samples: slices.Clone(s.Samples)}
	return r.call(event{refID: refID, series: &c, samples: s.Samples})
}

func (r *recorder) Result(res *Result) error {
	c := *res
	return r.call(event{refID: res.RefID, result: &c})
}

func TestDecodeStreamHandler(t *testing.T) {
	framesA, wantA := manySeries(40, 300)
	framesB, wantB := manySeries(5, 10)
	body := decMarshal(t, backend.Responses{
		"A": {Frames: append(framesA, decWithNotices(data.NewFrame("Warnings"), "careful"))},
		"B": {Frames: framesB, Error: errors.New("partial"), Status: backend.StatusBadRequest},
		"C": {Error: errors.New("failed"), Status: backend.StatusBadGateway},
	})

	t.Run("order and data", func(t *testing.T) {
		var r recorder
		if err := Decode(bytes.NewReader(body), &r); err != nil {
			t.Fatal(err)
		}
		// refIds in body order (sorted, as Grafana writes them), each one's
		// series in order, then its result.
		var got []result
		var series []extract.Series
		for _, e := range r.events {
			if e.series != nil {
				series = append(series, *e.series)
				continue
			}
			got = append(got, result{Result: *e.result, Series: series})
			series = nil
		}
		if len(series) > 0 {
			t.Fatalf("%d series after the last result", len(series))
		}
		want := []result{
			{Result: Result{RefID: "A", Status: 200, Notices: []Notice{{"warning", "careful"}}}, Series: wantA},
			{Result: Result{RefID: "B", Status: 400, Error: "partial"}, Series: wantB},
			{Result: Result{RefID: "C", Status: 502, Error: "failed"}},
		}
		if len(got) != len(want) {
			t.Fatalf("%d results, want %d", len(got), len(want))
		}
		for i := range want {
			checkResult(t, got[i], want[i])
		}
		for _, e := range r.events {
			if e.series != nil && e.refID == "" {
				t.Fatal("series without refId")
			}
		}
		// Series comes once per series: as many calls as series.
		if n := len(r.events); n != len(wantA)+len(wantB)+3 {
			t.Errorf("%d calls, want %d", n, len(wantA)+len(wantB)+3)
		}
	})

	t.Run("samples are reused, Decode's copies are not", func(t *testing.T) {
		var r recorder
		if err := Decode(bytes.NewReader(body), &r); err != nil {
			t.Fatal(err)
		}
		// The decoder hands the next series in the same memory...
		reused := 0
		for i := 1; i < len(r.events); i++ {
			a, b := r.events[i-1].samples, r.events[i].samples
			if len(a) > 0 && len(b) > 0 && unsafe.SliceData(a) == unsafe.SliceData(b) {
				reused++
			}
		}
		if reused == 0 {
			t.Fatal("no series reused the samples of the one before")
		}
		// ... and Decode keeps copies.
		resp := decodeBody(t, body)
		checkSeries(t, resp.Results[0].Series, wantA)
		checkSeries(t, resp.Results[1].Series, wantB)
	})

	t.Run("a handler error stops decoding", func(t *testing.T) {
		errStop := errors.New("stop here")
		total := len(wantA) + len(wantB) + 3
		for _, at := range []int{1, 2, len(wantA), len(wantA) + 1, len(wantA) + 2, total} {
			r := recorder{failAt: at, err: fmt.Errorf("wrapped: %w", errStop)}
			err := Decode(bytes.NewReader(body), &r)
			if !errors.Is(err, errStop) || err != r.err {
				t.Errorf("failing call %d: error %v", at, err)
			}
			if len(r.events) != at {
				t.Errorf("failing call %d: %d calls in all", at, len(r.events))
			}
		}
	})
}

// discard is a Handler that keeps nothing.
type discard struct{ series, samples int }

func (d *discard) Series(_ string, s extract.Series) error {
	d.series++
	d.samples += len(s.Samples)
	return nil
}

func (d *discard) Result(*Result) error { return nil }

// frameBody generates a body of n frames of rows samples each, one frame
// at a time, so that it is never in memory whole.
type frameBody struct {
	n, next            int
	head, labelAt, end []byte // a frame: head + label value + end
	buf                []byte
	off                int
}

func newFrameBody(t testing.TB, n, rows int) *frameBody {
	ts := decSteps(rows, 15*time.Second)
	values := make([]float64, rows)
	rnd := rand.New(rand.NewSource(1))
	for i := range values {
		values[i] = rnd.Float64() * 1000
	}
	const mark = "LABELVALUEMARK"
	body := decMarshal(t, backend.Responses{"A": {Frames: data.Frames{tsFrame(data.Labels{"__name__": "m", "instance": mark}, ts, values)}}})
	start, end := bytes.Index(body, []byte(`{"schema"`)), bytes.LastIndex(body, []byte("]}"))
	frame := body[start:end]
	i := bytes.Index(frame, []byte(mark))
	return &frameBody{n: n, head: frame[:i], labelAt: frame[i+len(mark):], end: []byte("]}}}")}
}

func (g *frameBody) Read(p []byte) (int, error) {
	for g.off == len(g.buf) {
		// Part 0 is the start of the body, parts 1 to n the frames, n+1
		// the end.
		if g.next > g.n+1 {
			return 0, io.EOF
		}
		g.buf, g.off = g.buf[:0], 0
		switch {
		case g.next == 0:
			g.buf = append(g.buf, `{"results":{"A":{"status":200,"frames":[`...)
		case g.next == g.n+1:
			g.buf = append(g.buf, g.end...)
		default:
			if g.next > 1 {
				g.buf = append(g.buf, ',')
			}
			g.buf = append(g.buf, g.head...)
			g.buf = strconv.AppendInt(append(g.buf, "host-"...), int64(g.next), 10)
			g.buf = append(g.buf, g.labelAt...)
		}
		g.next++
	}
	n := copy(p, g.buf[g.off:])
	g.off += n
	return n, nil
}

// memUse decodes n frames of rows samples with a handler that keeps
// nothing, and returns the largest live heap seen (after a collection,
// at four points while decoding) and what decoding allocated.
func memUse(t *testing.T, n, rows int) (peak, allocBytes, allocs uint64, bodyBytes int64) {
	gen := newFrameBody(t, n, rows)
	counted := &byteCounter{r: gen}
	var before, ms runtime.MemStats
	runtime.GC()
	runtime.GC() // and what sync.Pools kept for one more cycle
	runtime.ReadMemStats(&before)
	h := &peakHandler{every: n / 4}
	if err := Decode(counted, h); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&ms)
	if h.series != n || h.samples != n*rows {
		t.Fatalf("%d series of %d samples, want %d of %d", h.series, h.samples, n, n*rows)
	}
	return h.peak - min(h.peak, before.HeapAlloc), ms.TotalAlloc - before.TotalAlloc - h.measureAlloc, ms.Mallocs - before.Mallocs - h.measureMallocs, counted.n
}

// byteCounter counts the bytes read through it: the body's size.
type byteCounter struct {
	r io.Reader
	n int64
}

func (c *byteCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// peakHandler collects garbage every so many series and notes the live
// heap.
type peakHandler struct {
	discard
	every                        int
	peak                         uint64
	measureAlloc, measureMallocs uint64
}

func (h *peakHandler) Series(refID string, s extract.Series) error {
	h.discard.Series(refID, s)
	if h.series%h.every == 0 {
		var a, b runtime.MemStats
		runtime.ReadMemStats(&a)
		runtime.GC()
		runtime.ReadMemStats(&b)
		h.peak = max(h.peak, b.HeapAlloc)
		h.measureAlloc += b.TotalAlloc - a.TotalAlloc
		h.measureMallocs += b.Mallocs - a.Mallocs
	}
	return nil
}

// The memory Decode holds does not grow with the number of frames:
// four times the frames, the same live heap, and per frame it allocates
// only the series' labels. (Allocation counts are deterministic; timings
// are not, and nothing here asserts on time.)
func TestDecodeMemoryBounded(t *testing.T) {
	const rows = 120
	const n = 5000
	peak1, alloc1, mallocs1, body1 := memUse(t, n, rows)
	peak4, alloc4, mallocs4, body4 := memUse(t, 4*n, rows)
	t.Logf("%d frames (%.1f MB): live heap at most %d KB, allocated %d KB in %d allocations", n, float64(body1)/1e6, peak1>>10, alloc1>>10, mallocs1)
	t.Logf("%d frames (%.1f MB): live heap at most %d KB, allocated %d KB in %d allocations", 4*n, float64(body4)/1e6, peak4>>10, alloc4>>10, mallocs4)
	perFrame := float64(alloc4-alloc1) / float64(3*n)
	perFrameAllocs := float64(mallocs4-mallocs1) / float64(3*n)
	frameBytes := float64(body4) / float64(4*n)
	t.Logf("per extra frame (%.0f bytes of JSON, %d samples): %.0f bytes in %.2f allocations", frameBytes, rows, perFrame, perFrameAllocs)
	if peak4 > peak1+64<<10 {
		t.Errorf("the live heap grew from %d KB to %d KB with four times the frames", peak1>>10, peak4>>10)
	}
	if peak4 > 1<<20 {
		t.Errorf("live heap %d KB for frames of %.0f bytes", peak4>>10, frameBytes)
	}
	if perFrameAllocs > 1.5 || perFrame > 256 {
		t.Errorf("%.2f allocations, %.0f bytes per frame", perFrameAllocs, perFrame)
	}
}

// decodeAll's allocations do not grow with the samples, and Decode's
// not even with the frames beyond the labels.
func TestDecodeStreamAllocs(t *testing.T) {
	frames, _ := manySeries(100, 480)
	body := decMarshal(t, backend.Responses{"A": {Frames: frames}})
	var h discard
	allocs := testing.AllocsPerRun(3, func() {
		if err := Decode(bytes.NewReader(body), &h); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%.0f allocations to stream 100 series", allocs)
	if allocs > 100+80 {
		t.Errorf("%.0f allocations for 100 series", allocs)
	}
}

// FuzzDecodeSameAsReference checks Decode against the decoder it
// replaced on arbitrary bodies: the same results whenever the reference
// decodes, an error whenever it does not.
func FuzzDecodeSameAsReference(f *testing.F) {
	for _, c := range decodeCorpus(f) {
		if len(c.body) < 20000 {
			f.Add(c.body)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		want, werr := refDecode(bytes.NewReader(body))
		got, err := decodeAll(bytes.NewReader(body))
		switch {
		case werr == nil && err == nil:
			sameResponse(t, "fuzz", got, want)
		case werr != nil && err == nil:
			t.Fatalf("decoded, but the reference says %v", werr)
		case werr == nil && err != nil && !strings.Contains(err.Error(), "two "):
			t.Fatalf("%v, but the reference decoded it", err)
		}
		if got := decodeOutcome(iotest.OneByteReader(bytes.NewReader(body))); got != decodeOutcome(bytes.NewReader(body)) {
			t.Fatalf("read a byte at a time: %s", got)
		}
	})
}
