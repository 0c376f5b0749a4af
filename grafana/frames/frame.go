package frames

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// Frames: how Decode reads one data frame into reusable buffers,
// checks it in the order the checks always ran, and hands its series over.

// span is a string in the frame's arena.
type span struct{ a, b int }

// Field kinds.
const (
	fieldOther = iota
	fieldTime
	fieldNumber
)

type fieldInfo struct {
	name, typ, tiFrame span
	kind               uint8
	lbls               span // indexes into frameState.lbls
	labelsSeen         bool
}

type labelPair struct {
	name, value span
	problem     uint8 // an extract.Label* problem found while reading
	size        int64 // the value's length, when cut short
}

// Column modes.
const (
	colSkip = iota
	colTime
	colFloat
)

// Ranks of the errors of one row of a number column, in the order the
// checks run: the value is not a number, there are more values than
// timestamps, an entity falls on a number, the number is out of range.
const (
	rankLexical = iota
	rankMore
	rankEntity
	rankRange
)

// column is one column of data.values.
type column struct {
	mode    uint8
	bits    int
	isArray bool
	n       int    // elements
	lit     []byte // the start of a column that is not an array
	samples []extract.Sample
	nulls   []int32 // rows of the nulls, ascending
	timed   bool    // samples got their T while read
	err     colError
}

// colError is the first thing wrong in a column's rows.
type colError struct {
	set   bool
	row   int
	rank  uint8
	start int64  // offset of a lexical error's value
	lit   []byte // its text
	msg   string
	err   error
}

type entityList struct {
	present bool
	rows    [3]span // NaN, Inf, NegInf rows: indexes into frameState.entRows
}

type nanosList struct {
	present bool
	vals    span // indexes into frameState.nanoVals
}

// frameState is the frame being read. Its slices are reused from frame to
// frame, so they grow to the largest frame and no further.
type frameState struct {
	index int
	arena []byte // strings of the schema
	name  span
	typ   span // meta.type

	fields []fieldInfo
	lbls   []labelPair

	cols     []column
	ncols    int
	ents     []entityList
	nents    int
	entRows  []int64
	nanos    []nanosList
	nnanos   int
	nanoVals []int64
	times    []int64
	kinds    []uint8

	schemaSeen, dataSeen, prepared      bool
	metaSeen, fieldsSeen, valuesSeen    bool
	entitiesSeen, nanosSeen, timesRead  bool
	timeIdx, other, numbers, secondTime int
	parse                               bool
	deferred                            bool
	deferredAt                          int64
}

func (f *frameState) reset(index int) {
	*f = frameState{
		index: index, arena: f.arena[:0], fields: f.fields[:0], lbls: f.lbls[:0],
		cols: f.cols, ents: f.ents, entRows: f.entRows[:0], nanos: f.nanos, nanoVals: f.nanoVals[:0],
		times: f.times[:0], kinds: f.kinds,
	}
}

// nextReused returns the next of the *n elements of *list in use, which
// keeps those of earlier frames (and their slices' memory) to be reused.
func nextReused[T any](list *[]T, n *int) *T {
	if *n == len(*list) {
		*list = append(*list, *new(T))
	}
	*n++
	return &(*list)[*n-1]
}

func (f *frameState) str(sp span) []byte { return f.arena[sp.a:sp.b] }

func (f *frameState) frameName() string {
	if f.name.b > f.name.a {
		return fmt.Sprintf("frame %d (%q)", f.index, f.str(f.name))
	}
	return fmt.Sprintf("frame %d", f.index)
}

// text appends a string's value to dst; ok is false for null.
func (d *decoder) text(dst []byte, what string) (_ []byte, ok bool, err error) {
	s := d.s
	c, err := s.peek()
	if err != nil {
		return dst, false, err
	}
	switch c {
	case 'n':
		return dst, false, s.literal("null")
	case '"':
		dst, err = s.str(dst, true)
		return dst, true, err
	}
	return dst, false, within(what, s.mismatch(c, "a string"))
}

