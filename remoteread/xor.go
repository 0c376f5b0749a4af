package remoteread

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/promrecover/promrecover/extract"
)

// An XOR chunk is decoded here rather than through chunkenc's iterator:
// nearly every sample of a recovery is in one, and the iterator, behind an
// interface and three calls a sample, took half of the decoding time
// (docs/performance.md, "Remote read"). This reads the same format
// (tsdb/chunkenc/xor.go, docs/format/chunks.md in Prometheus) in one loop;
// TestXORMatchesChunkenc holds it to the iterator's results.

// errChunkCut is an XOR chunk whose data ends before its last sample does.
var errChunkCut = errors.New("an XOR chunk cut short: its data ends before its samples do")

// bitReader reads a chunk's bit stream, most significant bit first.
type bitReader struct {
	b   []byte
	pos uint // in bits
}

// peek returns the 64 bits from pos on, zeros past the end; at least the
// first 57 are the stream's.
func (r *bitReader) peek() uint64 {
	if i := r.pos >> 3; i+8 <= uint(len(r.b)) {
		return binary.BigEndian.Uint64(r.b[i:]) << (r.pos & 7)
	}
	return r.peekTail()
}

func (r *bitReader) peekTail() uint64 {
	var v uint64
	for i := r.pos >> 3; i < r.pos>>3+8; i++ {
		v <<= 8
		if i < uint(len(r.b)) {
			v |= uint64(r.b[i])
		}
	}
	return v << (r.pos & 7)
}

// read returns the next n bits, n <= 64.
func (r *bitReader) read(n uint8) uint64 {
	if n > 57 {
		return r.readLong(n)
	}
	v := r.peek() >> (64 - uint(n))
	r.pos += uint(n)
	return v
}

func (r *bitReader) readLong(n uint8) uint64 {
	hi := r.read(32)
	return hi<<(n-32) | r.read(n-32)
}

// cut reports whether a read went past the end of the stream.
func (r *bitReader) cut() bool { return r.pos > uint(len(r.b))*8 }

// xorState is what each sample is encoded against: the one before it.
type xorState struct {
	t                 int64
	tDelta            uint64
	v                 float64
	leading, trailing uint8
}

// xorSamples appends to out the samples of an XOR chunk's data (with its
// two-byte header) that are in [from, to).
func xorSamples(data []byte, from, to int64, out []extract.Sample) ([]extract.Sample, error) {
	if len(data) < 2 {
		return out, errChunkCut
	}
	n := int(binary.BigEndian.Uint16(data))
	r := bitReader{b: data[2:]}
	var s xorState
	for i := range n {
		if i >= 2 {
			s.next(&r)
		} else if !s.start(&r, i) {
			return out, errChunkCut
		}
		if s.t >= to {
			break
		}
		if s.t >= from {
			out = append(out, extract.Sample{T: s.t, V: s.v})
		}
	}
	if r.cut() {
		return out, errChunkCut
	}
	return out, nil
}

// start reads the first sample (i 0: a varint timestamp, 64 bits of
// value) or the second (i 1: a uvarint step, a value), both from a whole
// byte on; false if the varint is cut short.
func (s *xorState) start(r *bitReader, i int) bool {
	if i == 0 {
		t, k := binary.Varint(r.b)
		if k <= 0 {
			return false
		}
		r.pos = uint(k) * 8
		s.t, s.v = t, math.Float64frombits(r.read(64))
		return true
	}
	d, k := binary.Uvarint(r.b[min(r.pos>>3, uint(len(r.b))):])
	if k <= 0 {
		return false
	}
	r.pos += uint(k) * 8
	s.tDelta = d
	s.t += int64(d)
	s.value(r)
	return true
}

// next reads a sample after the second. The two most common ones are
// read from one peek: the same step and value ('0', '0'), and the same
// step with a value whose meaningful bits are where the last one's were
// ('0', '10', the bits), as a counter's are.
func (s *xorState) next(r *bitReader) {
	w := r.peek()
	if w>>62 == 0 {
		r.pos += 2
		s.t += int64(s.tDelta)
		return
	}
	if mbits := 64 - s.leading - s.trailing; w>>61 == 0b010 && mbits <= 54 {
		r.pos += 3 + uint(mbits)
		s.t += int64(s.tDelta)
		s.v = math.Float64frombits(math.Float64bits(s.v) ^ w<<3>>(64-uint(mbits))<<s.trailing)
		return
	}
	s.tDelta = uint64(int64(s.tDelta) + dod(r, w))
	s.t += int64(s.tDelta)
	s.value(r)
}

// dod reads a timestamp's delta of delta, w peeked at r: '0', or '10',
// '110', '1110' then 14, 17 or 20 bits, or '1111' then 64.
func dod(r *bitReader, w uint64) int64 {
	var bits uint64
	var sz uint8
	switch {
	case w>>63 == 0:
		r.pos++
		return 0
	case w>>62 == 0b10:
		sz, bits = 14, w>>48&(1<<14-1)
		r.pos += 16
	case w>>61 == 0b110:
		sz, bits = 17, w>>44&(1<<17-1)
		r.pos += 20
	case w>>60 == 0b1110:
		sz, bits = 20, w>>40&(1<<20-1)
		r.pos += 24
	default:
		r.pos += 4
		return int64(r.read(64))
	}
	// Negative values come back as high unsigned ones; chunkenc's test is
	// '>', not '>=', and so is this.
	if bits > 1<<(sz-1) {
		bits -= 1 << sz
	}
	return int64(bits)
}

// value reads a value XORed with the one before: '0' the same, '10' its
// meaningful bits where the previous one's were, '11' then 5 bits of
// leading zeros, 6 of meaningful bits (0 for 64) and the bits.
func (s *xorState) value(r *bitReader) {
	w := r.peek()
	if w>>63 == 0 {
		r.pos++
		return
	}
	mbits, ctl := 64-s.leading-s.trailing, uint(2)
	if w>>62 != 0b10 {
		s.leading, mbits = uint8(w>>57&31), uint8(w>>51&63)
		if mbits == 0 {
			mbits = 64
		}
		s.trailing = 64 - s.leading - mbits
		ctl = 13
	}
	// The bits are in w too when it holds them all, as it does for
	// all but full-precision values.
	var bits uint64
	if uint(mbits)+ctl <= 57 {
		bits = w << ctl >> (64 - uint(mbits))
		r.pos += ctl + uint(mbits)
	} else {
		r.pos += ctl
		bits = r.read(mbits)
	}
	s.v = math.Float64frombits(math.Float64bits(s.v) ^ bits<<s.trailing)
}
