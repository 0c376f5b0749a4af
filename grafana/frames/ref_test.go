package frames

// The decoder promrecover had before Decode (encoding/json for the
// structure, a scanner for the columns), kept as the reference that
// TestDecodeSameAsReference compares Decode with.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// refDecode reads a /api/ds/query response body. Errors name what is wrong and
// where (refId, frame, field, row). A body that ends early keeps
// io.ErrUnexpectedEOF and a syntax error keeps *json.SyntaxError in its chain,
// so the caller can tell a cut connection from an answer that makes no sense.
//
// The body is read in one pass: the outer objects token by token, each
// refId's result with encoding/json, leaving the data.values columns as raw
// bytes that a small scanner turns into samples (see refColumn).
func refDecode(r io.Reader) (*response, error) {
	dec := json.NewDecoder(r)
	if err := refExpectDelim(dec, '{', "the body"); err != nil {
		return nil, err
	}
	resp := &response{}
	found := false
	for dec.More() {
		key, err := refObjectKey(dec, "the body")
		if err != nil {
			return nil, err
		}
		if key != "results" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fmt.Errorf("member %q of the body: %w", key, refEof(err))
			}
			continue
		}
		if found {
			return nil, errors.New(`the body has two "results" members`)
		}
		found = true
		if err := refDecodeResults(dec, resp); err != nil {
			return nil, err
		}
	}
	if err := refExpectDelim(dec, '}', "the body"); err != nil {
		return nil, err
	}
	if !found {
		return nil, errors.New(`the body has no "results" member`)
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, fmt.Errorf("after the body: %w", err)
		}
		return nil, fmt.Errorf("the body is followed by %v", tok)
	}
	slices.SortStableFunc(resp.Results, func(a, b result) int { return strings.Compare(a.RefID, b.RefID) })
	return resp, nil
}

func refDecodeResults(dec *json.Decoder, resp *response) error {
	if err := refExpectDelim(dec, '{', `"results"`); err != nil {
		return err
	}
	var d refFrameDecoder
	for dec.More() {
		refID, err := refObjectKey(dec, `"results"`)
		if err != nil {
			return err
		}
		for _, r := range resp.Results {
			if r.RefID == refID {
				return fmt.Errorf("refId %q appears twice in the results", refID)
			}
		}
		var w refWireResult
		if err := dec.Decode(&w); err != nil {
			return fmt.Errorf("refId %q: %w", refID, refEof(err))
		}
		res, err := d.result(refID, &w)
		if err != nil {
			return fmt.Errorf("refId %q: %w", refID, err)
		}
		resp.Results = append(resp.Results, res)
	}
	return refExpectDelim(dec, '}', `"results"`)
}

func refExpectDelim(dec *json.Decoder, want json.Delim, what string) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("reading %s: %w", what, refEof(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("%s: expected %q, found %v", what, want, tok)
	}
	return nil
}

func refObjectKey(dec *json.Decoder, what string) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", what, refEof(err))
	}
	key, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("%s: expected a member name, found %v", what, tok)
	}
	return key, nil
}

