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

// peek returns the 64 bits of b from bit pos on, zeros past the end; at
// least the first 57 are b's.
func peek(b []byte, pos uint) uint64 {
	if i := pos >> 3; i+8 <= uint(len(b)) {
		return binary.BigEndian.Uint64(b[i:]) << (pos & 7)
	}
	return peekTail(b, pos)
}

func peekTail(b []byte, pos uint) uint64 {
	var v uint64
	for i := pos >> 3; i < pos>>3+8; i++ {
		v <<= 8
		if i < uint(len(b)) {
			v |= uint64(b[i])
		}
	}
	return v << (pos & 7)
}

// read returns the n bits of b from bit pos on, n <= 64.
func read(b []byte, pos uint, n uint8) uint64 {
	if n <= 57 {
		return peek(b, pos) >> (64 - uint(n))
	}
	return peek(b, pos)>>32<<(n-32) | peek(b, pos+32)>>(96-uint(n))
}

// xorSamples appends to out the samples of an XOR chunk's data (with its
// two-byte header) that are in [from, to): the first sample is a varint
// timestamp and 64 bits of value, the rest are read by xorRest.
func xorSamples(data []byte, from, to int64, out []extract.Sample) ([]extract.Sample, error) {
	if len(data) < 2 {
		return out, errChunkCut
	}
	n, b := int(binary.BigEndian.Uint16(data)), data[2:]
	if n == 0 {
		return out, nil
	}
	t, k := binary.Varint(b)
	if k <= 0 {
		return out, errChunkCut
	}
	v := math.Float64frombits(read(b, uint(k)*8, 64))
	if t >= to {
		return out, cutShort(b, uint(k)*8+64)
	}
	if t >= from {
		out = append(out, extract.Sample{T: t, V: v})
	}
	out, pos := xorRest(b, uint(k)*8+64, n-1, t, v, from, to, out)
	return out, cutShort(b, pos)
}

// cutShort is errChunkCut if a read went past the end of b.
func cutShort(b []byte, pos uint) error {
	if pos > uint(len(b))*8 {
		return errChunkCut
	}
	return nil
}

// xorRest reads the n samples after the first, t and v, from bit pos of
// b on and returns where it stopped. The second sample's timestamp is a
// uvarint step (from a whole byte on: the first sample is whole bytes);
// each later one's a delta of delta: '0', '10' then 14 bits, or longer
// (dod). A value is XORed with the one before: '0' the same; '10' its
// meaningful bits where the last one's were; '11', 5 bits of leading
// zeros, 6 of meaningful bits (0 for 64), the bits. Everything is in local
// variables, which the compiler keeps in registers; with the state behind
// a pointer and a method call a sample, this loop took a quarter longer
// (18.4 against 14.9 ns of CPU a sample on the simulator's data).
func xorRest(b []byte, pos uint, n int, t int64, v float64, from, to int64, out []extract.Sample) ([]extract.Sample, uint) {
	var (
		tDelta            uint64
		leading, trailing uint8
	)
	for i := range n {
		switch w := peek(b, pos); {
		case i == 0:
			d, k := binary.Uvarint(b[min(pos>>3, uint(len(b))):])
			if k <= 0 {
				return out, uint(len(b))*8 + 1
			}
			tDelta, pos = d, pos+uint(k)*8
		case w>>63 == 0:
			pos++
		case w>>62 == 0b10:
			d := w >> 48 & (1<<14 - 1)
			if d > 1<<13 { // negative, as chunkenc reads it ('>', not '>=')
				d -= 1 << 14
			}
			tDelta, pos = tDelta+d, pos+16
		default:
			d, k := dod(b, pos)
			tDelta, pos = tDelta+uint64(d), pos+k
		}
		t += int64(tDelta)
		if w := peek(b, pos); w>>63 == 0 {
			pos++
		} else {
			mbits, ctl := 64-leading-trailing, uint(2)
			if w>>62 != 0b10 {
				leading, mbits, ctl = uint8(w>>57&31), uint8(w>>51&63), 13
				if mbits == 0 {
					mbits = 64
				}
				trailing = 64 - leading - mbits
			}
			bits := w << ctl >> (64 - uint(mbits))
			if uint(mbits)+ctl > 57 {
				bits = read(b, pos+ctl, mbits)
			}
			pos += ctl + uint(mbits)
			v = math.Float64frombits(math.Float64bits(v) ^ bits<<trailing)
		}
		if t >= to {
			break
		}
		if t >= from {
			out = append(out, extract.Sample{T: t, V: v})
		}
	}
	return out, pos
}

// dod reads the longer deltas of delta at bit pos of b: '110', '1110'
// then 17 or 20 bits, or '1111' then 64; and how many bits they took.
func dod(b []byte, pos uint) (int64, uint) {
	w := peek(b, pos)
	var (
		sz  uint8
		ctl uint
	)
	switch {
	case w>>61 == 0b110:
		sz, ctl = 17, 3
	case w>>60 == 0b1110:
		sz, ctl = 20, 4
	default:
		return int64(read(b, pos+4, 64)), 68
	}
	bits := w << ctl >> (64 - uint(sz))
	if bits > 1<<(sz-1) {
		bits -= 1 << sz
	}
	return int64(bits), ctl + uint(sz)
}
