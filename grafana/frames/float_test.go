package frames

import (
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"strings"
	"testing"
)

// The number fast paths of the decoder must give exactly what
// strconv.ParseFloat and strconv.ParseInt give.

// decodeNumber parses lit as the column loops do: the fast path when it
// applies (with the input going on after lit, as inside a column), else
// the general one.
func decodeNumber(lit string, bits int) (float64, error) {
	b := []byte(lit + "," + strings.Repeat("9", fastMin))
	if bits == 64 {
		if v, q, ok := fastFloat(b, 0); ok {
			if q != len(lit) {
				return 0, fmt.Errorf("fastFloat stopped at %d", q)
			}
			return v, nil
		}
	}
	v, q, st, err := parseFloatAt([]byte(lit), 0, true, bits)
	switch {
	case st == numRange:
		return v, err
	case st != numOK:
		return 0, fmt.Errorf("outcome %d at %d", st, q)
	case q != len(lit):
		return 0, fmt.Errorf("parseFloatAt stopped at %d", q)
	}
	// Cut short, the general path must ask for more rather than guess.
	if _, _, st, _ := parseFloatAt([]byte(lit), 0, false, bits); st != numMore {
		return 0, fmt.Errorf("outcome %d for a number that may go on", st)
	}
	return v, nil
}

func checkNumber(t *testing.T, lit string, bits int) {
	t.Helper()
	want, werr := strconv.ParseFloat(lit, bits)
	got, err := decodeNumber(lit, bits)
	if (err != nil) != (werr != nil) {
		t.Fatalf("%q (%d bits): error %v, strconv says %v", lit, bits, err, werr)
	}
	if werr == nil && math.Float64bits(got) != math.Float64bits(want) {
		t.Fatalf("%q (%d bits): %v [%#x], strconv says %v [%#x]", lit, bits, got, math.Float64bits(got), want, math.Float64bits(want))
	}
}

// randomDigits writes n random digits, the first non-zero.
func randomDigits(rnd *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + rnd.Intn(10))
	}
	if b[0] == '0' {
		b[0] = byte('1' + rnd.Intn(9))
	}
	return string(b)
}

