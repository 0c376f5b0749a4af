package frames

import (
	"fmt"
	"io"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is the byte scanner under Decode: JSON read from an
// io.Reader through one fixed-size buffer, checked as strictly as
// encoding/json checks it, without allocating per value.
//
// Why not encoding/json: its Decoder buffers a whole value before decoding
// it (a refId's result is the whole answer), scans every byte twice (once
// to find the value's end, once to decode it), and can only tell a null
// from a number in a column by allocating per value. A CPU profile of the
// previous decoder over a realistic answer (BenchmarkDecodePrevious) put
// about half of the time in encoding/json's scanner (readValue, skip,
// stateN) and a sixth in copying and clearing the buffered result; it ran
// at about 4.5 million samples/s. Here each byte is looked at once, in
// place.

// SyntaxError reports a body that is not valid JSON. It plays the part of
// *json.SyntaxError (whose message cannot be set outside encoding/json): a
// caller tells a garbled body (worth another try) from a well-formed one that
// says something impossible by errors.As on this type. Its fields are
// exported so that another decoder of Grafana's answers can report its
// syntax errors the same way.
type SyntaxError struct {
	Msg    string // what is wrong, in encoding/json's words
	Offset int64  // bytes of the body read before the error
}

func (e *SyntaxError) Error() string {
	return e.Msg + " (at byte " + strconv.FormatInt(e.Offset, 10) + ")"
}

const (
	scanBufSize = 64 << 10
	// scanWindow is what the column loops keep in the buffer ahead of the
	// current value, so that a number is almost never cut by the buffer's
	// end (the longest shortest-form float64 is 24 bytes).
	scanWindow = 64
	// maxDepth is encoding/json's nesting limit.
	maxDepth = 10000
)

type scanner struct {
	r    io.Reader
	buf  []byte // unread input is buf[pos:end]
	pos  int
	end  int
	base int64 // offset in the body of buf[0]
	eof  bool  // r has no more to give (rerr says why if not io.EOF)
	rerr error

	// While capturing, everything consumed from capStart on is kept in
	// capBuf too (a frame's data member read before its schema).
	capturing bool
	capStart  int
	capBuf    []byte

	key   []byte // the member name read by member
	depth int

	// While reading labels: replaced says a decoded string had bytes that
	// are not UTF-8 (or a lone surrogate) turned into U+FFFD, and a string
	// longer than limit (0: none) is kept only up to limit+1 bytes, with
	// its whole decoded length in long, so that a huge value is refused
	// without being held.
	replaced bool
	limit    int
	long     int64
}

// scanBufs keeps read buffers between bodies: many answers are small.
var scanBufs = sync.Pool{New: func() any { return new([scanBufSize]byte) }}

func newScanner(r io.Reader) *scanner {
	return &scanner{r: r, buf: scanBufs.Get().(*[scanBufSize]byte)[:]}
}

// release returns the read buffer, unless it had to grow.
func (s *scanner) release() {
	if len(s.buf) == scanBufSize {
		scanBufs.Put((*[scanBufSize]byte)(s.buf))
	}
	s.buf = nil
}

// replayScanner reads b, bytes captured earlier from offset base.
func replayScanner(b []byte, base int64, key []byte) *scanner {
	return &scanner{buf: b, end: len(b), base: base, eof: true, key: key}
}

func (s *scanner) offset() int64 { return s.base + int64(s.pos) }

// fill tries to make need bytes available at pos and reports whether it
// could. It moves the unread bytes to the front of the buffer, so slices of
// the buffer taken before it are stale.
func (s *scanner) fill(need int) bool {
	if s.end-s.pos >= need {
		return true
	}
	if s.eof {
		return false
	}
	if s.capturing {
		s.capBuf = append(s.capBuf, s.buf[s.capStart:s.pos]...)
		s.capStart = 0
	}
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:s.end])
		s.base += int64(s.pos)
		s.end, s.pos = n, 0
	}
	if need > len(s.buf) { // a single token longer than the buffer
		nb := make([]byte, max(need, 2*len(s.buf)))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for empty := 0; s.end < need; {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.eof = true
			if err != io.EOF {
				s.rerr = err
			}
			break
		}
		if n == 0 {
			if empty++; empty > 100 {
				s.eof, s.rerr = true, io.ErrNoProgress
				break
			}
		}
	}
	return s.end-s.pos >= need
}

// drain reads the rest of the input and returns the reader's error, if
// it fails before the end.
func (s *scanner) drain() error {
	for empty := 0; !s.eof; {
		n, err := s.r.Read(s.buf)
		switch {
		case err == io.EOF:
			s.eof = true
		case err != nil:
			s.eof, s.rerr = true, err
		case n == 0:
			if empty++; empty > 100 {
				return io.ErrNoProgress
			}
		}
	}
	return s.rerr
}

