package promjson

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/nativehist"
)

// ErrNoData is a success answer without "data"; ErrNoResult one whose data
// has no "result".
var (
	ErrNoData   = errors.New(`no "data" in the answer`)
	ErrNoResult = errors.New("no data.result in the answer")
)

// StatusError is an answer whose status is not "success", with the error
// Prometheus gave, if any.
type StatusError struct {
	Status, ErrorType, Err string
}

func (e *StatusError) Error() string { return fmt.Sprintf("status %q", e.Status) }

// ResultTypeError is an answer that is not a matrix: only a matrix holds
// series with their samples.
type ResultTypeError struct{ Type string }

func (e *ResultTypeError) Error() string { return fmt.Sprintf("result of type %q", e.Type) }

// SeriesError is a series of well-formed JSON that cannot be read: a value
// that is no number, a histogram that cannot be rebuilt. Index is its place
// in data.result.
type SeriesError struct {
	Index int
	Err   error
}

func (e *SeriesError) Error() string { return e.Err.Error() }
func (e *SeriesError) Unwrap() error { return e.Err }

// SyntaxError is input that is not the JSON expected. Offset counts the
// bytes read before it was found (the reader reads ahead, so it is where
// reading stopped, not the bad byte); Line and Column are the bad byte's.
type SyntaxError struct {
	Msg    string
	Offset int64
	Line   int // from 1
	Column int // from 1, in bytes
	// EOF says the input ended inside the document (cut short).
	EOF bool
}

func (e *SyntaxError) Error() string {
	return e.Msg + " (at byte " + strconv.FormatInt(e.Offset, 10) + ")"
}

// Reason is the message without the iterator's quotation of the input
// around the error, for messages that say where by line and column.
func (e *SyntaxError) Reason() string {
	if e.EOF {
		return "unexpected end of JSON input"
	}
	if i := strings.Index(e.Msg, ", error found in #"); i >= 0 {
		return e.Msg[:i]
	}
	return e.Msg
}

// Read reads a Prometheus API answer whose result is a matrix, handing each
// series to add as soon as it is decoded, so memory holds one series, not
// the answer; the series is valid only during the call. Values keep
// Prometheus's text exactly ("NaN", "+Inf" and shortest round-trip digits
// parse back to the same float64; "StaleNaN", which only promrecover export
// writes, is the stale marker), timestamps come back as the exact
// millisecond, and native histograms are rebuilt with nativehist.FromAPI
// (one it cannot rebuild exactly fails the read, naming the series). It
// returns Prometheus's warnings and infos.
//
// It walks the answer with jsoniter's iterator, allocating per series, not
// per sample: 13-16M samples/s on one core here, against 36-40M for the
// /api/ds/query frame decoder on the same data in the same run
// (BenchmarkRead, grafana's BenchmarkDecodeStream). Decoding into
// prometheus/common/model's types with encoding/json, as a first version
// did, read about 0.6M samples/s: every value pair goes through its own
// json.Unmarshal.
func Read(r io.Reader, add func(extract.Series) error) ([]string, error) {
	return ReadBounded(r, 0, add)
}

// ReadBounded is Read with a bound on the points of each series (see
// extract.MaxPoints; 0 is none): a series with more fails with an
// *extract.PointsError (in a *SeriesError) as soon as its values pass the
// bound, before they take more memory. Histograms, few beside floats, are
// counted once read.
func ReadBounded(r io.Reader, maxPoints int, add func(extract.Series) error) ([]string, error) {
	pr := &posReader{r: r}
	it := jsoniter.Parse(jsoniter.ConfigCompatibleWithStandardLibrary, pr, 64<<10)
	d := &decoder{it: it, read: pr, maxPoints: maxPoints}
	var status StatusError
	var resultType string
	var notes []string
	sawData, sawResult := false, false
	for key := it.ReadObject(); key != "" && it.Error == nil; key = it.ReadObject() {
		switch key {
		case "status":
			status.Status = it.ReadString()
		case "errorType":
			status.ErrorType = it.ReadString()
		case "error":
			status.Err = it.ReadString()
		case "warnings", "infos":
			for it.ReadArray() {
				if notes = append(notes, it.ReadString()); it.Error != nil {
					break
				}
			}
		case "data":
			sawData = true
			for k := it.ReadObject(); k != "" && it.Error == nil; k = it.ReadObject() {
				if k != "result" {
					if k == "resultType" {
						resultType = it.ReadString()
					} else {
						it.Skip()
					}
					if it.Error != nil {
						break
					}
					continue
				}
				if resultType != "matrix" {
					return nil, &ResultTypeError{Type: resultType}
				}
				sawResult = true
				if err := d.result(add); err != nil {
					return nil, err
				}
				if it.Error != nil {
					break
				}
			}
		default:
			it.Skip()
		}
		if it.Error != nil {
			break // reading on would move the iterator off the error
		}
	}
	switch {
	case it.Error != nil && it.Error != io.EOF:
		return nil, d.syntaxError("")
	case status.Status != "success":
		return nil, &status
	case !sawData:
		return nil, ErrNoData
	case !sawResult:
		return nil, ErrNoResult
	}
	return notes, nil
}

