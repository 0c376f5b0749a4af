package blocks

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/extract"
)

// sortedRecords returns pointers to the ledger's records in label order, so
// tampering is deterministic.
func sortedRecords(l *ledger) []*record {
	var out []*record
	for h := range l.byHash {
		for i := range l.byHash[h] {
			out = append(out, &l.byHash[h][i])
		}
	}
	slices.SortFunc(out, func(a, b *record) int { return labels.Compare(a.lset, b.lset) })
	return out
}

func TestVerifyCatchesMismatch(t *testing.T) {
	w := win(4)
	stale := math.Float64frombits(value.StaleNaN)
	in := []extract.Series{
		series([]string{"__name__", "a"}, regular(w.Start, 1000, 50, func(i int) float64 { return float64(i) })...),
		series([]string{"__name__", "b"}, extract.Sample{T: w.Start + 10, V: 1}, extract.Sample{T: w.Start + 20, V: stale}),
		series([]string{"__name__", "c"}, regular(w.Start, 5000, 20, func(i int) float64 { return -float64(i) })...),
	}
	tests := []struct {
		name    string
		tamper  func(l *ledger)
		wantErr string
	}{
		{"checksum of one series", func(l *ledger) { sortedRecords(l)[0].d.sum ^= 1 }, `series {__name__="a"} reads back 50 samples`},
		{"counts moved between series", func(l *ledger) {
			rs := sortedRecords(l)
			rs[0].d.n++
			rs[2].d.n--
		}, `series {__name__="a"} reads back 50 samples`},
		{"stale marker expected as a plain NaN", func(l *ledger) {
			r := sortedRecords(l)[1]
			r.d = newDigest()
			r.d.add(w.Start+10, 1)
			r.d.add(w.Start+20, math.NaN())
		}, `series {__name__="b"} reads back 2 samples`},
		{"a series the block should not have", func(l *ledger) {
			r := sortedRecords(l)[2]
			r.lset = labels.FromStrings("__name__", "phantom")
			// Keep it findable under its new hash, so only the lookup differs.
			h := r.lset.Hash()
			l.byHash[h] = append(l.byHash[h], *r)
			old := labels.FromStrings("__name__", "c").Hash()
			delete(l.byHash, old)
		}, `series {__name__="c"} is in the block but was never appended`},
		{"one sample more in total", func(l *ledger) { l.samples++ }, "72 samples, 3 series and 73 samples were appended"},
		{"one series more in total", func(l *ledger) { l.series++ }, "4 series and 72 samples were appended"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := newTestSink(t, dir)
			s.beforeVerify = tc.tamper
			if err := s.Add(context.Background(), w, in); err != nil {
				t.Fatal(err)
			}
			err := s.Done(context.Background(), w, nil)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "not installed") {
				t.Fatalf("Done: %v, want an error containing %q", err, tc.wantErr)
			}
			if bs := s.Blocks(); len(bs) != 0 {
				t.Fatalf("installed %+v", bs)
			}
			if e := stagedWindows(t, s); len(e) != 0 {
				t.Fatalf("staging still holds %v", e)
			}
			if e := entries(t, dir); len(e) != 2 || e[0] != filepath.Base(s.staging) || e[1] != LockFileName {
				t.Fatalf("dir holds %v, want only the staging area and the lock", e)
			}
		})
	}
}

func TestDigestIsBitExact(t *testing.T) {
	values := []float64{math.NaN(), math.Float64frombits(value.StaleNaN), math.Float64frombits(value.NormalNaN ^ 1), 0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1)}
	seen := map[digest]int{}
	for i, v := range values {
		d := newDigest()
		d.add(1, v)
		if j, dup := seen[d]; dup {
			t.Errorf("values %d and %d (%x, %x) share a digest", i, j, math.Float64bits(v), math.Float64bits(values[j]))
		}
		seen[d] = i
	}
	// Order matters: swapped samples are a different series.
	a, b := newDigest(), newDigest()
	a.add(1, 10)
	a.add(2, 20)
	b.add(2, 20)
	b.add(1, 10)
	if a == b {
		t.Error("digest ignores sample order")
	}
}

func TestInstallNeverOverwrites(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "src")
	mustWrite(t, filepath.Join(src, "meta.json"), "{}")
	dst := filepath.Join(root, "dst")
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := install(src, dst); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("install over an existing directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(src, "meta.json")); err != nil {
		t.Fatalf("source lost: %v", err)
	}
	if e := entries(t, dst); len(e) != 0 {
		t.Fatalf("target changed: %v", e)
	}
	if err := os.Remove(dst); err != nil {
		t.Fatal(err)
	}
	if err := install(src, dst); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "meta.json")); err != nil {
		t.Fatal(err)
	}
}