// refEof turns the io.EOF of a body that stops inside a value into
// io.ErrUnexpectedEOF.
func refEof(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// The wire form of a result, as grafana-plugin-sdk-go writes it
// (backend/json.go, data/frame_json.go).
type refWireResult struct {
	Status      int            `json:"status"`
	Error       string         `json:"error"`
	ErrorSource string         `json:"errorSource"`
	Frames      []refWireFrame `json:"frames"`
}

type refWireFrame struct {
	Schema struct {
		Name   string         `json:"name"`
		Meta   *refWireMeta   `json:"meta"`
		Fields []refWireField `json:"fields"`
	} `json:"schema"`
	Data struct {
		Values   []json.RawMessage  `json:"values"`   // one refColumn per field
		Entities []*refWireEntities `json:"entities"` // per field, null for most
		Nanos    [][]int64          `json:"nanos"`    // per field, for time fields
	} `json:"data"`
}

type refWireMeta struct {
	Type                string   `json:"type"`
	ExecutedQueryString string   `json:"executedQueryString"`
	Notices             []Notice `json:"notices"`
}

type refWireField struct {
	Name     string `json:"name"`
	Type     string `json:"type"` // "time", "number", "string", "boolean", "enum", "other"
	TypeInfo struct {
		Frame string `json:"frame"` // "time.Time", "float64", "int64", ...
	} `json:"typeInfo"`
	Labels labels.Labels `json:"labels"` // sorted by its UnmarshalJSON
}

// refWireEntities lists the rows of a float field whose value, written as
// null, is really NaN, +Inf or -Inf.
type refWireEntities struct {
	NaN    []int `json:"NaN"`
	Inf    []int `json:"Inf"`
	NegInf []int `json:"NegInf"`
}

// refFrameDecoder holds scratch space reused from frame to frame.
type refFrameDecoder struct {
	times []int64 // the time refColumn of the current frame
	kinds []uint8 // entity kind per row of the current field
}

func (d *refFrameDecoder) result(refID string, w *refWireResult) (result, error) {
	res := result{Result: Result{RefID: refID, Status: w.Status, Error: w.Error, ErrorSource: w.ErrorSource}}
	for i := range w.Frames {
		f := &w.Frames[i]
		if m := f.Schema.Meta; m != nil {
			res.Notices = append(res.Notices, m.Notices...)
			if res.ExecutedQueryString == "" {
				res.ExecutedQueryString = m.ExecutedQueryString
			}
		}
		if err := d.frame(&res, f, i); err != nil {
			return res, fmt.Errorf("%s: %w", refFrameName(i, f), err)
		}
	}
	return res, nil
}

// refTimeSeriesType reports whether a frame of this meta.type is read as float
// series: one time field and number fields, labels on the number fields.
// promlib writes "timeseries-multi"; frames without a type are read the same.
func refTimeSeriesType(t string) bool {
	switch t {
	case "", "timeseries-multi", "timeseries-many", "timeseries-wide":
		return true
	}
	return false
}

func refFrameName(i int, f *refWireFrame) string {
	if f.Schema.Name != "" {
		return fmt.Sprintf("frame %d (%q)", i, f.Schema.Name)
	}
	return fmt.Sprintf("frame %d", i)
}

// frame decodes the index'th frame f into res.
func (d *refFrameDecoder) frame(res *result, f *refWireFrame, index int) error {
	fields, cols := f.Schema.Fields, f.Data.Values
	if len(cols) != len(fields) {
		return fmt.Errorf("the schema has %d fields but data.values has %d columns", len(fields), len(cols))
	}
	if len(fields) == 0 {
		return nil // an empty result, or only notices
	}
	frameType := ""
	if f.Schema.Meta != nil {
		frameType = f.Schema.Meta.Type
	}
	unsupported := func(why string) error {
		if refHasData(cols) {
			line := refFrameName(index, f) + ": " + why
			for _, fl := range fields {
				if !fl.Labels.IsEmpty() {
					line += " (series " + fl.Labels.String() + ")"
					break
				}
			}
			res.Unsupported = append(res.Unsupported, line)
		}
		return nil
	}
	if frameType == "heatmap-cells" {
		return unsupported(`meta.type "heatmap-cells" is a native histogram, whose buckets come without count and sum and cannot be rebuilt`)
	}
	if !refTimeSeriesType(frameType) {
		return unsupported(fmt.Sprintf("meta.type %q is not a float time series", frameType))
	}

	timeIdx, other, numbers := -1, -1, 0
	for i, fl := range fields {
		switch fl.Type {
		case "time":
			if timeIdx >= 0 {
				return fmt.Errorf("fields %d and %d are both time fields", timeIdx, i)
			}
			timeIdx = i
		case "number":
			numbers++
		default:
			if other < 0 {
				other = i
			}
		}
	}
	switch {
	case timeIdx < 0 && numbers > 0:
		return fmt.Errorf("no time field for its %d number fields", numbers)
	case timeIdx < 0:
		return unsupported("no time field and no number field")
	case other >= 0:
		return refFieldError(fields, other, fmt.Errorf("type %q in a time series frame, which holds only a time field and number fields (labels belong in a field's labels)", fields[other].Type))
	case numbers == 0:
		return unsupported("a time field and no number field")
	}
	if len(f.Data.Entities) > len(fields) {
		return fmt.Errorf("data.entities has %d entries for %d fields", len(f.Data.Entities), len(fields))
	}

	times, err := d.frameTimes(f, timeIdx)
	if err != nil {
		return err
	}
	for i := range fields {
		if fields[i].Type != "number" {
			continue
		}
		bits, ok := refFloatBits(fields[i].TypeInfo.Frame)
		if !ok {
			return refFieldError(fields, i, fmt.Errorf("type number with typeInfo.frame %q", fields[i].TypeInfo.Frame))
		}
		var kinds []uint8
		if i < len(f.Data.Entities) && f.Data.Entities[i] != nil {
			if kinds, err = d.entityKinds(f.Data.Entities[i], len(times)); err != nil {
				return refFieldError(fields, i, err)
			}
		}
		samples, err := refParseValues(cols[i], times, kinds, bits)
		if err != nil {
			return refFieldError(fields, i, err)
		}
		res.Series = append(res.Series, extract.Series{Labels: fields[i].Labels, Samples: samples})
	}
	return nil
}

// frameTimes reads f's time field, timeIdx, with its nanos.
func (d *refFrameDecoder) frameTimes(f *refWireFrame, timeIdx int) ([]int64, error) {
	fields := f.Schema.Fields
	switch strings.TrimPrefix(fields[timeIdx].TypeInfo.Frame, "*") {
	case "", "time.Time":
	default:
		return nil, refFieldError(fields, timeIdx, fmt.Errorf("type time with typeInfo.frame %q", fields[timeIdx].TypeInfo.Frame))
	}
	if timeIdx < len(f.Data.Entities) {
		if e := f.Data.Entities[timeIdx]; e != nil && len(e.NaN)+len(e.Inf)+len(e.NegInf) > 0 {
			return nil, refFieldError(fields, timeIdx, errors.New("data.entities lists NaN or Inf rows for a time field"))
		}
	}
	times, err := refParseTimes(f.Data.Values[timeIdx], d.times[:0])
	d.times = times
	if err != nil {
		return nil, refFieldError(fields, timeIdx, err)
	}
	if timeIdx < len(f.Data.Nanos) && f.Data.Nanos[timeIdx] != nil {
		nanos := f.Data.Nanos[timeIdx]
		if len(nanos) != len(times) {
			return nil, refFieldError(fields, timeIdx, fmt.Errorf("data.nanos has %d entries for %d timestamps", len(nanos), len(times)))
		}
		for i, ns := range nanos {
			times[i] += ns / 1e6 // a sub-millisecond remainder leaves T alone
		}
	}
	return times, nil
}

func refFieldError(fields []refWireField, i int, err error) error {
	return fmt.Errorf("field %d (%q): %w", i, fields[i].Name, err)
}

// refFloatBits gives the precision in which a number field's literals are
// parsed: a float32 was printed in its own shortest form.
func refFloatBits(frameType string) (int, bool) {
	switch strings.TrimPrefix(frameType, "*") {
	case "float32":
		return 32, true
	case "", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64":
		return 64, true
	}
	return 0, false
}

// entityKinds returns the entity kind of every row, or an error for a row
// out of range or listed twice.
func (d *refFrameDecoder) entityKinds(e *refWireEntities, rows int) ([]uint8, error) {
	if cap(d.kinds) < rows {
		d.kinds = make([]uint8, rows)
	}
	kinds := d.kinds[:rows]
	clear(kinds)
	for kind, rowList := range [...][]int{entityNaN: e.NaN, entityInf: e.Inf, entityNegInf: e.NegInf} {
		for _, row := range rowList {
			if row < 0 || row >= rows {
				return nil, fmt.Errorf("data.entities %s row %d is out of range: the frame has %d rows", entityNames[kind], row, rows)
			}
			if kinds[row] != entityNone {
				return nil, fmt.Errorf("data.entities lists row %d as both %s and %s", row, entityNames[kinds[row]], entityNames[kind])
			}
			kinds[row] = uint8(kind)
		}
	}
	return kinds, nil
}

func refParseTimes(raw []byte, dst []int64) ([]int64, error) {
	c, err := refOpenColumn(raw)
	if err != nil {
		return dst, err
	}
	for {
		lit, more, err := c.next()
		if err != nil || !more {
			return dst, err
		}
		if lit == nil {
			return dst, fmt.Errorf("row %d: null timestamp", len(dst))
		}
		t, err := strconv.ParseInt(string(lit), 10, 64)
		if err != nil {
			return dst, fmt.Errorf("row %d: timestamp %s is not an integer number of milliseconds", len(dst), lit)
		}
		dst = append(dst, t)
	}
}

// refParseValues reads a number refColumn into samples at times. A null is the
// entity of its row (NaN, +Inf, -Inf) or, without one, a missing sample.
func refParseValues(raw []byte, times []int64, kinds []uint8, bits int) ([]extract.Sample, error) {
	c, err := refOpenColumn(raw)
	if err != nil {
		return nil, err
	}
	samples := make([]extract.Sample, 0, len(times))
	for row := 0; ; row++ {
		lit, more, err := c.next()
		if err != nil {
			return nil, err
		}
		if !more {
			if row != len(times) {
				return nil, fmt.Errorf("%d values for %d timestamps", row, len(times))
			}
			return samples, nil
		}
		if row >= len(times) {
			return nil, fmt.Errorf("more values than the %d timestamps", len(times))
		}
		kind := entityNone
		if kinds != nil {
			kind = kinds[row]
		}
		if lit == nil {
			if kind != entityNone {
				samples = append(samples, extract.Sample{T: times[row], V: entityValues[kind]})
			}
			continue
		}
		if kind != entityNone {
			return nil, fmt.Errorf("row %d: data.entities says %s but the value is %s, not null", row, entityNames[kind], lit)
		}
		v, err := strconv.ParseFloat(string(lit), bits)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", row, err)
		}
		samples = append(samples, extract.Sample{T: times[row], V: v})
	}
}