func TestDecodeNumbersExact(t *testing.T) {
	for _, lit := range []string{
		"0", "-0", "0.0", "-0.0", "1", "-1", "0.1", "0.30000000000000004", "1e21", "1e-7", "5e-324", "-5e-324",
		"2.2250738585072014e-308", "2.2250738585072011e-308", "1.7976931348623157e308", "-1.7976931348623157e308",
		"1.7976931348623159e308", "1e400", "-1e400", "1e-400", "9007199254740992", "9007199254740993", "9007199254740995",
		"18446744073709551615", "18446744073709551616", "9999999999999999999", "99999999999999999999",
		"123456789012345678", "1234567890123456789", "0.1234567890123456789", "12345678.12345678901",
		"1735682400000", "1735682400000.5", "3.4028234663852886e38", "1.1754943508222875e-38", "1.401298464324817e-45",
		"123456789012345.678901234", "0.000000000000000000000000001", "100000000000000000000000",
		"7.038531e-26", "8.5e-323", "4.9406564584124654e-324", "2.4703282292062327e-324", "2.4703282292062328e-324",
	} {
		checkNumber(t, lit, 64)
		checkNumber(t, lit, 32)
	}

	rnd := rand.New(rand.NewSource(7))
	for range 100000 {
		// Shortest forms of every kind of float64, as Grafana prints them.
		f := math.Float64frombits(rnd.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		checkNumber(t, strconv.FormatFloat(f, 'g', -1, 64), 64)
		checkNumber(t, strconv.FormatFloat(f, 'e', -1, 64), 64)
		checkNumber(t, strconv.FormatFloat(f, 'f', -1, 64), 64)
		f32 := math.Float32frombits(rnd.Uint32())
		if !math.IsNaN(float64(f32)) && !math.IsInf(float64(f32), 0) {
			checkNumber(t, strconv.FormatFloat(float64(f32), 'g', -1, 32), 32)
			checkNumber(t, strconv.FormatFloat(float64(f32), 'g', -1, 32), 64)
		}
		// Metric-like values: full precision with a few integer digits.
		g := rnd.Float64() * math.Pow(10, float64(rnd.Intn(24)-8))
		checkNumber(t, strconv.FormatFloat(g, 'f', -1, 64), 64)
		checkNumber(t, strconv.FormatFloat(g, 'f', rnd.Intn(20), 64), 64)
		// Arbitrary decimals of 1 to 25 digits, a point anywhere, maybe
		// an exponent: halfway cases and mantissas beyond 2^53 included.
		digits := randomDigits(rnd, 1+rnd.Intn(25))
		lit := digits
		if k := rnd.Intn(len(digits) + 1); k > 0 && k < len(digits) {
			lit = digits[:k] + "." + digits[k:]
		}
		if rnd.Intn(3) == 0 {
			lit = "0." + strings.Repeat("0", rnd.Intn(20)) + digits
		}
		if rnd.Intn(3) == 0 {
			lit += "e" + strconv.Itoa(rnd.Intn(700)-350)
		}
		if rnd.Intn(2) == 0 {
			lit = "-" + lit
		}
		checkNumber(t, lit, 64)
		checkNumber(t, lit, 32)
	}
	// Exactly halfway between two neighbouring float64s, and just off it.
	for range 20000 {
		f := math.Float64frombits(rnd.Uint64() >> 2)
		next := math.Nextafter(f, math.Inf(1))
		mid := strconv.FormatFloat(f, 'e', 40, 64) // not itself the midpoint: print both
		checkNumber(t, mid, 64)
		lo, hi := strconv.FormatFloat(f, 'e', -1, 64), strconv.FormatFloat(next, 'e', -1, 64)
		checkNumber(t, lo, 64)
		checkNumber(t, hi, 64)
	}
	for _, m := range []uint64{1<<53 + 1, 1<<53 + 3, 1<<54 + 2, 1<<54 + 6, 1<<63 + 1024, 1<<63 + 1025} {
		for e := -25; e <= 25; e++ {
			checkNumber(t, strconv.FormatUint(m, 10)+"e"+strconv.Itoa(e), 64)
		}
	}
}

// eiselLemire64 either declines or agrees with strconv, over every
// exponent of its table.
func TestEiselLemire(t *testing.T) {
	// Rows of Go's own table (internal/strconv/pow10tab.go).
	for e, want := range map[int][2]uint64{
		-22: {0xf1c90080baf72cb1, 0x5324c68b12dd6338},
		-1:  {0xcccccccccccccccc, 0xcccccccccccccccc},
		0:   {0x8000000000000000, 0},
		22:  {0x878678326eac9000, 0},
	} {
		if got := elPow10[e-elMinExp]; got != want {
			t.Errorf("10^%d: %#x, want %#x", e, got, want)
		}
	}
	rnd := rand.New(rand.NewSource(3))
	declined := 0
	for range 500000 {
		man := rnd.Uint64() >> rnd.Intn(64)
		if man > 9999999999999999999 {
			man /= 10
		}
		e := elMinExp + rnd.Intn(elMaxExp-elMinExp+1)
		neg := rnd.Intn(2) == 0
		got, ok := eiselLemire64(man, e, neg)
		if !ok {
			declined++
			continue
		}
		lit := strconv.FormatUint(man, 10) + "e" + strconv.Itoa(e)
		if neg {
			lit = "-" + lit
		}
		want, _ := strconv.ParseFloat(lit, 64)
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%s: %v, strconv says %v", lit, got, want)
		}
	}
	if declined > 5000 {
		t.Errorf("declined %d of 500000", declined)
	}
}

func TestDecodeIntsExact(t *testing.T) {
	rnd := rand.New(rand.NewSource(5))
	check := func(lit string, tail byte) {
		t.Helper()
		want, werr := strconv.ParseInt(lit, 10, 64)
		b := append([]byte(lit), tail)
		b = append(b, strings.Repeat("7", fastMin)...)
		if v, q, ok := fastInt(b, 0); ok {
			if werr != nil || v != want || q != len(lit) {
				t.Fatalf("fastInt(%q+%q) = %d, %d; strconv says %d, %v", lit, tail, v, q, want, werr)
			}
		}
		v, q, st := parseIntAt(append([]byte(lit), tail), 0, true)
		isNum := tail != '.' && tail != 'e' && tail != 'E' && (tail < '0' || tail > '9')
		if !isNum {
			return
		}
		if werr == nil && (st != numOK || v != want || q != len(lit)) || werr != nil && st != numNotInt {
			t.Fatalf("parseIntAt(%q+%q) = %d, %d, %d; strconv says %d, %v", lit, tail, v, q, st, want, werr)
		}
	}
	for range 200000 {
		lit := randomDigits(rnd, 1+rnd.Intn(21))
		if rnd.Intn(5) == 0 {
			lit = "-" + lit
		}
		check(lit, byte(rnd.Intn(256)))
	}
	for _, lit := range []string{"0", "-0", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "1735682400000", "100000000", "99999999"} {
		check(lit, ',')
		check(lit, ']')
	}
	// Every byte after every length of digit run, for the SWAR check.
	for n := 1; n <= 16; n++ {
		for tail := range 256 {
			check(randomDigits(rnd, n), byte(tail))
		}
	}
}