// arenaString reads a string into the arena; ok is false for null.
func (d *decoder) arenaString(what string) (sp span, ok bool, err error) {
	a := len(d.f.arena)
	if d.f.arena, ok, err = d.text(d.f.arena, what); ok {
		sp = span{a, len(d.f.arena)}
	}
	return sp, ok, err
}

// opening consumes the delim ('{' or '[') that opens a value of the kind
// want, or a null (ok false).
func (d *decoder) opening(what string, delim byte, want string) (ok bool, err error) {
	s := d.s
	c, err := s.peek()
	if err != nil {
		return false, err
	}
	switch c {
	case 'n':
		return false, s.literal("null")
	case delim:
		s.pos++
		return true, nil
	}
	return false, within(what, s.mismatch(c, want))
}

// eachMember reads an object, or null (present false), calling fn for each
// member with its name in d.s.key. It is for the schema and other objects
// read once a frame: a column's elements are read without a call per value.
func (d *decoder) eachMember(what string, fn func() error) (present bool, err error) {
	if present, err = d.opening(what, '{', "an object"); err != nil || !present {
		return present, err
	}
	return true, d.s.members(fn)
}

// eachElement is eachMember for an array: fn gets the element's index.
func (d *decoder) eachElement(what string, fn func(i int) error) error {
	if ok, err := d.opening(what, '[', "an array"); err != nil || !ok {
		return err
	}
	return d.s.elements(fn)
}

// memberName returns which of names key is, matching as encoding/json
// matches struct fields: exactly, or else ignoring case; "" for none.
func memberName(key []byte, names ...string) string {
	for _, n := range names {
		if string(key) == n {
			return n
		}
	}
	for _, n := range names {
		if strings.EqualFold(unsafeString(key), n) {
			return n
		}
	}
	return ""
}