// refHasData reports whether any refColumn holds a row (or is not even an array).
func refHasData(cols []json.RawMessage) bool {
	for _, raw := range cols {
		c, err := refOpenColumn(raw)
		if err != nil {
			return true
		}
		if _, more, err := c.next(); more || err != nil {
			return true
		}
	}
	return false
}

// refColumn reads one refColumn of data.values: a JSON array of numbers and nulls.
//
// It is written by hand because it is the hot path: a large answer holds
// millions of values, and encoding/json could only tell a null from a number
// by allocating per value ([]*float64 or []any). This reads each literal in
// place and hands it to strconv. encoding/json has already checked that the
// refColumn is valid JSON; the scanner still never indexes out of bounds.
type refColumn struct {
	b   []byte
	pos int
	n   int // elements read so far
}

func refOpenColumn(b []byte) (refColumn, error) {
	c := refColumn{b: b}
	c.skipSpace()
	if c.pos == len(b) || b[c.pos] != '[' {
		return c, fmt.Errorf("the values are %s, not an array", describe(b))
	}
	c.pos++
	return c, nil
}

// next returns the next element: its literal, or nil for null. more is
// false at the end of the array.
func (c *refColumn) next() (lit []byte, more bool, err error) {
	c.skipSpace()
	if c.pos < len(c.b) && c.b[c.pos] == ']' {
		c.pos++
		return nil, false, nil
	}
	if c.n > 0 {
		if c.pos == len(c.b) || c.b[c.pos] != ',' {
			return nil, false, fmt.Errorf("row %d: malformed array", c.n)
		}
		c.pos++
		c.skipSpace()
	}
	rest := c.b[c.pos:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "null":
		c.pos += 4
	case len(rest) > 0 && (rest[0] == '-' || '0' <= rest[0] && rest[0] <= '9'):
		start := c.pos
		for c.pos < len(c.b) && refIsNumberByte(c.b[c.pos]) {
			c.pos++
		}
		lit = c.b[start:c.pos]
	default:
		return nil, false, fmt.Errorf("row %d: the value is %s, not a number or null", c.n, describe(rest))
	}
	c.n++
	return lit, true, nil
}

func (c *refColumn) skipSpace() {
	for c.pos < len(c.b) {
		switch c.b[c.pos] {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return
		}
	}
}

func refIsNumberByte(ch byte) bool {
	return '0' <= ch && ch <= '9' || ch == '-' || ch == '+' || ch == '.' || ch == 'e' || ch == 'E'
}
