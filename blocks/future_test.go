package blocks

import (
	"context"
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/extract"
)

func TestHoldBack(t *testing.T) {
	w := win(0)
	limit := w.Start + 1000
	stale := math.Float64frombits(value.StaleNaN)
	one := func(int) float64 { return 1 }
	cases := []struct {
		name      string
		w         extract.Window
		in        extract.Series
		wantF     int // samples of either kind kept
		wantH     int
		wantCut   int64
		untouched bool // the caller's series come back as they are
	}{
		{name: "a window before the limit is not looked at", w: win(-1), in: series([]string{"a", "b"}, regular(win(-1).Start, 100, 10, one)...),
			wantF: 10, untouched: true},
		{name: "all before the limit", w: w, in: series([]string{"a", "b"}, regular(w.Start, 100, 11, one)...), wantF: 11, untouched: true},
		{name: "floats after the limit, a stale marker last", w: w,
			in:    series([]string{"a", "b"}, append(regular(w.Start, 100, 20, one), extract.Sample{T: w.Start + 5000, V: stale})...),
			wantF: 11, wantCut: 10},
		{name: "histograms after the limit", w: w, in: extract.Series{Histograms: hists(w.Start, 100, 0, 30, false)}, wantH: 11, wantCut: 19},
		{name: "float histograms and floats, both cut", w: w,
			in:    extract.Series{Samples: regular(w.Start+50, 200, 10, one), Histograms: hists(w.Start, 200, 0, 10, true)},
			wantF: 5, wantH: 6, wantCut: 9},
		{name: "everything after the limit", w: w, in: series([]string{"a", "b"}, regular(limit+1, 100, 5, one)...), wantCut: 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := []extract.Series{tc.in}
			nf, nh := len(tc.in.Samples), len(tc.in.Histograms)
			out, cut := holdBack(in, tc.w, limit)
			if cut != tc.wantCut || len(out[0].Samples) != tc.wantF || len(out[0].Histograms) != tc.wantH {
				t.Fatalf("kept %d floats and %d histograms, cut %d; want %d, %d, %d", len(out[0].Samples), len(out[0].Histograms), cut, tc.wantF, tc.wantH, tc.wantCut)
			}
			if len(in[0].Samples) != nf || len(in[0].Histograms) != nh {
				t.Fatal("the caller's series were changed")
			}
			if tc.untouched && &out[0] != &in[0] {
				t.Fatal("copied series that needed no change")
			}
			for _, s := range out[0].Samples {
				if s.T > limit {
					t.Fatalf("kept a sample at %d, after %d", s.T, limit)
				}
			}
			for _, s := range out[0].Histograms {
				if s.T > limit {
					t.Fatalf("kept a histogram at %d, after %d", s.T, limit)
				}
			}
		})
	}
}

// A window that reaches past the time of the run gets a block that ends
// by then (and the skew); what came after is counted per window.
func TestSinkWritesNothingAfterTheRun(t *testing.T) {
	s := newTestSink(t, t.TempDir())
	limit := s.NotAfter()
	w := extract.Window{Start: limit / extract.WindowMs * extract.WindowMs}
	w.End = w.Start + extract.WindowMs
	next := extract.Window{Start: w.End, End: w.End + extract.WindowMs}
	stale := math.Float64frombits(value.StaleNaN)
	add := func(w extract.Window, ss ...extract.Series) {
		t.Helper()
		if err := s.Add(context.Background(), w, ss); err != nil {
			t.Fatal(err)
		}
	}
	// 15s samples from the window's start to its end, a stale marker last;
	// a histogram series beside it.
	n := int(extract.WindowMs / 15000)
	floats := append(regular(w.Start, 15000, n-1, func(i int) float64 { return float64(i) }), extract.Sample{T: w.End - 1, V: stale})
	hs := hists(w.Start, 15000, 0, n, false)
	add(w, series([]string{"__name__", "fast"}, floats...), extract.Series{Labels: series([]string{"__name__", "fast_hist"}).Labels, Histograms: hs})
	add(next, series([]string{"__name__", "fast"}, regular(next.Start, 15000, 10, func(int) float64 { return 1 })...))
	for _, x := range []extract.Window{w, next} {
		if err := s.Done(context.Background(), x, nil); err != nil {
			t.Fatal(err)
		}
	}
	var want int64
	for _, f := range floats {
		if f.T > limit {
			want++
		}
	}
	for _, h := range hs {
		if h.T > limit {
			want++
		}
	}
	bs := s.Blocks()
	if len(bs) != 1 || bs[0].MaxTime > limit+1 {
		t.Fatalf("blocks %+v: want one, ending by %d", bs, limit+1)
	}
	held := s.HeldBack()
	if len(held) != 2 || held[0].Window != w || held[0].Samples != want || held[1].Window != next || held[1].Samples != 10 || held[0].NotAfter != limit {
		t.Fatalf("held back %+v; want %d in %s and 10 in %s after %d", held, want, w, next, limit)
	}
}