func (s *scanner) startCapture() {
	s.capturing, s.capStart, s.capBuf = true, s.pos, s.capBuf[:0]
}

func (s *scanner) stopCapture() []byte {
	s.capBuf = append(s.capBuf, s.buf[s.capStart:s.pos]...)
	s.capturing = false
	return s.capBuf
}

// errEnd is the error for input that stops inside a value: the reader's
// error, or io.ErrUnexpectedEOF.
func (s *scanner) errEnd() error {
	if s.rerr != nil {
		return fmt.Errorf("reading the body at byte %d: %w", s.offset(), s.rerr)
	}
	return fmt.Errorf("%w at byte %d", io.ErrUnexpectedEOF, s.offset())
}

func (s *scanner) syntaxAt(pos int, format string, args ...any) error {
	return &SyntaxError{Msg: fmt.Sprintf(format, args...), Offset: s.base + int64(pos)}
}

// quoteChar formats c as encoding/json does in its syntax errors.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	q := strconv.Quote(string(rune(c)))
	return "'" + q[1:len(q)-1] + "'"
}

var isSpace = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// peek skips white space and returns the next byte, not consuming it.
func (s *scanner) peek() (byte, error) {
	for {
		for s.pos < s.end {
			c := s.buf[s.pos]
			if !isSpace[c] {
				return c, nil
			}
			s.pos++
		}
		if !s.fill(1) {
			return 0, s.errEnd()
		}
	}
}

// atEnd skips white space and reports whether the input is over.
func (s *scanner) atEnd() (bool, error) {
	for {
		for s.pos < s.end {
			if !isSpace[s.buf[s.pos]] {
				return false, nil
			}
			s.pos++
		}
		if !s.fill(1) {
			if s.rerr != nil {
				return false, s.errEnd()
			}
			return true, nil
		}
	}
}

// notValue is the error, worded as encoding/json's, for c at pos where a
// value should begin.
func (s *scanner) notValue(pos int, c byte) error {
	return s.syntaxAt(pos, "invalid character %s looking for beginning of value", quoteChar(c))
}

// badNumber is the error for the byte at q, which breaks a number.
func (s *scanner) badNumber(q int) error {
	return s.syntaxAt(q, "invalid character %s in numeric literal", quoteChar(s.buf[q]))
}

// valueStart reports whether c can begin a JSON value.
func valueStart(c byte) bool {
	switch c {
	case '{', '[', '"', 't', 'f', 'n', '-':
		return true
	}
	return '0' <= c && c <= '9'
}

