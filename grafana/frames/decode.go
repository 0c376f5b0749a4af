// Package frames decodes the data frames of a Grafana /api/ds/query answer
// into Prometheus series: an io.Reader in, a Handler's calls out, no HTTP.
//
// It is written by hand, scanner and number parsing included, because the
// answer is the bulk of a recovery's work: millions of samples a body. The
// encoding/json-based decoder it replaced read about 4.5 million samples/s
// (scan.go says where its time went), and grafana-plugin-sdk-go's own frame
// decoding is slower still; this one reads 27 to 39 million samples/s on one
// core, 9x to 15x the SDK on the same body in the same run
// (BenchmarkDecodeStream, BenchmarkSDKDecode), and holds one frame, not the
// answer, in memory. Where the speed comes from is explained beside the
// code: scan.go (one pass over a fixed buffer), number.go (column loops,
// SWAR digits, Clinger's fast path) and float.go (Eisel-Lemire). Its
// strictness is encoding/json's: a fuzz target checks it against that
// previous decoder (ref_test.go).
package frames

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// Result is one refId's answer.
type Result struct {
	RefID       string
	Status      int    // the "status" member, 0 if absent
	Error       string // the "error" member: a failed refId
	ErrorSource string
	// Notices are the meta.notices of every frame (warnings), in order.
	Notices []Notice
	// ExecutedQueryString is that of the first frame that has one.
	ExecutedQueryString string
	// Unsupported has one line per frame that holds data but is not a float
	// time series (native histograms come as "heatmap-cells" frames),
	// saying which frame and why, so that nothing is dropped silently.
	Unsupported []string
}

// Notice is a message Grafana attaches to a frame, usually a warning.
type Notice struct {
	Severity string `json:"severity"`
	Text     string `json:"text"`
}

// Handler receives a /api/ds/query response as it is decoded.
type Handler interface {
	// Series is called for each series of a refId as soon as its frame has
	// been read (entities come after values, so a frame is the unit).
	// s.Samples may be reused after the call returns: keep a copy if needed.
	// s.Labels are the handler's to keep.
	Series(refID string, s extract.Series) error
	// Result is called once per refId after its frames, with everything but
	// the series (status, error, notices, executedQueryString, unsupported).
	// r is the handler's to keep.
	Result(r *Result) error
}

// RowLimiter is a Handler that bounds the rows of a refId's frames (see
// extract.MaxPoints): a frame with more (an answer that repeats
// timestamps) fails with an *extract.PointsError before its columns take
// more memory. 0 is no bound.
type RowLimiter interface {
	MaxRows(refID string) int
}

// Decode reads a /api/ds/query response body and hands it to h as it goes:
// each refId's series frame by frame, then the rest of its result. It reads
// the body in one pass through a fixed buffer, and holds no more than one
// frame's columns at a time (they are reused from frame to frame), so the
// memory it needs is set by the largest frame, not by the body.
//
// Errors name what is wrong and where (refId, frame, field, row). A body
// that ends early keeps io.ErrUnexpectedEOF and one that is not JSON a
// *SyntaxError in its chain, so the caller can tell a cut connection from
// an answer that makes no sense. An error returned by h stops decoding and
// is returned as is. Whatever h received before an error came from a body
// that did not decode.
func Decode(r io.Reader, h Handler) error {
	d := &decoder{h: h, lb: labels.NewScratchBuilder(8)}
	d.lb.SetUnsafeAdd(true) // label strings point into the frame's arena
	d.s = newScanner(r)
	defer d.s.release()
	err := d.body()
	if d.herr != nil {
		return d.herr
	}
	if err != nil && !d.s.eof {
		// A body damaged on the way (a corrupt gzip stream, a connection
		// cut) can look like one that makes no sense before the damage
		// shows, and that is retried where nonsense is not: read the rest,
		// so that the reader's error is seen by the caller and here.
		if rerr := d.s.drain(); rerr != nil {
			return fmt.Errorf("%w (reading the rest of the body: %w)", err, rerr)
		}
	}
	return err
}

// errHandler stands for d.herr on its way up.
var errHandler = errors.New("the handler failed")

type decoder struct {
	s    *scanner
	h    Handler
	herr error

	refID   string
	maxRows int // of refID's frames, 0 for any
	res     *Result
	f       frameState
	lb      labels.ScratchBuilder
	check   []extract.ReadLabel // a series' labels, checked before lb builds them
	tmp     []byte
}

