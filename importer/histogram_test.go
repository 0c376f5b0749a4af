package importer_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/jsonl"
	"github.com/promrecover/promrecover/format/openmetrics"
)

var stale = math.Float64frombits(value.StaleNaN)

// scraped is an integer histogram as a scrape stores it: zero, positive and
// negative buckets, a gap, and an empty bucket the API form leaves out.
func scraped(n uint64) *histogram.Histogram {
	return &histogram.Histogram{
		Schema: 2, ZeroThreshold: 0x1p-128, ZeroCount: n, Count: 6 * n, Sum: 2.5 * float64(n),
		PositiveSpans:   []histogram.Span{{Offset: -2, Length: 3}, {Offset: 4, Length: 1}},
		PositiveBuckets: []int64{int64(n), -int64(n), int64(n), 0}, // n, 0, n, n
		NegativeSpans:   []histogram.Span{{Offset: 1, Length: 1}},
		NegativeBuckets: []int64{2 * int64(n)},
	}
}

// ruled is a float histogram as a recording rule makes it.
func ruled(c float64) *histogram.FloatHistogram {
	return &histogram.FloatHistogram{
		Schema: 5, Count: 3 * c, Sum: math.NaN(),
		PositiveSpans:   []histogram.Span{{Offset: -40, Length: 1}, {Offset: 7, Length: 1}},
		PositiveBuckets: []float64{c, 2 * c},
	}
}

// withHistograms has series of histograms, of floats and histograms, and
// stale markers of both kinds; want is what reads back: the histogram stale
// marker as the float one.
func withHistograms() (in, want []extract.Series) {
	l := func(name string) labels.Labels { return labels.FromStrings("__name__", name, "job", "api") }
	h := func(t int64, H *histogram.Histogram, FH *histogram.FloatHistogram) extract.HistogramSample {
		return extract.HistogramSample{T: t, H: H, FH: FH}
	}
	in = []extract.Series{
		// Across two windows; the first has no observation yet, so its API
		// form shows neither schema nor zero threshold: the import takes
		// them from the next one.
		{Labels: l("rpc"), Histograms: []extract.HistogramSample{h(t0-15_000, scraped(0), nil), h(t0, scraped(1), nil), h(t0+15_000, scraped(4), nil), h(t0+3*3600_000, scraped(9), nil)}},
		{Labels: l("rule"), Histograms: []extract.HistogramSample{h(t0+1, nil, ruled(0.25)), h(t0+60_000, nil, ruled(1.5))}},
		{Labels: l("switch"), Samples: []extract.Sample{{T: t0, V: 1}, {T: t0 + 1, V: stale}, {T: t0 + 2, V: math.NaN()}},
			Histograms: []extract.HistogramSample{h(t0+10_000, scraped(2), nil)}},
		{Labels: l("floats"), Samples: []extract.Sample{{T: t0, V: stale}, {T: t0 + 5, V: math.NaN()}, {T: t0 + 6, V: stale}}},
		{Labels: l("gone"), Histograms: []extract.HistogramSample{h(t0, scraped(3), nil), h(t0+15_000, &histogram.Histogram{Sum: stale}, nil)}},
	}
	want = append([]extract.Series(nil), in...)
	want[4] = extract.Series{Labels: l("gone"), Samples: []extract.Sample{{T: t0 + 15_000, V: stale}}, Histograms: in[4].Histograms[:1]}
	return in, want
}

func TestHistogramsAndStaleMarkersRoundTrip(t *testing.T) {
	in, want := withHistograms()
	for _, name := range []string{"json", "jsonl"} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writers()[name](&b, in); err != nil {
				t.Fatal(err)
			}
			for _, part := range []string{`"StaleNaN"`, `"NaN"`, `"histograms":[[`, `[3,"-0.000000000000000000000000000000000000002938735877055719","0.000000000000000000000000000000000000002938735877055719","3"]`} {
				if !strings.Contains(b.String(), part) {
					t.Errorf("the %s lacks %s:\n%s", name, part, b.String())
				}
			}
			got, _ := read(t, b.Bytes(), "")
			if err := extract.Compare(want, got); err != nil {
				t.Fatal(err)
			}
			// Compare tells the stale marker from NaN by its bits; check it
			// came back exactly once more, plainly.
			for _, s := range got {
				for _, smp := range s.Samples {
					if math.IsNaN(smp.V) && !value.IsStaleNaN(smp.V) && math.Float64bits(smp.V) != value.NormalNaN {
						t.Errorf("%s: NaN %x", s.Labels, math.Float64bits(smp.V))
					}
				}
			}
		})
	}
}

// TestHistogramJSONIsTheAPIs: without stale markers, what export writes is
// what prometheus/common/model reads, histograms as the API prints them.
func TestHistogramJSONIsTheAPIs(t *testing.T) {
	in, _ := withHistograms()
	in = in[:2]
	var b bytes.Buffer
	if err := jsonl.Write(&b, in); err != nil {
		t.Fatal(err)
	}
	var got []extract.Series
	for _, ln := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		var ss model.SampleStream
		if err := json.Unmarshal([]byte(ln), &ss); err != nil {
			t.Fatalf("model cannot read %s: %v", ln, err)
		}
		got = append(got, fromModel(t, &ss))
	}
	if err := extract.Compare(in, got); err != nil {
		t.Fatal(err)
	}
}

func TestOpenMetricsRefusesHistograms(t *testing.T) {
	in, _ := withHistograms()
	var b bytes.Buffer
	err := openmetrics.Write(&b, in[3:])
	// The flags that mend it are cmd's to name (TestExportWriterHints).
	var he *openmetrics.HistogramsError
	if !errors.As(err, &he) || !strings.Contains(err.Error(), `series {__name__="gone", job="api"} holds native histograms`) {
		t.Fatalf("openmetrics.Write: %v", err)
	}
}
