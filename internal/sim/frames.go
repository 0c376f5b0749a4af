package sim

import (
	"bufio"
	"io"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// This file writes /api/ds/query bodies byte for byte as Grafana does. Grafana
// encodes backend.QueryDataResponse with jsoniter's standard-library
// compatible config and the plugin SDK's hand-written frame codec; the SDK is
// a test-only dependency here, so the same bytes are produced by hand and
// frames_test.go proves they match.

// frame is one data frame in the shape promlib gives it.
type frame struct {
	name  string // "" except for the "Warnings" frame
	refID string
	meta  frameMeta
	// fields is false for the field-less frames promlib adds for empty
	// results, warnings and errors.
	fields      bool
	valueName   string        // "Value" or the metric name
	labels      labels.Labels // always written, {} when empty
	displayName string        // config.displayNameFromDS; "" leaves no config
	interval    int64         // time field config.interval in ms; 0 leaves no config
	points      []promql.FPoint
	// fill, when set, produces the points as the frame is written, into
	// dst's memory; an answer of many long series is then never held
	// whole, only one series at a time.
	fill     func(dst []promql.FPoint) []promql.FPoint
	str      string // the value of a "string" result, when isString
	isString bool
	// cells, when set, makes this a "heatmap-cells" frame: a native
	// histogram series, one row per bucket (fields xMax, yMin, yMax, count,
	// yLayout), with labels on yMin.
	cells []cell
}

// cell is one bucket of one native histogram sample, as promlib's
// readHistogram lays it out: the sample's time, the bucket's boundaries
// rule (0 to 3, as in Prometheus's JSON), its bounds and its count. The
// histogram's count and sum are dropped.
type cell struct {
	t          int64
	layout     int8
	yMin, yMax float64
	count      float64
}

type frameMeta struct {
	typ         string // "" is omitted
	typeVersion [2]int
	resultType  string // custom.resultType, "" is omitted
	hasMinStep  bool   // custom.calculatedMinStep is only on a refId's first frame
	minStep     int64
	notices     []notice
	executed    string // executedQueryString, "" is omitted
}

type notice struct{ severity, text string }

// result is one refId's DataResponse.
type result struct {
	refID     string
	err       string // "" when the query succeeded
	errSource string
	status    int
	hasFrames bool // a nil Frames slice leaves "frames" out entirely
	frames    []frame
}

// encoder appends JSON to a buffer and hands it to the writer in chunks so a
// large response is never held twice.
type encoder struct {
	w   *bufio.Writer
	buf []byte
	err error
	// Reused from frame to frame: the points of a frame with fill, and the
	// indexes of its NaN, +Inf and -Inf values.
	points        []promql.FPoint
	nan, inf, neg []int
}

const flushAt = 64 << 10

func newEncoder(w io.Writer) *encoder {
	return &encoder{w: bufio.NewWriterSize(w, flushAt), buf: make([]byte, 0, flushAt+4096)}
}

func (e *encoder) maybeFlush() {
	if len(e.buf) >= flushAt {
		e.flush()
	}
}

func (e *encoder) flush() {
	if e.err == nil && len(e.buf) > 0 {
		_, e.err = e.w.Write(e.buf)
	}
	e.buf = e.buf[:0]
}

func (e *encoder) close() error {
	e.flush()
	if e.err == nil {
		e.err = e.w.Flush()
	}
	return e.err
}

// writeResponse writes {"results":{...}} plus the newline json.Encoder adds;
// results must already be sorted by refId, as Grafana sorts them.
func writeResponse(w io.Writer, results []result) error {
	e := newEncoder(w)
	e.buf = append(e.buf, `{"results":{`...)
	for i := range results {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.writeResult(&results[i])
	}
	e.buf = append(e.buf, "}}\n"...)
	return e.close()
}

func sortResults(rs []result) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].refID < rs[j].refID })
}

func (e *encoder) writeResult(r *result) {
	e.buf = appendString(e.buf, r.refID)
	e.buf = append(e.buf, ":{"...)
	status := r.status
	started := false
	if r.err != "" {
		e.buf = append(e.buf, `"error":`...)
		e.buf = appendString(e.buf, r.err)
		e.buf = append(e.buf, `,"errorSource":`...)
		e.buf = appendString(e.buf, r.errSource)
		if status < 100 || status >= 600 {
			status = 500 // the SDK's statusFromError for errors it cannot classify
		}
		started = true
	}
	if started {
		e.buf = append(e.buf, ',')
	}
	e.buf = append(e.buf, `"status":`...)
	if status >= 100 && status < 600 {
		e.buf = strconv.AppendInt(e.buf, int64(status), 10)
	} else {
		e.buf = append(e.buf, "200"...)
	}
	if r.hasFrames {
		e.buf = append(e.buf, `,"frames":[`...)
		for i := range r.frames {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.writeFrame(&r.frames[i])
		}
		e.buf = append(e.buf, ']')
	}
	e.buf = append(e.buf, '}')
}

