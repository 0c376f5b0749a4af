package remoteread

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/promrecover/promrecover/extract"
)

// randomChunk is an XOR chunk written by chunkenc of n samples whose
// timestamps and values take every branch of the encoding: regular and
// jittered steps, each size of delta of delta up to the 64-bit one,
// repeated, integer, full-precision and special values.
func randomChunk(rng *rand.Rand, n int) (*chunkenc.XORChunk, []extract.Sample) {
	c := chunkenc.NewXORChunk()
	app, err := c.Appender()
	if err != nil {
		panic(err)
	}
	specials := []float64{math.NaN(), math.Float64frombits(value.StaleNaN), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), math.MaxFloat64, math.SmallestNonzeroFloat64}
	t, step, v := rng.Int64N(1<<45)-1<<44, int64(15000), rng.Float64()*1e6
	var want []extract.Sample
	for range n {
		switch rng.IntN(8) {
		case 0:
			step += rng.Int64N(1<<13) - 1<<12 // 14 bits
		case 1:
			step += rng.Int64N(1<<16) - 1<<15 // 17 bits
		case 2:
			step += rng.Int64N(1<<19) - 1<<18 // 20 bits
		case 3:
			step += rng.Int64N(1<<40) + 1<<20 // 64 bits
		}
		step = max(step, 1)
		t += step
		switch rng.IntN(6) {
		case 0: // the same value
		case 1:
			v += float64(rng.IntN(20))
		case 2:
			v = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20))
		case 3:
			v = specials[rng.IntN(len(specials))]
		default:
			v = math.Float64frombits(math.Float64bits(v) ^ rng.Uint64()>>rng.IntN(64))
		}
		app.Append(0, t, v)
		want = append(want, extract.Sample{T: t, V: v})
	}
	return c, want
}

// iterated is what chunkenc's iterator reads from data in [from, to).
func iterated(t *testing.T, data []byte, from, to int64) []extract.Sample {
	chk, err := chunkenc.FromData(chunkenc.EncXOR, data)
	if err != nil {
		t.Fatal(err)
	}
	var out []extract.Sample
	it := chk.Iterator(nil)
	for it.Next() == chunkenc.ValFloat {
		if t, v := it.At(); t >= to {
			break
		} else if t >= from {
			out = append(out, extract.Sample{T: t, V: v})
		}
	}
	if it.Err() != nil {
		t.Fatal(it.Err())
	}
	return out
}

func sameBits(t *testing.T, what string, want, got []extract.Sample) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%s: %d samples, chunkenc read %d", what, len(got), len(want))
	}
	for i := range want {
		if want[i].T != got[i].T || math.Float64bits(want[i].V) != math.Float64bits(got[i].V) {
			t.Fatalf("%s: sample %d is %d %x, chunkenc read %d %x", what, i, got[i].T, math.Float64bits(got[i].V), want[i].T, math.Float64bits(want[i].V))
		}
	}
}

// TestXORMatchesChunkenc: on random chunks, whole and cut at random edges,
// xorSamples reads what was written and what chunkenc's iterator reads, bit
// for bit; a chunk cut short is an error.
func TestXORMatchesChunkenc(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	for _, n := range []int{0, 1, 2, 3, 120, 121, 500, 4000} {
		for round := range 50 {
			c, written := randomChunk(rng, n)
			got, err := xorSamples(c.Bytes(), math.MinInt64, math.MaxInt64, nil)
			if err != nil {
				t.Fatalf("%d samples: %v", n, err)
			}
			sameBits(t, "whole chunk", written, got)
			if n == 0 {
				continue
			}
			from := written[rng.IntN(n)].T + rng.Int64N(3) - 1
			to := from + rng.Int64N(written[n-1].T-written[0].T+2)
			want := iterated(t, c.Bytes(), from, to)
			got, err = xorSamples(c.Bytes(), from, to, nil)
			if err != nil {
				t.Fatal(err)
			}
			sameBits(t, "cut at the unit's edges", want, got)
			// The last byte of a chunk holds at least one bit of its
			// last sample, so a chunk cut by a byte is always short of
			// a sample. chunkenc sometimes reads past the end without
			// an error; xorSamples always says so.
			data := c.Bytes()[:rng.IntN(len(c.Bytes()))]
			if _, err := xorSamples(data, math.MinInt64, math.MaxInt64, nil); err == nil {
				t.Fatalf("%d samples, round %d, truncated to %d of %d bytes: no error", n, round, len(data), len(c.Bytes()))
			}
		}
	}
}