// jsonKind names the kind of value starting with c, as encoding/json's
// "cannot unmarshal" errors do.
func jsonKind(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// mismatch is the error for a value starting with c where want was
// expected: a syntax error if c starts no value at all.
func (s *scanner) mismatch(c byte, want string) error {
	if !valueStart(c) {
		return s.notValue(s.pos, c)
	}
	return fmt.Errorf("cannot unmarshal %s into %s", jsonKind(c), want)
}

// null consumes a null if one is next and reports whether it did.
func (s *scanner) null() (bool, error) {
	c, err := s.peek()
	if err != nil || c != 'n' {
		return false, err
	}
	return true, s.literal("null")
}

// literal consumes lit (true, false or null), which starts at pos.
func (s *scanner) literal(lit string) error {
	s.fill(len(lit))
	for i := 1; i < len(lit); i++ {
		if s.pos+i >= s.end {
			s.pos = s.end
			return s.errEnd()
		}
		if c := s.buf[s.pos+i]; c != lit[i] {
			return s.syntaxAt(s.pos+i, "invalid character %s in literal %s (expecting %s)", quoteChar(c), lit, quoteChar(lit[i]))
		}
	}
	s.pos += len(lit)
	return nil
}

// member reads the next member name of an object whose '{' has been
// consumed into s.key, and the ':' after it. It returns false at the
// closing '}'. first is true before the first member.
func (s *scanner) member(first *bool) (bool, error) { return s.nextKey(first, true) }

// skipKey is member without keeping the name.
func (s *scanner) skipKey(first *bool) (bool, error) { return s.nextKey(first, false) }

// nextKey is member; keep says whether the name is decoded into s.key
// (skip only checks it).
func (s *scanner) nextKey(first *bool, keep bool) (bool, error) {
	c, err := s.peek()
	if err != nil {
		return false, err
	}
	if c == '}' && *first {
		s.pos++
		return false, nil
	}
	if !*first {
		switch c {
		case '}':
			s.pos++
			return false, nil
		case ',':
			s.pos++
		default:
			return false, s.syntaxAt(s.pos, "invalid character %s after object key:value pair", quoteChar(c))
		}
		if c, err = s.peek(); err != nil {
			return false, err
		}
	}
	*first = false
	if c != '"' {
		return false, s.syntaxAt(s.pos, "invalid character %s looking for beginning of object key string", quoteChar(c))
	}
	if keep {
		s.key, err = s.str(s.key[:0], true)
	} else {
		_, err = s.str(nil, false)
	}
	if err != nil {
		return false, err
	}
	if c, err = s.peek(); err != nil {
		return false, err
	}
	if c != ':' {
		return false, s.syntaxAt(s.pos, "invalid character %s after object key", quoteChar(c))
	}
	s.pos++
	return true, nil
}

// element moves to the next element of an array whose '[' has been
// consumed, returning false at the closing ']'.
func (s *scanner) element(first *bool) (bool, error) {
	c, err := s.peek()
	if err != nil {
		return false, err
	}
	if *first {
		*first = false
		if c == ']' {
			s.pos++
			return false, nil
		}
		return true, nil
	}
	switch c {
	case ']':
		s.pos++
		return false, nil
	case ',':
		s.pos++
		return true, nil
	}
	return false, s.syntaxAt(s.pos, "invalid character %s after array element", quoteChar(c))
}

// skip consumes one value of any kind, checking its syntax.
func (s *scanner) skip() error {
	c, err := s.peek()
	if err != nil {
		return err
	}
	switch c {
	case '{', '[':
		if s.depth++; s.depth > maxDepth {
			return s.syntaxAt(s.pos, "exceeded max depth")
		}
		s.pos++
		first := true
		for {
			var more bool
			if c == '{' {
				more, err = s.skipKey(&first)
			} else {
				more, err = s.element(&first)
			}
			if err != nil {
				return err
			}
			if !more {
				break
			}
			if err := s.skip(); err != nil {
				return err
			}
		}
		s.depth--
		return nil
	case '"':
		_, err := s.str(nil, false)
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	}
	if c == '-' || '0' <= c && c <= '9' {
		_, err := s.number()
		return err
	}
	return s.notValue(s.pos, c)
}

// number consumes a number at pos and returns its literal, valid until the
// next call that reads input.
func (s *scanner) number() ([]byte, error) {
	for {
		n, bad, more := scanNumber(s.buf[s.pos:s.end], s.eof)
		switch {
		case more && s.eof:
			s.pos = s.end
			return nil, s.errEnd()
		case more:
			s.fill(s.end - s.pos + 1)
		case bad >= 0:
			return nil, s.badNumber(s.pos + bad)
		default:
			lit := s.buf[s.pos : s.pos+n]
			s.pos += n
			return lit, nil
		}
	}
}

// scanNumber finds the JSON number at the start of b: its length, or the
// index of a byte that breaks the grammar (bad, else -1), or more when b
// ends before the number can be known to end and atEOF is false. At the end
// of the input, a number missing digits is reported as more too.
func scanNumber(b []byte, atEOF bool) (n, bad int, more bool) {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() (ok bool) {
		start := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if i == len(b) {
		return i, -1, true
	}
	switch {
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		digits()
	default:
		return i, i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			if i == len(b) {
				return i, -1, true
			}
			return i, i, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			if i == len(b) {
				return i, -1, true
			}
			return i, i, false
		}
	}
	if i == len(b) && !atEOF {
		return i, -1, true
	}
	return i, -1, false
}

// str consumes the string at pos. With decode it appends the string's
// value to dst the way encoding/json decodes into a Go string: escapes
// resolved, a surrogate pair joined, and a lone surrogate or a byte that is
// not UTF-8 turned into U+FFFD.
func (s *scanner) str(dst []byte, decode bool) ([]byte, error) {
	s.pos++ // the opening quote
	start := len(dst)
	for {
		dst = s.bound(dst, start)
		b := s.buf[s.pos:s.end]
		i := 0
		if decode {
			for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= ' ' && b[i] < utf8.RuneSelf {
				i++
			}
			dst = append(dst, b[:i]...)
		} else {
			for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= ' ' {
				i++
			}
		}
		s.pos += i
		if i == len(b) {
			if !s.fill(1) {
				return dst, s.errEnd()
			}
			continue
		}
		switch c := b[i]; {
		case c == '"':
			s.pos++
			if dst = s.bound(dst, start); s.long > 0 {
				s.long += int64(len(dst) - start)
			}
			return dst, nil
		case c < ' ':
			return dst, s.syntaxAt(s.pos, "invalid character %s in string literal", quoteChar(c))
		case c == '\\':
			var err error
			if dst, err = s.escape(dst, decode); err != nil {
				return dst, err
			}
		default: // not ASCII, when decoding
			s.fill(utf8.UTFMax)
			r, size := utf8.DecodeRune(s.buf[s.pos:s.end])
			switch {
			case r == utf8.RuneError && size == 1 && s.limit > 0:
				// A label keeps the byte, for its error to show.
				s.replaced = true
				dst = append(dst, s.buf[s.pos])
			case r == utf8.RuneError && size == 1:
				dst = utf8.AppendRune(dst, utf8.RuneError)
			default:
				dst = append(dst, s.buf[s.pos:s.pos+size]...)
			}
			s.pos += size
		}
	}
}

// bound cuts the string being decoded from dst[start:] to limit+1 bytes,
// counting in long what it drops.
func (s *scanner) bound(dst []byte, start int) []byte {
	if s.limit > 0 && len(dst)-start > s.limit {
		s.long += int64(len(dst) - start - s.limit - 1)
		dst = dst[:start+s.limit+1]
	}
	return dst
}

// escape consumes the escape sequence at pos.
func (s *scanner) escape(dst []byte, decode bool) ([]byte, error) {
	s.fill(12) // room for a surrogate pair
	if s.pos+1 >= s.end {
		s.pos = s.end
		return dst, s.errEnd()
	}
	var out byte
	switch c := s.buf[s.pos+1]; c {
	case '"', '\\', '/':
		out = c
	case 'b':
		out = '\b'
	case 'f':
		out = '\f'
	case 'n':
		out = '\n'
	case 'r':
		out = '\r'
	case 't':
		out = '\t'
	case 'u':
		r, err := s.hex4(s.pos + 2)
		if err != nil {
			return dst, err
		}
		s.pos += 6
		if !decode {
			return dst, nil
		}
		if utf16.IsSurrogate(r) {
			// A pair if a \u escape of the other half follows; a bad
			// escape there is left to the next round to report.
			if s.pos+6 <= s.end && s.buf[s.pos] == '\\' && s.buf[s.pos+1] == 'u' {
				if r2, ok := hex4(s.buf[s.pos+2 : s.pos+6]); ok {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						s.pos += 6
						return utf8.AppendRune(dst, dec), nil
					}
				}
			}
			r = utf8.RuneError
			s.replaced = true
		}
		return utf8.AppendRune(dst, r), nil
	default:
		return dst, s.syntaxAt(s.pos+1, "invalid character %s in string escape code", quoteChar(c))
	}
	s.pos += 2
	if decode {
		dst = append(dst, out)
	}
	return dst, nil
}