func (e *encoder) writeFrame(f *frame) {
	b := append(e.buf, `{"schema":{`...)
	comma := false
	if f.name != "" {
		b = append(b, `"name":`...)
		b = appendString(b, f.name)
		comma = true
	}
	if f.refID != "" {
		if comma {
			b = append(b, ',')
		}
		b = append(b, `"refId":`...)
		b = appendString(b, f.refID)
		comma = true
	}
	if comma {
		b = append(b, ',')
	}
	b = append(b, `"meta":`...)
	b = appendMeta(b, &f.meta)
	b = append(b, `,"fields":[`...)
	if f.cells != nil {
		e.buf = appendCellFields(b, f)
		e.buf = append(e.buf, `]},"data":{"values":[`...)
		e.writeCells(f.cells)
		e.buf = append(e.buf, "]}}"...)
		return
	}
	if f.fields {
		b = append(b, `{"name":"Time","type":"time","typeInfo":{"frame":"time.Time"}`...)
		if f.interval != 0 {
			b = append(b, `,"config":{"interval":`...)
			b = appendFloat(b, float64(f.interval))
			b = append(b, '}')
		}
		b = append(b, `},{"name":`...)
		b = appendString(b, f.valueName)
		if f.isString {
			b = append(b, `,"type":"string","typeInfo":{"frame":"string"}`...)
		} else {
			b = append(b, `,"type":"number","typeInfo":{"frame":"float64"}`...)
		}
		b = append(b, `,"labels":`...)
		b = appendLabels(b, f.labels)
		if f.displayName != "" {
			b = append(b, `,"config":{"displayNameFromDS":`...)
			b = appendStringHTML(b, f.displayName)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	b = append(b, `]},"data":{"values":[`...)
	e.buf = b
	if f.fields {
		e.writeData(f)
	}
	e.buf = append(e.buf, "]}}"...)
}

// appendCellFields writes the schema of a heatmap-cells frame.
func appendCellFields(b []byte, f *frame) []byte {
	b = append(b, `{"name":"xMax","type":"time","typeInfo":{"frame":"time.Time"}`...)
	if f.interval != 0 {
		b = append(b, `,"config":{"interval":`...)
		b = appendFloat(b, float64(f.interval))
		b = append(b, '}')
	}
	b = append(b, `},{"name":"yMin","type":"number","typeInfo":{"frame":"float64"},"labels":`...)
	b = appendLabels(b, f.labels)
	b = append(b, '}')
	for _, name := range []string{"yMax", "count"} {
		b = append(b, `,{"name":"`...)
		b = append(b, name...)
		b = append(b, `","type":"number","typeInfo":{"frame":"float64"}}`...)
	}
	return append(b, `,{"name":"yLayout","type":"number","typeInfo":{"frame":"int8"}}`...)
}

// appendLabels writes a field's labels as a JSON object.
func appendLabels(b []byte, lset labels.Labels) []byte {
	b = append(b, '{')
	first := true
	lset.Range(func(l labels.Label) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, l.Name)
		b = append(b, ':')
		b = appendString(b, l.Value)
	})
	return append(b, '}')
}

// writeCells writes the five columns of a heatmap-cells frame. Bucket
// bounds and counts of a native histogram are finite, so no entities.
func (e *encoder) writeCells(cells []cell) {
	cols := []func(c *cell){
		func(c *cell) { e.buf = strconv.AppendInt(e.buf, c.t, 10) },
		func(c *cell) { e.buf = appendFloat(e.buf, c.yMin) },
		func(c *cell) { e.buf = appendFloat(e.buf, c.yMax) },
		func(c *cell) { e.buf = appendFloat(e.buf, c.count) },
		func(c *cell) { e.buf = strconv.AppendInt(e.buf, int64(c.layout), 10) },
	}
	for ci, col := range cols {
		if ci > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = append(e.buf, '[')
		for i := range cells {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			col(&cells[i])
			e.maybeFlush()
		}
		e.buf = append(e.buf, ']')
	}
}