func (d *decoder) body() error {
	s := d.s
	c, err := s.peek()
	if err != nil {
		return fmt.Errorf("reading the body: %w", err)
	}
	if c != '{' {
		return d.expected(c, '{', "the body")
	}
	s.pos++
	found := false
	for first := true; ; {
		more, err := s.member(&first)
		if err != nil {
			return fmt.Errorf("reading the body: %w", err)
		}
		if !more {
			break
		}
		if string(s.key) != "results" {
			if err := s.skip(); err != nil {
				return fmt.Errorf("member %q of the body: %w", s.key, err)
			}
			continue
		}
		if found {
			return errors.New(`the body has two "results" members`)
		}
		found = true
		if err := d.results(); err != nil {
			return err
		}
	}
	if !found {
		return errors.New(`the body has no "results" member`)
	}
	end, err := s.atEnd()
	switch {
	case err != nil:
		return fmt.Errorf("after the body: %w", err)
	case end:
		return nil
	}
	c = s.buf[s.pos]
	switch {
	case c == '{' || c == '[':
		return fmt.Errorf("the body is followed by %c", c)
	case valueStart(c):
		return fmt.Errorf("the body is followed by %s", describe(s.peekBytes(96)))
	}
	return fmt.Errorf("after the body: %w", s.notValue(s.pos, c))
}

// expected is the error for a value starting with c where the delimiter
// want should be.
func (d *decoder) expected(c, want byte, what string) error {
	if !valueStart(c) {
		return fmt.Errorf("reading %s: %w", what, d.s.notValue(d.s.pos, c))
	}
	found := string(c)
	if c != '[' && c != '{' {
		found = describe(d.s.peekBytes(96))
	}
	return fmt.Errorf("%s: expected \"%c\", found %s", what, want, found)
}

func (d *decoder) results() error {
	s := d.s
	c, err := s.peek()
	if err != nil {
		return fmt.Errorf(`reading "results": %w`, err)
	}
	if c != '{' {
		return d.expected(c, '{', `"results"`)
	}
	s.pos++
	var seen []string
	for first := true; ; {
		more, err := s.member(&first)
		if err != nil {
			return fmt.Errorf(`reading "results": %w`, err)
		}
		if !more {
			return nil
		}
		if slices.Contains(seen, string(s.key)) {
			return fmt.Errorf("refId %q appears twice in the results", s.key)
		}
		d.refID = string(s.key)
		seen = append(seen, d.refID)
		if rl, ok := d.h.(RowLimiter); ok {
			d.maxRows = rl.MaxRows(d.refID)
		}
		if err := d.result(); err != nil {
			if err == errHandler {
				return err
			}
			return fmt.Errorf("refId %q: %w", d.refID, err)
		}
	}
}

// result reads one refId's result and hands it to the handler.
func (d *decoder) result() error {
	s := d.s
	d.res = &Result{RefID: d.refID} // the handler may keep it
	c, err := s.peek()
	if err != nil {
		return err
	}
	if c == 'n' {
		if err := s.literal("null"); err != nil {
			return err
		}
		return d.handled(d.h.Result(d.res))
	}
	if c != '{' {
		return s.mismatch(c, "a result (an object)")
	}
	s.pos++
	framesSeen := false
	err = s.members(func() error {
		switch memberName(s.key, "status", "error", "errorSource", "frames") {
		case "status":
			v, ok, err := d.int("status")
			if ok {
				d.res.Status = int(v)
			}
			return err
		case "error":
			return d.string(&d.res.Error, "error")
		case "errorSource":
			return d.string(&d.res.ErrorSource, "errorSource")
		case "frames":
			return once(&framesSeen, "frames", d.frames)
		}
		return s.skip()
	})
	if err != nil {
		return err
	}
	return d.handled(d.h.Result(d.res))
}

// handled keeps an error of the handler for Decode to return as is.
func (d *decoder) handled(err error) error {
	if err != nil {
		d.herr = err
		return errHandler
	}
	return nil
}

// string reads a string (or null, which leaves *dst alone) into *dst.
func (d *decoder) string(dst *string, what string) error {
	var ok bool
	var err error
	if d.tmp, ok, err = d.text(d.tmp[:0], what); ok && err == nil {
		*dst = string(d.tmp)
	}
	return err
}

// int reads an integer; ok is false for null.
func (d *decoder) int(what string) (v int64, ok bool, err error) {
	s := d.s
	c, err := s.peek()
	if err != nil {
		return 0, false, err
	}
	if c == 'n' {
		return 0, false, s.literal("null")
	}
	if c != '-' && (c < '0' || c > '9') {
		return 0, false, within(what, s.mismatch(c, "an integer"))
	}
	lit, err := s.number()
	if err != nil {
		return 0, false, err
	}
	v, q, st := parseIntAt(lit, 0, true)
	if st != numOK || q != len(lit) {
		return 0, false, within(what, fmt.Errorf("cannot unmarshal number %s into an integer", lit))
	}
	return v, true, nil
}

func (d *decoder) frames() error {
	s := d.s
	if null, err := s.null(); err != nil || null {
		return err
	}
	if c, _ := s.peek(); c != '[' {
		return fmt.Errorf("frames: %w", s.mismatch(c, "an array of frames"))
	}
	s.pos++
	return s.elements(func(i int) error {
		if err := d.frame(i); err != nil {
			if err == errHandler {
				return err
			}
			return fmt.Errorf("%s: %w", d.f.frameName(), err)
		}
		return nil
	})
}