// within adds what, when not "", to an error's context.
func within(what string, err error) error {
	if what == "" {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

func twice(name string) error { return fmt.Errorf("two %q members", name) }

// once reads a member that carries data. Given twice it is an error, where
// encoding/json merged or replaced it: it is read in place into the frame's
// buffers, and the first copy cannot be taken back.
func once(seen *bool, name string, read func() error) error {
	if *seen {
		return twice(name)
	}
	*seen = true
	return read()
}

// frame reads the index'th frame of a result and hands its series over.
func (d *decoder) frame(index int) error {
	f := &d.f
	f.reset(index)
	s := d.s
	present, err := d.eachMember("", func() error {
		switch memberName(s.key, "schema", "data") {
		case "schema":
			return once(&f.schemaSeen, "schema", d.schema)
		case "data":
			if f.dataSeen {
				return twice("data")
			}
			f.dataSeen = true
			if f.schemaSeen {
				return d.data()
			}
			// The columns cannot be read without the schema: keep the
			// data's bytes (a frame's worth at most) and read them after.
			if _, err := s.peek(); err != nil {
				return err
			}
			f.deferred, f.deferredAt = true, s.offset()
			s.startCapture()
			err := s.skip()
			s.stopCapture()
			return err
		}
		return s.skip()
	})
	if err != nil || !present {
		return err // null: an empty frame
	}
	if f.deferred {
		main := d.s
		d.s = replayScanner(main.capBuf, f.deferredAt, main.key)
		err := d.data()
		main.key, d.s = d.s.key, main
		if err != nil {
			return err
		}
	}
	return d.finishFrame()
}

func (d *decoder) schema() error {
	f, s := &d.f, d.s
	_, err := d.eachMember("schema", func() (err error) {
		switch memberName(s.key, "name", "meta", "fields") {
		case "name":
			sp, ok, err := d.arenaString("schema.name")
			if err == nil && ok {
				f.name = sp
			}
			return err
		case "meta":
			return once(&f.metaSeen, "meta", d.meta)
		case "fields":
			return once(&f.fieldsSeen, "fields", d.fields)
		}
		return s.skip()
	})
	return err
}

func (d *decoder) meta() error {
	f, s := &d.f, d.s
	_, err := d.eachMember("schema.meta", func() (err error) {
		switch memberName(s.key, "type", "executedQueryString", "notices") {
		case "type":
			sp, ok, err := d.arenaString("meta.type")
			if ok {
				f.typ = sp
			}
			return err
		case "executedQueryString":
			var q string
			if err = d.string(&q, "meta.executedQueryString"); err == nil && d.res.ExecutedQueryString == "" {
				d.res.ExecutedQueryString = q
			}
			return err
		case "notices":
			return d.notices()
		}
		return s.skip()
	})
	return err
}

func (d *decoder) notices() error {
	s := d.s
	return d.eachElement("meta.notices", func(int) error {
		var n Notice
		_, err := d.eachMember("", func() error {
			switch memberName(s.key, "severity", "text") {
			case "severity":
				return d.string(&n.Severity, "notice severity")
			case "text":
				return d.string(&n.Text, "notice text")
			}
			return s.skip()
		})
		if err != nil {
			return err
		}
		d.res.Notices = append(d.res.Notices, n)
		return nil
	})
}

func (d *decoder) fields() error {
	f := &d.f
	return d.eachElement("schema.fields", func(int) error {
		f.fields = append(f.fields, fieldInfo{})
		if err := d.field(&f.fields[len(f.fields)-1]); err != nil {
			return fmt.Errorf("schema.fields[%d]: %w", len(f.fields)-1, err)
		}
		return nil
	})
}

func (d *decoder) field(fi *fieldInfo) error {
	f, s := &d.f, d.s
	_, err := d.eachMember("", func() (err error) {
		var sp span
		var set bool
		switch memberName(s.key, "name", "type", "typeInfo", "labels") {
		case "name":
			if sp, set, err = d.arenaString("name"); set {
				fi.name = sp
			}
			return err
		case "type":
			if sp, set, err = d.arenaString("type"); set {
				fi.typ = sp
			}
			return err
		case "typeInfo":
			return d.typeInfo(fi)
		case "labels":
			return once(&fi.labelsSeen, "labels", func() error { return d.labels(fi) })
		}
		return s.skip()
	})
	if err != nil {
		return err
	}
	switch string(f.str(fi.typ)) {
	case "time":
		fi.kind = fieldTime
	case "number":
		fi.kind = fieldNumber
	default:
		fi.kind = fieldOther
	}
	return nil
}

func (d *decoder) typeInfo(fi *fieldInfo) error {
	s := d.s
	_, err := d.eachMember("typeInfo", func() error {
		if memberName(s.key, "frame") == "" {
			return s.skip()
		}
		sp, set, err := d.arenaString("typeInfo.frame")
		if set {
			fi.tiFrame = sp
		}
		return err
	})
	return err
}

// labels reads a field's labels. Like the map it used to be decoded into,
// a name given twice keeps its last value and a null value is "".
// A value longer than a TSDB label can hold is kept only in part, and what
// is not UTF-8 is marked: extract.CheckLabels refuses both by name.
func (d *decoder) labels(fi *fieldInfo) error {
	f, s := &d.f, d.s
	fi.lbls = span{len(f.lbls), len(f.lbls)}
	s.limit, s.replaced = extract.MaxLabelBytes, false
	defer func() { s.limit = 0 }()
	_, err := d.eachMember("labels", func() error {
		a := len(f.arena)
		f.arena = append(f.arena, s.key...)
		name := span{a, len(f.arena)}
		p := labelPair{name: name}
		if s.replaced {
			p.problem = extract.LabelInvalidUTF8
		}
		s.replaced, s.long = false, 0
		value, _, err := d.arenaString("")
		if err != nil {
			return fmt.Errorf("labels[%q]: %w", f.str(name), err)
		}
		p.value = value
		switch {
		case s.long > 0:
			p.problem, p.size = extract.LabelTooLong, s.long
		case s.replaced:
			p.problem = extract.LabelInvalidUTF8
		}
		s.replaced, s.long = false, 0
		f.lbls = append(f.lbls, p)
		return nil
	})
	if err != nil {
		return err
	}
	fi.lbls.b = len(f.lbls)
	return nil
}

func (d *decoder) data() error {
	f, s := &d.f, d.s
	d.prepare()
	_, err := d.eachMember("data", func() error {
		switch memberName(s.key, "values", "entities", "nanos") {
		case "values":
			return once(&f.valuesSeen, "values", d.values)
		case "entities":
			return once(&f.entitiesSeen, "entities", d.entities)
		case "nanos":
			return once(&f.nanosSeen, "nanos", d.nanosMember)
		}
		return s.skip()
	})
	return err
}

// prepare classifies the frame by its schema, which decides how its
// columns are read: a frame that will not be read as series has its
// columns only checked and counted.
func (d *decoder) prepare() {
	f := &d.f
	if f.prepared {
		return
	}
	f.prepared = true
	f.timeIdx, f.other, f.numbers, f.secondTime = -1, -1, 0, -1
	for i := range f.fields {
		switch f.fields[i].kind {
		case fieldTime:
			if f.timeIdx < 0 {
				f.timeIdx = i
			} else if f.secondTime < 0 {
				f.secondTime = i
			}
		case fieldNumber:
			f.numbers++
		default:
			if f.other < 0 {
				f.other = i
			}
		}
	}
	typ := unsafeString(f.str(f.typ))
	f.parse = len(f.fields) > 0 && typ != "heatmap-cells" && timeSeriesType(typ) &&
		f.timeIdx >= 0 && f.secondTime < 0 && f.other < 0 && f.numbers > 0 &&
		timeFrameOK(f.str(f.fields[f.timeIdx].tiFrame))
}

func timeFrameOK(b []byte) bool {
	switch string(bytes.TrimPrefix(b, []byte("*"))) {
	case "", "time.Time":
		return true
	}
	return false
}

func (d *decoder) values() error {
	f := &d.f
	return d.eachElement("data.values", func(int) error {
		k := f.ncols
		c := nextReused(&f.cols, &f.ncols)
		*c = column{samples: c.samples[:0], nulls: c.nulls[:0]}
		if f.parse && k < len(f.fields) {
			switch fi := &f.fields[k]; {
			case k == f.timeIdx:
				c.mode = colTime
			case fi.kind == fieldNumber:
				if bits, ok := floatBits(f.str(fi.tiFrame)); ok {
					c.mode, c.bits = colFloat, bits
				}
			}
		}
		if err := d.column(c); err != nil {
			return fmt.Errorf("data.values[%d]: %w", k, err)
		}
		return nil
	})
}

// column reads one column of data.values.
func (d *decoder) column(c *column) error {
	f, s := &d.f, d.s
	ch, err := s.peek()
	if err != nil {
		return err
	}
	if ch != '[' {
		if c.mode != colSkip {
			// For the error message: the column's text, up to its end.
			c.lit = s.peekBytes(96)
			start := s.offset()
			if err := s.skip(); err != nil {
				return err
			}
			if n := s.offset() - start; int64(len(c.lit)) > n {
				c.lit = c.lit[:n]
			}
			return nil
		}
		return s.skip()
	}
	c.isArray = true
	s.pos++
	switch c.mode {
	case colTime:
		err = d.timeColumn(c)
		f.timesRead = err == nil
		return err
	case colFloat:
		var times []int64
		if f.timesRead {
			times = f.times
			c.timed = true
		}
		return d.floatColumn(c, times)
	}
	for first := true; ; c.n++ {
		more, err := s.element(&first)
		if err != nil || !more {
			return err
		}
		if err := s.skip(); err != nil {
			return err
		}
	}
}

func (d *decoder) entities() error {
	f := &d.f
	return d.eachElement("data.entities", func(int) error {
		k := f.nents
		if err := d.entity(nextReused(&f.ents, &f.nents)); err != nil {
			return fmt.Errorf("data.entities[%d]: %w", k, err)
		}
		return nil
	})
}

func (d *decoder) entity(e *entityList) error {
	f, s := &d.f, d.s
	*e = entityList{}
	var err error
	e.present, err = d.eachMember("", func() (err error) {
		var kind int
		switch memberName(s.key, "NaN", "Inf", "NegInf") {
		case "NaN":
			kind = 0
		case "Inf":
			kind = 1
		case "NegInf":
			kind = 2
		default:
			return s.skip()
		}
		a := len(f.entRows)
		if f.entRows, err = d.intList(f.entRows); err != nil {
			return fmt.Errorf("%s: %w", entityNames[kind+1], err)
		}
		e.rows[kind] = span{a, len(f.entRows)}
		return nil
	})
	return err
}

// intList appends an array of integers (null elements are 0, as
// encoding/json left them), or null, to dst.
func (d *decoder) intList(dst []int64) ([]int64, error) {
	s := d.s
	ok, err := d.opening("", '[', "an array")
	if err != nil || !ok {
		return dst, err
	}
	for first := true; ; {
		more, err := s.element(&first)
		if err != nil || !more {
			return dst, err
		}
		v, _, err := d.int("")
		if err != nil {
			return dst, err
		}
		dst = append(dst, v)
	}
}

func (d *decoder) nanosMember() error {
	f, s := &d.f, d.s
	return d.eachElement("data.nanos", func(int) (err error) {
		k := f.nnanos
		n := nextReused(&f.nanos, &f.nnanos)
		*n = nanosList{}
		a := len(f.nanoVals)
		if c, err := s.peek(); err != nil {
			return err
		} else if c != 'n' {
			n.present = true
		}
		if f.nanoVals, err = d.intList(f.nanoVals); err != nil {
			return fmt.Errorf("data.nanos[%d]: %w", k, err)
		}
		n.vals = span{a, len(f.nanoVals)}
		return nil
	})
}

// Entity kinds, indexes into entityNames and entityValues; 0 is none.
const (
	entityNone uint8 = iota
	entityNaN
	entityInf
	entityNegInf
)

var (
	entityNames  = [...]string{"", "NaN", "Inf", "NegInf"}
	entityValues = [...]float64{0, math.NaN(), math.Inf(1), math.Inf(-1)}
)

// isNull marks, in a kinds slice, a row whose value is null.
const isNull = 0x80

// timeSeriesType reports whether a frame of this meta.type is read as float
// series: one time field and number fields, labels on the number fields.
// promlib writes "timeseries-multi"; frames without a type are read the same.
func timeSeriesType(t string) bool {
	switch t {
	case "", "timeseries-multi", "timeseries-many", "timeseries-wide":
		return true
	}
	return false
}

// floatBits gives the precision in which a number field's literals are
// parsed: a float32 was printed in its own shortest form.
func floatBits(frameType []byte) (int, bool) {
	switch string(bytes.TrimPrefix(frameType, []byte("*"))) {
	case "float32":
		return 32, true
	case "", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64":
		return 64, true
	}
	return 0, false
}

func (f *frameState) fieldError(i int, err error) error {
	return fmt.Errorf("field %d (%q): %w", i, f.str(f.fields[i].name), err)
}

// hasData reports whether any column holds a row (or is not even an array).
func (f *frameState) hasData() bool {
	for _, c := range f.cols[:f.ncols] {
		if !c.isArray || c.n > 0 {
			return true
		}
	}
	return false
}

// finishFrame checks the frame read, in the order the checks always ran,
// and hands its series to the handler.
func (d *decoder) finishFrame() error {
	f := &d.f
	d.prepare()
	fields := f.fields
	if f.ncols != len(fields) {
		return fmt.Errorf("the schema has %d fields but data.values has %d columns", len(fields), f.ncols)
	}
	if len(fields) == 0 {
		return nil // an empty result, or only notices
	}
	frameType := unsafeString(f.str(f.typ)) // the arena holds still until the next frame
	unsupported := func(why string) error {
		if f.hasData() {
			line := f.frameName() + ": " + why
			for i := range fields {
				if fields[i].lbls.b > fields[i].lbls.a {
					if lset, err := d.labelsOf(i); err == nil {
						line += " (series " + lset.String() + ")"
					}
					break
				}
			}
			d.res.Unsupported = append(d.res.Unsupported, line)
		}
		return nil
	}
	if frameType == "heatmap-cells" {
		return unsupported(`meta.type "heatmap-cells" is a native histogram, whose buckets come without count and sum and cannot be rebuilt`)
	}
	if !timeSeriesType(frameType) {
		return unsupported(fmt.Sprintf("meta.type %q is not a float time series", frameType))
	}
	timeIdx := f.timeIdx
	switch {
	case f.secondTime >= 0:
		return fmt.Errorf("fields %d and %d are both time fields", timeIdx, f.secondTime)
	case timeIdx < 0 && f.numbers > 0:
		return fmt.Errorf("no time field for its %d number fields", f.numbers)
	case timeIdx < 0:
		return unsupported("no time field and no number field")
	case f.other >= 0:
		return f.fieldError(f.other, fmt.Errorf("type %q in a time series frame, which holds only a time field and number fields (labels belong in a field's labels)", f.str(fields[f.other].typ)))
	case f.numbers == 0:
		return unsupported("a time field and no number field")
	}
	if f.nents > len(fields) {
		return fmt.Errorf("data.entities has %d entries for %d fields", f.nents, len(fields))
	}
	if tf := f.str(fields[timeIdx].tiFrame); !timeFrameOK(tf) {
		return f.fieldError(timeIdx, fmt.Errorf("type time with typeInfo.frame %q", tf))
	}
	if timeIdx < f.nents {
		if e := &f.ents[timeIdx]; e.present && e.rows[0].b-e.rows[0].a+e.rows[1].b-e.rows[1].a+e.rows[2].b-e.rows[2].a > 0 {
			return f.fieldError(timeIdx, errors.New("data.entities lists NaN or Inf rows for a time field"))
		}
	}
	tc := &f.cols[timeIdx]
	if !tc.isArray {
		return f.fieldError(timeIdx, fmt.Errorf("the values are %s, not an array", describe(tc.lit)))
	}
	if tc.err.set {
		return f.fieldError(timeIdx, fmt.Errorf("row %d: %s", tc.err.row, tc.err.msg))
	}
	times := f.times
	retime := false
	if timeIdx < f.nnanos && f.nanos[timeIdx].present {
		sp := f.nanos[timeIdx].vals
		nanos := f.nanoVals[sp.a:sp.b]
		if len(nanos) != len(times) {
			return f.fieldError(timeIdx, fmt.Errorf("data.nanos has %d entries for %d timestamps", len(nanos), len(times)))
		}
		for i, ns := range nanos {
			times[i] += ns / 1e6 // a sub-millisecond remainder leaves T alone
		}
		retime = true
	}
	for i := range fields {
		if fields[i].kind != fieldNumber {
			continue
		}
		samples, err := d.numberField(i, times, retime)
		if err != nil {
			return f.fieldError(i, err)
		}
		lset, err := d.labelsOf(i)
		if err != nil {
			return f.fieldError(i, err)
		}
		err = d.h.Series(d.refID, extract.Series{Labels: lset, Samples: samples})
		if err != nil {
			return d.handled(err)
		}
	}
	return nil
}

// numberField checks number field i and returns its samples.
func (d *decoder) numberField(i int, times []int64, retime bool) ([]extract.Sample, error) {
	f := &d.f
	fi := &f.fields[i]
	bits, ok := floatBits(f.str(fi.tiFrame))
	if !ok {
		return nil, fmt.Errorf("type number with typeInfo.frame %q", f.str(fi.tiFrame))
	}
	rows := len(times)
	var kinds []uint8
	if i < f.nents && f.ents[i].present {
		var err error
		if kinds, err = f.entityKinds(&f.ents[i], rows); err != nil {
			return nil, err
		}
	}
	c := &f.cols[i]
	if !c.isArray {
		return nil, fmt.Errorf("the values are %s, not an array", describe(c.lit))
	}
	samples := c.samples[:c.n]

	// The first error by row, then by the order the checks run in a row.
	best := colError{row: math.MaxInt}
	consider := func(e colError) {
		if e.row < best.row || e.row == best.row && e.rank < best.rank {
			best = e
		}
	}
	if c.err.set {
		consider(c.err)
	}
	if c.n > rows {
		consider(colError{set: true, row: rows, rank: rankMore})
	}
	if kinds != nil {
		for _, r := range c.nulls {
			if int(r) < rows {
				kinds[r] |= isNull
			}
		}
		for r := range min(rows, c.n) {
			if k := kinds[r]; k != entityNone && k&isNull == 0 {
				consider(colError{set: true, row: r, rank: rankEntity})
				break
			}
		}
	}
	if best.set {
		switch best.rank {
		case rankLexical:
			return nil, fmt.Errorf("row %d: %s", best.row, best.msg)
		case rankMore:
			return nil, fmt.Errorf("more values than the %d timestamps", rows)
		case rankEntity:
			lit := fmt.Sprint(samples[best.row].V)
			if bits == 32 {
				lit = fmt.Sprint(float32(samples[best.row].V))
			}
			return nil, fmt.Errorf("row %d: data.entities says %s but the value is %s, not null", best.row, entityNames[kinds[best.row]], lit)
		default:
			return nil, fmt.Errorf("row %d: %w", best.row, best.err)
		}
	}
	if c.n != rows {
		return nil, fmt.Errorf("%d values for %d timestamps", c.n, rows)
	}
	if !c.timed || retime {
		for r := range samples {
			samples[r].T = times[r]
		}
	}
	if len(c.nulls) > 0 {
		// A null is its row's entity, or without one a missing sample.
		w, ni := int(c.nulls[0]), 0
		for r := w; r < len(samples); r++ {
			if ni < len(c.nulls) && int(c.nulls[ni]) == r {
				ni++
				k := entityNone
				if kinds != nil {
					k = kinds[r] &^ isNull
				}
				if k == entityNone {
					continue
				}
				samples[r].V = entityValues[k]
			}
			samples[w] = samples[r]
			w++
		}
		samples = samples[:w]
	}
	return samples, nil
}

// entityKinds returns the entity kind of every row, or an error for a row
// out of range or listed twice.
func (f *frameState) entityKinds(e *entityList, rows int) ([]uint8, error) {
	if cap(f.kinds) < rows {
		f.kinds = make([]uint8, rows)
	}
	kinds := f.kinds[:rows]
	clear(kinds)
	for k, sp := range e.rows {
		kind := uint8(k + 1)
		for _, row := range f.entRows[sp.a:sp.b] {
			if row < 0 || row >= int64(rows) {
				return nil, fmt.Errorf("data.entities %s row %d is out of range: the frame has %d rows", entityNames[kind], row, rows)
			}
			if kinds[row] != entityNone {
				return nil, fmt.Errorf("data.entities lists row %d as both %s and %s", row, entityNames[kinds[row]], entityNames[kind])
			}
			kinds[row] = kind
		}
	}
	return kinds, nil
}

// labelsOf builds field i's labels: sorted, and for a name given twice the
// last value, as decoding them into a map did. Labels no block can hold as
// they came are an *extract.LabelError.
func (d *decoder) labelsOf(i int) (labels.Labels, error) {
	f := &d.f
	sp := f.fields[i].lbls
	pairs := f.lbls[sp.a:sp.b]
	// Insertion sort, stable: Grafana sends labels sorted already.
	for j := 1; j < len(pairs); j++ {
		for k := j; k > 0 && bytes.Compare(f.str(pairs[k].name), f.str(pairs[k-1].name)) < 0; k-- {
			pairs[k], pairs[k-1] = pairs[k-1], pairs[k]
		}
	}
	d.check = d.check[:0]
	for j, p := range pairs {
		if j+1 < len(pairs) && bytes.Equal(f.str(p.name), f.str(pairs[j+1].name)) {
			continue
		}
		d.check = append(d.check, extract.ReadLabel{Label: labels.Label{Name: unsafeString(f.str(p.name)), Value: unsafeString(f.str(p.value))},
			Problem: p.problem, Size: p.size})
	}
	if err := extract.CheckLabels(d.check); err != nil {
		return labels.EmptyLabels(), err
	}
	d.lb.Reset()
	for _, l := range d.check {
		d.lb.Add(l.Name, l.Value)
	}
	return d.lb.Labels(), nil
}

// describe names the kind of JSON value b starts with, for error messages.
func describe(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "missing"
	}
	kind := "a number"
	switch b[0] {
	case '"':
		kind = "a string"
	case '{':
		kind = "an object"
	case '[':
		kind = "an array"
	case 't', 'f':
		kind = "a boolean"
	case 'n':
		return "null"
	}
	return fmt.Sprintf("%s %.24q", kind, b)
}