// hex4 reads the four hex digits of a \u escape at p.
func (s *scanner) hex4(p int) (rune, error) {
	for i := p; i < p+4; i++ {
		if i >= s.end {
			s.pos = s.end
			return 0, s.errEnd()
		}
		if _, ok := hexVal(s.buf[i]); !ok {
			return 0, s.syntaxAt(i, "invalid character %s in \\u hexadecimal character escape", quoteChar(s.buf[i]))
		}
	}
	r, _ := hex4(s.buf[p : p+4])
	return r, nil
}

func hex4(b []byte) (rune, bool) {
	var r rune
	for _, c := range b[:4] {
		v, ok := hexVal(c)
		if !ok {
			return 0, false
		}
		r = r<<4 | v
	}
	return r, true
}

func hexVal(c byte) (rune, bool) {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0'), true
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10), true
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10), true
	}
	return 0, false
}

// peekBytes returns up to n bytes from pos without consuming them, for
// error messages; the slice is a copy.
func (s *scanner) peekBytes(n int) []byte {
	s.fill(n)
	return append([]byte(nil), s.buf[s.pos:min(s.end, s.pos+n)]...)
}

// members calls fn for each member of an object whose '{' has been
// consumed, with its name in s.key.
func (s *scanner) members(fn func() error) error {
	for first := true; ; {
		more, err := s.member(&first)
		if err != nil || !more {
			return err
		}
		if err := fn(); err != nil {
			return err
		}
	}
}

// elements is members for an array: fn gets the element's index.
func (s *scanner) elements(fn func(i int) error) error {
	for i, first := 0, true; ; i++ {
		more, err := s.element(&first)
		if err != nil || !more {
			return err
		}
		if err := fn(i); err != nil {
			return err
		}
	}
}
