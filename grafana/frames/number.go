package frames

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"unsafe"

	"github.com/promrecover/promrecover/extract"
)

// The hot path of Decode: data.values columns, millions of numbers per
// answer. Each column is read by a loop (floatColumn, timeColumn) that works
// on the scanner's buffer directly, keeps scanWindow bytes ahead so that a
// number is never cut by the buffer's end, and checks and converts each
// number in one pass.
//
// Numbers are converted exactly. The shapes Grafana writes take the fast
// paths at the end of this file (fastInt, fastFloat); everything else, and
// every malformed number, goes through parseIntAt and parseFloatAt. A
// decimal mantissa of at most 19 digits is converted by Clinger's fast path
// when it and the power of ten are exact in a float64 (one correctly
// rounded IEEE multiplication or division), else by Eisel-Lemire
// (float.go); only what both decline goes to strconv.ParseFloat, on
// the bytes in place. float_test.go checks every path against
// strconv.

// Outcomes of parsing a number in a column.
const (
	numOK     = iota
	numMore   // the buffer ends before the number is known to end
	numSyntax // the grammar breaks at the returned index
	numNotInt // a valid number that is not an int64 (timestamps)
	numRange  // strconv refused the value (out of range)
)

// pow10 holds the powers of ten that are exact in a float64.
var pow10 = [23]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseFloatAt parses the JSON number at b[p:] with the precision bits (64,
// or 32 for a float32 field). It returns the value, the index after the
// number (or of the byte that breaks the grammar) and an outcome; err is
// strconv's for numRange.
func parseFloatAt(b []byte, p int, atEOF bool, bits int) (float64, int, int, error) {
	start := p
	neg := false
	if b[p] == '-' {
		neg = true
		p++
	}
	var mant uint64
	nd := 0 // digits in mant, leading zeros of a fraction included
	if p == len(b) {
		return 0, p, numMore, nil
	}
	switch c := b[p]; {
	case c == '0':
		p++
	case '1' <= c && c <= '9':
		mant, nd, p = digitRun(b, p, 0, 0)
	default:
		return 0, p, numSyntax, nil
	}
	exp := 0
	if p < len(b) && b[p] == '.' {
		p++
		fs := p
		mant, nd, p = digitRun(b, p, mant, nd)
		if p == fs {
			if p == len(b) {
				return 0, p, numMore, nil
			}
			return 0, p, numSyntax, nil
		}
		exp = fs - p
	}
	if p < len(b) && b[p]|0x20 == 'e' {
		p++
		eneg := false
		if p < len(b) && (b[p] == '+' || b[p] == '-') {
			eneg = b[p] == '-'
			p++
		}
		es, e := p, 0
		for ; p < len(b); p++ {
			d := b[p] - '0'
			if d > 9 {
				break
			}
			if e < 10000 {
				e = e*10 + int(d)
			}
		}
		if p == es {
			if p == len(b) {
				return 0, p, numMore, nil
			}
			return 0, p, numSyntax, nil
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if p == len(b) && !atEOF {
		return 0, p, numMore, nil
	}
	if nd <= 19 { // mant is exact
		if v, ok := exactFloat(mant, exp, neg, bits); ok {
			return v, p, numOK, nil
		}
	}
	v, err := strconv.ParseFloat(unsafeString(b[start:p]), bits)
	if err != nil {
		// The error's Num would point into the buffer: copy it.
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			err = &strconv.NumError{Func: ne.Func, Num: string(b[start:p]), Err: ne.Err}
		}
		return 0, p, numRange, err
	}
	return v, p, numOK, nil
}

// exactFloat converts (-1 if neg) mant*10^exp, mant exact, without
// strconv: by Clinger's fast path, then for a float64 by Eisel-Lemire. It
// reports false where both decline.
func exactFloat(mant uint64, exp int, neg bool, bits int) (float64, bool) {
	v, ok := 0.0, false
	switch {
	case mant > 1<<53:
	case bits == 32:
		// Every integer up to 2^24 is exact in a float32.
		v, ok = float64(mant), exp == 0 && mant <= 1<<24
	case exp == 0:
		v, ok = float64(mant), true
	case 0 < exp && exp <= 22:
		v, ok = float64(mant)*pow10[exp], true
	case -22 <= exp && exp < 0:
		v, ok = float64(mant)/pow10[-exp], true
	}
	if ok {
		if neg {
			v = -v
		}
		return v, true
	}
	if bits == 64 {
		return eiselLemire64(mant, exp, neg)
	}
	return 0, false
}

// parseIntAt parses the JSON number at b[p:] as an int64, for timestamps.
// For numNotInt the returned index is the number's end. Its start repeats
// parseFloatAt's: shared, it does not inline, and the call per number
// showed in BenchmarkDecodeStream.
func parseIntAt(b []byte, p int, atEOF bool) (int64, int, int) {
	start := p
	neg := false
	if b[p] == '-' {
		neg = true
		p++
	}
	var u uint64
	nd := 0
	if p == len(b) {
		return 0, p, numMore
	}
	switch c := b[p]; {
	case c == '0':
		p++
	case '1' <= c && c <= '9':
		u, nd, p = digitRun(b, p, 0, 0)
	default:
		return 0, p, numSyntax
	}
	if p < len(b) && (b[p] == '.' || b[p]|0x20 == 'e') {
		n, bad, more := scanNumber(b[start:], atEOF)
		switch {
		case more:
			return 0, start + n, numMore
		case bad >= 0:
			return 0, start + bad, numSyntax
		}
		return 0, start + n, numNotInt
	}
	if p == len(b) && !atEOF {
		return 0, p, numMore
	}
	if nd > 18 { // may not fit: let strconv decide
		v, err := strconv.ParseInt(unsafeString(b[start:p]), 10, 64)
		if err != nil {
			return 0, p, numNotInt
		}
		return v, p, numOK
	}
	if neg {
		return -int64(u), p, numOK
	}
	return int64(u), p, numOK
}

// digitRun adds the run of digits at b[p:] to u (u*10^k + the run's value,
// wrapping past 19 digits) and nd (k), and returns them with the index
// after the run.
func digitRun(b []byte, p int, u uint64, nd int) (uint64, int, int) {
	for ; p < len(b); p++ {
		d := b[p] - '0'
		if d > 9 {
			break
		}
		u = u*10 + uint64(d)
		nd++
	}
	return u, nd, p
}

// unsafeString views b as a string, for calls that do not keep it.
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// lexicalError records, as the first error of a column, a value at pos
// that is neither a number nor null. Its text is taken from the input there
// and cut at the column's end later (finishColumn).
func (s *scanner) lexicalError(c *column, row int) {
	if c.err.set {
		return
	}
	c.err = colError{set: true, row: row, rank: rankLexical, start: s.offset(), lit: s.peekBytes(96)}
}

// finishColumn ends a column at the current position: the text of a
// lexical error is cut at the column's end, as the previous decoder's
// messages were.
func (s *scanner) finishColumn(c *column) {
	if c.err.set && c.err.rank == rankLexical && c.err.msg == "" {
		if n := s.offset() - c.err.start; int64(len(c.err.lit)) > n {
			c.err.lit = c.err.lit[:n]
		}
		c.err.msg = fmt.Sprintf("the value is %s, not a number or null", describe(c.err.lit))
	}
}

// afterElement reads what follows an element of a column at p (white
// space, the end of the buffer): more is false after the closing ']'. The
// column loops handle a plain ',' themselves.
func (s *scanner) afterElement(p int) (more bool, err error) {
	s.pos = p
	first := false
	return s.element(&first)
}

// emptyColumn consumes the ']' of an empty column, if that is what is next.
func (s *scanner) emptyColumn() (bool, error) {
	c, err := s.peek()
	if err != nil || c != ']' {
		return false, err
	}
	s.pos++
	return true, nil
}

// checkRows is the error of a column of rows rows over the refId's bound.
// The column loops ask when they refill the buffer, not at every row, so
// a column goes past the bound by at most a buffer of values.
func (d *decoder) checkRows(rows int) error {
	if d.maxRows > 0 && rows > d.maxRows {
		return &extract.PointsError{Max: d.maxRows}
	}
	return nil
}

// refill moves pos to p and fills the buffer, for the column loops.
func (s *scanner) refill(p int) ([]byte, int) {
	s.pos = p
	s.fill(scanWindow)
	return s.buf[:s.end], s.pos
}

// floatColumn reads the elements of a number column into c.samples (T
// from times when they are already known), noting nulls and the first
// error. One element per round: the common case (a number, then a ',') is
// straight-line code on the buffer.
func (d *decoder) floatColumn(c *column, times []int64) error {
	s := d.s
	c.samples, c.nulls, c.n = c.samples[:0], c.nulls[:0], 0
	if empty, err := s.emptyColumn(); empty || err != nil {
		return err
	}
	samples, nulls := c.samples, c.nulls
	row := 0
	b, p := s.buf[:s.end], s.pos
	for {
		if len(b)-p < scanWindow && !s.eof {
			if err := d.checkRows(row); err != nil {
				return err
			}
			b, p = s.refill(p)
		}
		if p == len(b) || isSpace[b[p]] {
			s.pos = p
			if _, err := s.peek(); err != nil {
				return err
			}
			b, p = s.buf[:s.end], s.pos
			continue
		}
		var t int64
		if row < len(times) {
			t = times[row]
		}
		switch ch := b[p]; {
		case ch-'0' <= 9 || ch == '-':
			if c.bits == 64 && len(b)-p >= fastMin {
				if v, q, ok := fastFloat(b, p); ok {
					samples = append(samples, extract.Sample{T: t, V: v})
					p = q
					break
				}
			}
			v, q, st, err := parseFloatAt(b, p, s.eof, c.bits)
			switch st {
			case numMore:
				if s.eof {
					s.pos = len(b)
					return s.errEnd()
				}
				s.pos = p
				s.fill(len(b) - p + 1) // a number longer than the window
				b, p = s.buf[:s.end], s.pos
				continue
			case numSyntax:
				return s.syntaxAt(q, "invalid character %s in numeric literal", quoteChar(b[q]))
			case numRange:
				if !c.err.set {
					c.err = colError{set: true, row: row, rank: rankRange, err: err}
				}
			}
			samples = append(samples, extract.Sample{T: t, V: v})
			p = q
		case ch == 'n':
			s.pos = p
			if err := s.literal("null"); err != nil {
				return err
			}
			b, p = s.buf[:s.end], s.pos
			nulls = append(nulls, int32(row))
			samples = append(samples, extract.Sample{T: t})
		default:
			if !valueStart(ch) {
				return s.syntaxAt(p, "invalid character %s looking for beginning of value", quoteChar(ch))
			}
			s.pos = p
			s.lexicalError(c, row)
			if err := s.skip(); err != nil {
				return err
			}
			b, p = s.buf[:s.end], s.pos
			samples = append(samples, extract.Sample{T: t})
		}
		row++
		if p < len(b) && b[p] == ',' {
			p++
			continue
		}
		more, err := s.afterElement(p)
		if err != nil {
			return err
		}
		if !more {
			c.samples, c.nulls, c.n = samples, nulls, row
			s.finishColumn(c)
			return d.checkRows(row)
		}
		b, p = s.buf[:s.end], s.pos
	}
}

// timeColumn reads the elements of the time column into d.f.times, as
// floatColumn does. Its loop is a copy of floatColumn's, rare number cases
// included: sharing the loop through a func or a type parameter costs a
// call per value, and moving even the rare cases into shared helpers cost
// about 3% in BenchmarkDecodeStream. Only elements that are not numbers
// (notTime) are read out of line; they never come in Grafana's answers.
func (d *decoder) timeColumn(c *column) error {
	s := d.s
	d.f.times, c.n = d.f.times[:0], 0
	if empty, err := s.emptyColumn(); empty || err != nil {
		return err
	}
	times := d.f.times
	row := 0
	// The first eight bytes of the last timestamp read fast, and their
	// value; this start is a valid pair.
	prev8, prevVal := le64([]byte("11111111")), uint64(11111111)
	b, p := s.buf[:s.end], s.pos
	for {
		if len(b)-p < scanWindow && !s.eof {
			if err := d.checkRows(row); err != nil {
				return err
			}
			b, p = s.refill(p)
		}
		if p == len(b) || isSpace[b[p]] {
			s.pos = p
			if _, err := s.peek(); err != nil {
				return err
			}
			b, p = s.buf[:s.end], s.pos
			continue
		}
		switch ch := b[p]; {
		case ch-'0' <= 9 || ch == '-':
			if len(b)-p >= fastMin {
				// Timestamps of 9 to 15 digits, the first eight of
				// which mostly repeat from row to row: their value is
				// kept, so a timestamp usually costs one conversion.
				if v1 := le64(b[p:]); v1 == prev8 || swarNonDigits(v1) == 0 && ch != '0' {
					if v1 != prev8 {
						prev8, prevVal = v1, swar8(v1)
					}
					v2 := le64(b[p+8:])
					k := bits.TrailingZeros64(swarNonDigits(v2)) >> 3
					if k < 8 {
						if c := b[p+8+k]; c != '.' && c|0x20 != 'e' {
							times = append(times, int64(prevVal*pow10u[k]+swarK(v2, k)))
							p += 8 + k
							break
						}
					}
				}
				if v, q, ok := fastInt(b, p); ok {
					times = append(times, v)
					p = q
					break
				}
			}
			v, q, st := parseIntAt(b, p, s.eof)
			switch st {
			case numMore:
				if s.eof {
					s.pos = len(b)
					return s.errEnd()
				}
				s.pos = p
				s.fill(len(b) - p + 1)
				b, p = s.buf[:s.end], s.pos
				continue
			case numSyntax:
				return s.syntaxAt(q, "invalid character %s in numeric literal", quoteChar(b[q]))
			case numNotInt:
				if !c.err.set {
					c.err = colError{set: true, row: row, msg: fmt.Sprintf("timestamp %s is not an integer number of milliseconds", b[p:q])}
				}
			}
			times = append(times, v)
			p = q
		default:
			s.pos = p
			if err := s.notTime(c, ch, row); err != nil {
				return err
			}
			b, p = s.buf[:s.end], s.pos
			times = append(times, 0)
		}
		row++
		if p < len(b) && b[p] == ',' {
			p++
			continue
		}
		more, err := s.afterElement(p)
		if err != nil {
			return err
		}
		if !more {
			d.f.times, c.n = times, row
			s.finishColumn(c)
			return d.checkRows(row)
		}
		b, p = s.buf[:s.end], s.pos
	}
}

// notTime reads, at s.pos, an element of the time column that is not a
// number (ch is its first byte): a null, or a value of another type, either
// noted as the column's first error.
func (s *scanner) notTime(c *column, ch byte, row int) error {
	if ch == 'n' {
		if err := s.literal("null"); err != nil {
			return err
		}
		if !c.err.set {
			c.err = colError{set: true, row: row, msg: "null timestamp"}
		}
		return nil
	}
	if !valueStart(ch) {
		return s.syntaxAt(s.pos, "invalid character %s looking for beginning of value", quoteChar(ch))
	}
	s.lexicalError(c, row)
	return s.skip()
}

// The fast paths below read numbers eight bytes at a time (SWAR, as
// simdjson and fast_float do). A profile of the digit-by-digit loops put
// them at about a third of the decoding time: a timestamp has 13 digits,
// and each step waits for the previous multiply-add. Here a run of up to 15
// digits takes two loads, a check of all eight bytes at once, and three
// multiplications per eight digits. They handle the shapes Grafana writes
// (timestamps; values of up to 19 significant digits without exponent) and
// leave everything else, including every malformed number, to
// parseIntAt and parseFloatAt.

// fastMin is how many bytes from p the fast paths may read.
const fastMin = 40

// pow10u holds the powers of ten up to 1e15.
var pow10u = [16]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// swarNonDigits has a non-zero byte where v has a byte that is not an
// ASCII digit: exactly, up to the first such byte (the carry of the
// addition may garble the bytes after it, which are not used).
func swarNonDigits(v uint64) uint64 {
	return (v&0xF0F0F0F0F0F0F0F0 | (v+0x0606060606060606)&0xF0F0F0F0F0F0F0F0>>4) ^ 0x3333333333333333
}

// swar8 is the value of the 8 ASCII digits in v (the first in the lowest
// byte): pairs, then fours, then all eight combined by multiplication.
func swar8(v uint64) uint64 {
	v -= 0x3030303030303030
	v = v*10 + v>>8
	return ((v&0x000000FF000000FF)*(100+1000000<<32) + (v>>16&0x000000FF000000FF)*(1+10000<<32)) >> 32
}

// swarK is the value of the first k (<= 8) ASCII digits in v: they are
// moved to the top and the bytes below filled with '0'.
func swarK(v uint64, k int) uint64 {
	sh := uint(8-k) * 8
	return swar8(v<<sh | 0x3030303030303030>>(64-sh))
}

// swarRun returns the value and the length of the run of digits at b[q:],
// or false if it is longer than 15. b must hold 16 bytes from q.
func swarRun(b []byte, q int) (uint64, int, bool) {
	v1 := le64(b[q:])
	k := bits.TrailingZeros64(swarNonDigits(v1)) >> 3
	if k < 8 {
		return swarK(v1, k), k, true
	}
	v2 := le64(b[q+8:])
	k = bits.TrailingZeros64(swarNonDigits(v2)) >> 3
	if k == 8 {
		return 0, 0, false
	}
	return swar8(v1)*pow10u[k] + swarK(v2, k), 8 + k, true
}

// fastInt parses a non-negative integer of up to 15 digits at b[p:] (b
// holds fastMin bytes from p), or returns false.
func fastInt(b []byte, p int) (int64, int, bool) {
	v, n, ok := swarRun(b, p)
	if !ok || n == 0 || b[p] == '0' && n > 1 {
		return 0, p, false
	}
	if c := b[p+n]; c == '.' || c|0x20 == 'e' {
		return 0, p, false
	}
	return int64(v), p + n, true
}

// fastFloat parses a float64 of up to 15 integer and 15 fraction digits,
// 19 in all, without exponent, at b[p:] (b holds fastMin bytes from p), or
// returns false. The digits make an integer mantissa; with at most 2^53 it
// is exact in a float64, as is 10^k for k <= 22, so one division gives the
// correctly rounded value (Clinger's fast path, strconv's own first step).
// A longer mantissa goes to strconv.ParseFloat, sparing it only the search
// for the number's end.
func fastFloat(b []byte, p int) (float64, int, bool) {
	q := p
	neg := b[q] == '-'
	if neg {
		q++
	}
	mant, n, ok := swarRun(b, q)
	if !ok || n == 0 || b[q] == '0' && n > 1 {
		return 0, p, false
	}
	q += n
	fd := 0
	if b[q] == '.' {
		frac, m, ok := swarRun(b, q+1)
		if !ok || m == 0 || n+m > 19 {
			return 0, p, false
		}
		mant = mant*pow10u[m] + frac
		fd = m
		q += 1 + m
	}
	if b[q]|0x20 == 'e' {
		return 0, p, false
	}
	if mant > 1<<53 {
		if v, ok := eiselLemire64(mant, -fd, neg); ok {
			return v, q, true
		}
		v, err := strconv.ParseFloat(unsafeString(b[p:q]), 64)
		return v, q, err == nil
	}
	v := float64(mant)
	if fd > 0 {
		v /= pow10[fd]
	}
	if neg {
		v = -v
	}
	return v, q, true
}