// decoder reads series of a matrix, reusing its buffers from one series to
// the next.
type decoder struct {
	it      *jsoniter.Iterator
	read    *posReader
	lb      labels.ScratchBuilder
	check   []extract.ReadLabel // a series' labels, checked before lb builds them
	samples []extract.Sample
	hists   []extract.HistogramSample
	// maxPoints bounds a series' points; 0 is no bound.
	maxPoints int
}

// result reads data.result, the array of series.
func (d *decoder) result(add func(extract.Series) error) error {
	for i := 0; d.it.ReadArray(); i++ {
		ser, err := d.series()
		if err != nil {
			// Declared here, not for every series: errors.As takes its
			// address, which would cost an allocation per series.
			var se *SyntaxError
			if !errors.As(err, &se) {
				err = &SeriesError{Index: i, Err: err}
			}
			return err
		}
		if d.it.Error != nil {
			break
		}
		if err := add(ser); err != nil {
			return err
		}
	}
	return nil
}

// series reads {"metric":{...},"values":[[t,"v"],...],"histograms":[[t,{...}],...]}.
func (d *decoder) series() (extract.Series, error) {
	it := d.it
	if it.WhatIsNext() != jsoniter.ObjectValue {
		// Where jsoniter would take a closing brace for an empty object.
		e := d.syntaxError("an element of data.result is not a series object")
		if !e.EOF {
			e.Column++ // the byte was looked at, not read
		}
		return extract.Series{}, e
	}
	d.check = d.check[:0]
	d.samples, d.hists = d.samples[:0], d.hists[:0]
	var pairs []model.SampleHistogramPair
	for k := it.ReadObject(); k != "" && it.Error == nil; k = it.ReadObject() {
		switch k {
		case "metric":
			// ReadObject would take a label named "" for the object's end.
			it.ReadObjectCB(func(it *jsoniter.Iterator, name string) bool {
				d.check = append(d.check, extract.ReadLabel{Label: labels.Label{Name: name, Value: it.ReadString()}})
				return it.Error == nil
			})
		case "values":
			if err := d.values(); err != nil {
				return extract.Series{}, err
			}
		case "histograms":
			// Histograms are few beside floats: model's own decoding is
			// fast enough for them.
			it.ReadVal(&pairs)
		default:
			it.Skip()
		}
		if it.Error != nil {
			return extract.Series{}, d.syntaxError("")
		}
	}
	if d.maxPoints > 0 && len(d.samples)+len(pairs) > d.maxPoints {
		return extract.Series{}, &extract.PointsError{Max: d.maxPoints}
	}
	slices.SortFunc(d.check, func(a, b extract.ReadLabel) int { return strings.Compare(a.Name, b.Name) })
	if err := extract.CheckLabels(d.check); err != nil {
		return extract.Series{}, err
	}
	d.lb.Reset()
	for _, l := range d.check {
		d.lb.Add(l.Name, l.Value)
	}
	out := extract.Series{Labels: d.lb.Labels(), Samples: d.samples}
	for _, p := range pairs {
		if p.Histogram == nil {
			return out, d.syntaxError("a histogram sample without its histogram")
		}
		h, fh, err := nativehist.FromAPI(p.Histogram)
		if err != nil {
			return out, fmt.Errorf("series %s at %s: %w", out.Labels, p.Timestamp.Time().UTC().Format("2006-01-02T15:04:05.000Z"), err)
		}
		d.hists = append(d.hists, extract.HistogramSample{T: int64(p.Timestamp), H: h, FH: fh})
	}
	// What the API form does not show (an empty zero bucket's threshold, a
	// bucketless histogram's schema) is taken from the series' neighbouring
	// samples, as the original most likely had it.
	nativehist.FillSeries(d.hists)
	out.Histograms = d.hists
	return out, nil
}