// writeData writes the two value arrays and, after them, the entities that
// say which nulls stand for NaN, +Inf and -Inf.
func (e *encoder) writeData(f *frame) {
	if f.isString {
		e.buf = append(e.buf, '[')
		if len(f.points) > 0 {
			e.buf = strconv.AppendInt(e.buf, f.points[0].T, 10)
		}
		e.buf = append(e.buf, "],["...)
		e.buf = appendStringHTML(e.buf, f.str)
		e.buf = append(e.buf, ']')
		return
	}
	points := f.points
	if f.fill != nil && e.err == nil {
		e.points = f.fill(e.points[:0])
		points = e.points
	}
	e.buf = append(e.buf, '[')
	for i, p := range points {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = strconv.AppendInt(e.buf, p.T, 10)
		e.maybeFlush()
	}
	e.buf = append(e.buf, "],["...)
	nan, inf, neg := e.nan[:0], e.inf[:0], e.neg[:0]
	defer func() { e.nan, e.inf, e.neg = nan, inf, neg }()
	for i, p := range points {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		switch v := p.F; {
		case math.IsNaN(v):
			nan = append(nan, i)
			e.buf = append(e.buf, "null"...)
		case math.IsInf(v, 1):
			inf = append(inf, i)
			e.buf = append(e.buf, "null"...)
		case math.IsInf(v, -1):
			neg = append(neg, i)
			e.buf = append(e.buf, "null"...)
		default:
			e.buf = appendFloat(e.buf, v)
		}
		e.maybeFlush()
	}
	e.buf = append(e.buf, ']')
	if len(nan)+len(inf)+len(neg) == 0 {
		return
	}
	e.buf = append(e.buf, `],"entities":[null,{`...)
	comma := false
	for _, ent := range []struct {
		key string
		idx []int
	}{{"NaN", nan}, {"Inf", inf}, {"NegInf", neg}} {
		if len(ent.idx) == 0 {
			continue
		}
		if comma {
			e.buf = append(e.buf, ',')
		}
		e.buf = append(e.buf, '"')
		e.buf = append(e.buf, ent.key...)
		e.buf = append(e.buf, `":[`...)
		for i, x := range ent.idx {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = strconv.AppendInt(e.buf, int64(x), 10)
		}
		e.buf = append(e.buf, ']')
		comma = true
		e.maybeFlush()
	}
	e.buf = append(e.buf, '}')
}

// appendMeta follows data.FrameMeta's field order; its strings go through
// jsoniter's reflection encoder, which escapes HTML.
func appendMeta(b []byte, m *frameMeta) []byte {
	b = append(b, '{')
	if m.typ != "" {
		b = append(b, `"type":`...)
		b = appendStringHTML(b, m.typ)
		b = append(b, ',')
	}
	b = append(b, `"typeVersion":[`...)
	b = strconv.AppendInt(b, int64(m.typeVersion[0]), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(m.typeVersion[1]), 10)
	b = append(b, ']')
	if m.hasMinStep || m.resultType != "" {
		// A map[string]any: jsoniter sorts its keys.
		b = append(b, `,"custom":{`...)
		if m.hasMinStep {
			b = append(b, `"calculatedMinStep":`...)
			b = strconv.AppendInt(b, m.minStep, 10)
		}
		if m.resultType != "" {
			if m.hasMinStep {
				b = append(b, ',')
			}
			b = append(b, `"resultType":`...)
			b = appendStringHTML(b, m.resultType)
		}
		b = append(b, '}')
	}
	if len(m.notices) > 0 {
		b = append(b, `,"notices":[`...)
		for i, n := range m.notices {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"severity":`...)
			b = appendStringHTML(b, n.severity)
			b = append(b, `,"text":`...)
			b = appendStringHTML(b, n.text)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if m.executed != "" {
		b = append(b, `,"executedQueryString":`...)
		b = appendStringHTML(b, m.executed)
	}
	return append(b, '}')
}

// appendFloat is jsoniter's Stream.WriteFloat64: shortest round-trip digits,
// exponent form below 1e-6 and from 1e21, and (unlike encoding/json) the
// exponent left as strconv writes it, e.g. 1e-07.
func appendFloat(b []byte, v float64) []byte {
	format := byte('f')
	if abs := math.Abs(v); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, v, format, -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendString is jsoniter's Stream.WriteString, used by the SDK for names,
// labels, refIds and errors: no HTML escaping and no UTF-8 repair.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || (c > 31 && c != '"' && c != '\\') {
			continue
		}
		b = append(b, s[start:i]...)
		b = appendEscape(b, c)
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendStringHTML is jsoniter's HTML-escaping string encoder, used for
// strings reached by reflection (meta, field config, string values).
func appendStringHTML(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c > 31 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = appendEscape(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendEscape(b []byte, c byte) []byte {
	switch c {
	case '\\', '"':
		return append(b, '\\', c)
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
}
