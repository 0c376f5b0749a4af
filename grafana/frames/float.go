package frames

import (
	"math"
	"math/big"
	"math/bits"
)

// Eisel-Lemire: the exact conversion of a decimal mantissa of up to 19
// digits times a power of ten, as strconv.ParseFloat does it after its
// Clinger fast path fails. The column loops have the mantissa and the
// exponent in hand already; handing the literal to strconv.ParseFloat made
// it parse the digits a second time, which the profile put at about a tenth
// of the decoding time (full-precision gauges and counters: 16 or 17
// digits). This is a transcription of Go's internal/strconv/atofeisel.go
// (BSD licence), float64 only; where it cannot decide (a halfway case, or
// an exponent outside the table) it says so and the caller uses strconv.
// float_test.go checks it against strconv.ParseFloat.

const (
	elMinExp = -64
	elMaxExp = 64
)

// elPow10 holds, for 10^e with e in [elMinExp, elMaxExp], the 128-bit
// mantissa of 10^e scaled into [2^127, 2^128) and rounded down, the same
// values as Go's own table (pow10tab.go); {hi, lo}.
var elPow10 = func() [elMaxExp - elMinExp + 1][2]uint64 {
	var tab [elMaxExp - elMinExp + 1][2]uint64
	ten, m := big.NewInt(10), new(big.Int)
	mask := new(big.Int).SetUint64(math.MaxUint64)
	for e := elMinExp; e <= elMaxExp; e++ {
		p := new(big.Int).Exp(ten, big.NewInt(int64(abs(e))), nil)
		l := p.BitLen()
		switch {
		case e >= 0 && l <= 128:
			m.Lsh(p, uint(128-l))
		case e >= 0:
			m.Rsh(p, uint(l-128))
		default: // 2^(127+l) / 10^-e lies in (2^127, 2^128): 10^-e is no power of two
			m.Quo(new(big.Int).Lsh(big.NewInt(1), uint(127+l)), p)
		}
		tab[e-elMinExp] = [2]uint64{new(big.Int).Rsh(m, 64).Uint64(), new(big.Int).And(m, mask).Uint64()}
	}
	return tab
}()

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// eiselLemire64 returns man * 10^exp10 correctly rounded, or false when
// it cannot tell.
func eiselLemire64(man uint64, exp10 int, neg bool) (float64, bool) {
	if man == 0 {
		if neg {
			return math.Copysign(0, -1), true
		}
		return 0, true
	}
	if exp10 < elMinExp || exp10 > elMaxExp {
		return 0, false
	}
	pow := &elPow10[exp10-elMinExp]
	exp2 := 1 + (exp10*108853)>>15 // floor(exp10 * log2(10))

	// Normalization.
	clz := bits.LeadingZeros64(man)
	man <<= uint(clz)
	const float64Bias = -1023
	retExp2 := uint64(exp2+63-float64Bias) - uint64(clz)

	// Multiplication.
	xHi, xLo := bits.Mul64(man, pow[0])

	// Wider Approximation.
	if xHi&0x1FF == 0x1FF && xLo+man < man {
		yHi, yLo := bits.Mul64(man, pow[1])
		mergedHi, mergedLo := xHi, xLo+yHi
		if mergedLo < xLo {
			mergedHi++
		}
		if mergedHi&0x1FF == 0x1FF && mergedLo+1 == 0 && yLo+man < man {
			return 0, false
		}
		xHi, xLo = mergedHi, mergedLo
	}

	// Shifting to 54 Bits.
	msb := xHi >> 63
	retMantissa := xHi >> (msb + 9)
	retExp2 -= 1 ^ msb

	// Half-way Ambiguity.
	if xLo == 0 && xHi&0x1FF == 0 && retMantissa&3 == 1 {
		return 0, false
	}

	// From 54 to 53 Bits.
	retMantissa += retMantissa & 1
	retMantissa >>= 1
	if retMantissa>>53 > 0 {
		retMantissa >>= 1
		retExp2++
	}
	// Subnormal, Inf or NaN space: let strconv handle it.
	if retExp2-1 >= 0x7FF-1 {
		return 0, false
	}
	retBits := retExp2<<52 | retMantissa&(1<<52-1)
	if neg {
		retBits |= 1 << 63
	}
	return math.Float64frombits(retBits), true
}