// values reads [[t,"v"],...].
func (d *decoder) values() error {
	it := d.it
	for it.ReadArray() {
		it.ReadArray()
		// Seconds with three decimals are read into the nearest float64,
		// within a ten-thousandth of a millisecond for any date: rounding
		// gives the exact millisecond.
		t := int64(math.Round(it.ReadFloat64() * 1000))
		it.ReadArray()
		text := it.ReadStringAsSlice() // valid until the next read
		var v float64
		var err error
		if string(text) == staleText[1:len(staleText)-1] {
			v = math.Float64frombits(value.StaleNaN)
		} else if v, err = strconv.ParseFloat(unsafeString(text), 64); err != nil {
			err = fmt.Errorf("sample value %q: %w", string(text), errors.Unwrap(err))
		}
		if it.ReadArray() || it.Error != nil {
			return d.syntaxError(`a sample is not a [time, "value"] pair`)
		}
		if err != nil {
			return err
		}
		if len(d.samples) == d.maxPoints && d.maxPoints > 0 {
			return &extract.PointsError{Max: d.maxPoints}
		}
		d.samples = append(d.samples, extract.Sample{T: t, V: v})
	}
	return nil
}

// syntaxError is input that is not the JSON expected: the iterator's own
// error when it has one (input cut short says EOF), else msg.
func (d *decoder) syntaxError(msg string) *SyntaxError {
	switch {
	case d.it.Error != nil && d.it.Error != io.EOF:
		msg = d.it.Error.Error()
	case msg == "":
		msg = io.ErrUnexpectedEOF.Error()
	}
	e := &SyntaxError{Msg: msg, Offset: d.read.n}
	// The iterator tells its place only in its debugging text: "parsing
	// #<head> byte", head counting from the start of its buffer, which
	// holds what the last Read gave.
	head := len(d.read.last)
	if _, err := fmt.Sscanf(d.it.CurrentBuffer(), "parsing #%d byte", &head); err != nil || head > len(d.read.last) {
		head = len(d.read.last)
	}
	e.Line, e.Column = d.read.position(head)
	e.EOF = d.read.eof && head >= len(d.read.last)
	return e
}

// posReader counts what was read, and the lines before the last Read's
// bytes, to say where in the input a syntax error is.
type posReader struct {
	r         io.Reader
	n         int64  // bytes read
	last      []byte // the last Read's bytes: the iterator's buffer
	lines     int    // line breaks before last
	lineStart int64  // the offset after the last line break before last
	// last is emptied by a Read that gives nothing, the iterator's buffer
	// being unchanged then; a syntax error is at its end anyway.
	eof bool
}

func (p *posReader) Read(b []byte) (int, error) {
	// b is the iterator's buffer, which holds last: count its lines before
	// reading over it.
	if c := bytes.Count(p.last, []byte{'\n'}); c > 0 {
		p.lines += c
		p.lineStart = p.n - int64(len(p.last)) + int64(bytes.LastIndexByte(p.last, '\n')) + 1
	}
	p.last = p.last[:0]
	n, err := p.r.Read(b)
	p.n += int64(n)
	p.last = b[:n]
	if errors.Is(err, io.EOF) {
		p.eof = true
	}
	return n, err
}

// position gives the line and column (from 1) of the byte at head in the
// last Read's bytes; the column of a byte just read counts it.
func (p *posReader) position(head int) (line, col int) {
	before := p.last[:head]
	off := p.n - int64(len(p.last)) + int64(head)
	line = p.lines + bytes.Count(before, []byte{'\n'}) + 1
	start := p.lineStart
	if i := bytes.LastIndexByte(before, '\n'); i >= 0 {
		start = p.n - int64(len(p.last)) + int64(i) + 1
	}
	return line, int(off - start)
}

// unsafeString views b as a string without copying, for a parse that does
// not keep it.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
