// Package nativehist converts native histograms between the form Prometheus's
// HTTP API prints (model.SampleHistogram: count, sum and the non-empty
// buckets as [boundary rule, lower, upper, count]) and the form TSDB stores
// (histogram.Histogram or histogram.FloatHistogram: schema, zero bucket and
// spans of bucket indices).
//
// The API form is lossy, so FromAPI(ToAPI(x)) is x only up to what it drops:
//   - empty buckets: they are not printed, so the spans come back compacted
//     (as x.Compact(0) would make them);
//   - the zero threshold when the zero bucket is empty: that bucket is not
//     printed either, so the threshold comes back as 0, unless the innermost
//     bucket was clipped to it (see FromAPI);
//   - the schema of a histogram with no bucket but the zero bucket or the
//     +Inf bucket filled: nothing printed shows it, so it comes back as 0;
//   - the counter reset hint: it is never printed, so it comes back unknown;
//   - whether the counts were integers or floats: FromAPI picks the integer
//     form whenever every count is a whole number and an integer histogram
//     can hold them (see FromAPI);
//   - custom-bucket histograms (schema -53, NHCB): their bucket layout cannot
//     be told apart from an exponential one once empty buckets are gone, so
//     FromAPI refuses them rather than guess.
//
// ToAPI(FromAPI(a)) == a holds for whatever a Prometheus server printed,
// which is what makes a recovery through the API exact where it can be.
// FillSeries then gives back, from the other histograms of the series, the
// schema and zero threshold a single histogram's form did not show.
package nativehist

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"

	"github.com/promrecover/promrecover/extract"
)

// Boundary rules of the API's buckets (prometheus util/jsonutil).
const (
	leftOpen  = 0 // (lower, upper]: positive buckets
	rightOpen = 1 // [lower, upper): negative buckets
	open      = 2
	closed    = 3 // [lower, upper]: the zero bucket
)

// ToAPI gives what Prometheus's HTTP API prints for the histogram (exactly
// one of h and fh set): an integer histogram is printed as its float
// conversion, and empty buckets are left out.
func ToAPI(h *histogram.Histogram, fh *histogram.FloatHistogram) *model.SampleHistogram {
	if h != nil {
		fh = h.ToFloat(nil)
	}
	out := &model.SampleHistogram{Count: model.FloatString(fh.Count), Sum: model.FloatString(fh.Sum)}
	for it := fh.AllBucketIterator(); it.Next(); {
		b := it.At()
		if b.Count == 0 {
			continue
		}
		out.Buckets = append(out.Buckets, &model.HistogramBucket{
			Boundaries: boundaryRule(b.LowerInclusive, b.UpperInclusive),
			Lower:      model.FloatString(b.Lower),
			Upper:      model.FloatString(b.Upper),
			Count:      model.FloatString(b.Count),
		})
	}
	return out
}

func boundaryRule(lowerInclusive, upperInclusive bool) int32 {
	switch {
	case lowerInclusive && upperInclusive:
		return closed
	case lowerInclusive:
		return rightOpen
	case upperInclusive:
		return leftOpen
	}
	return open
}

// notCustom ends the errors of buckets that fit no exponential schema, since
// the likely cause is a histogram that has none.
const notCustom = "; custom-bucket histograms (schema -53) cannot be rebuilt from the API's form"

// bucket is a positive or negative API bucket by distance from zero: outer is
// its bound farther from zero, inner the nearer one.
type bucket struct {
	outer, inner, count float64
	idx                 int32
}

// FromAPI rebuilds the TSDB histogram Prometheus printed as a. It returns the
// integer form (h) when the count, the zero count and every bucket count are
// whole numbers and the count is what the buckets hold (or more, with a NaN
// sum), which is what a scrape stores and what Prometheus before 2.47 can
// read from a block; the float form (fh) otherwise.
//
// The schema comes from the ratio of a bucket's bounds (2^(2^-schema)), a
// bucket's index from its bound farther from zero. With no bucket but the
// zero bucket, or none at all, nothing shows the schema and none is needed
// to describe the histogram: it is rebuilt with schema 0. Prometheus clips
// the bucket nearest to zero on each side at the zero threshold; such a
// clipped bound gives the threshold back even when the zero bucket is empty.
// Whatever is rebuilt is checked by printing it again: the result is
// returned only if ToAPI gives back a's buckets exactly.
func FromAPI(a *model.SampleHistogram) (*histogram.Histogram, *histogram.FloatHistogram, error) {
	var pos, neg []bucket
	var zeroThreshold, zeroCount float64
	for _, b := range a.Buckets {
		lo, up, c := float64(b.Lower), float64(b.Upper), float64(b.Count)
		switch {
		case c == 0:
			// Prometheus never prints one; it carries nothing.
		case b.Boundaries == closed && lo == -up && up >= 0:
			zeroThreshold, zeroCount = up, c
		case b.Boundaries == leftOpen && lo >= 0 && up > lo:
			pos = append(pos, bucket{outer: up, inner: lo, count: c})
		case b.Boundaries == rightOpen && up <= 0 && lo < up:
			neg = append(neg, bucket{outer: -lo, inner: -up, count: c})
		default:
			return nil, nil, fmt.Errorf("bucket %v is not one of an exponential native histogram%s", b, notCustom)
		}
	}
	schemas, err := candidateSchemas(pos, neg)
	if err != nil {
		return nil, nil, err
	}
	var fh *histogram.FloatHistogram
	for _, schema := range schemas {
		if fh, err = rebuild(a, schema, zeroThreshold, zeroCount, pos, neg); err == nil {
			break
		}
	}
	if err != nil {
		if len(schemas) > 1 {
			return nil, nil, fmt.Errorf("the buckets %v fit no exponential schema from %d to %d%s", a.Buckets, histogram.ExponentialSchemaMin, histogram.ExponentialSchemaMax, notCustom)
		}
		return nil, nil, err
	}
	// Integer histograms must count in Count exactly what their buckets
	// hold; float histograms need not, so whole counts that disagree come
	// from a float histogram and are kept as one.
	if h := toInt(fh); h != nil && h.Validate() == nil {
		return h, nil, nil
	}
	if err := fh.Validate(); err != nil {
		return nil, nil, fmt.Errorf("histogram %v: %w", a, err)
	}
	return nil, fh, nil
}

// candidateSchemas lists the schemas worth trying, best first. Only the
// bucket nearest to zero on each side can be clipped by the zero threshold,
// so any other bucket's ratio is the schema and all such must agree; the
// nearest ones' ratios come next; with no usable ratio at all (a lone clipped
// bucket, or only the +Inf bucket) every schema is tried, 0 first as when
// there is no bucket, since these show no schema either.
func candidateSchemas(pos, neg []bucket) ([]int32, error) {
	sortByIdx := func(bs []bucket) {
		slices.SortFunc(bs, func(a, b bucket) int { return cmp.Compare(a.outer, b.outer) })
	}
	sortByIdx(pos)
	sortByIdx(neg)
	var sure, nearest []int32
	var sureFrom bucket
	for _, side := range [][]bucket{pos, neg} {
		for i, b := range side {
			s, ok := ratioSchema(b)
			switch {
			case !ok:
			case i == 0:
				nearest = append(nearest, s)
			case len(sure) > 0 && sure[0] != s:
				return nil, fmt.Errorf("inconsistent schema between buckets: %v has the bound ratio of schema %d, %v that of schema %d", sureFrom, sure[0], b, s)
			case len(sure) == 0:
				sure, sureFrom = []int32{s}, b
			}
		}
	}
	switch {
	case len(sure) > 0:
		return sure, nil
	case len(nearest) > 0:
		return nearest, nil
	case len(pos)+len(neg) == 0:
		return []int32{0}, nil
	}
	all := []int32{0}
	for s := histogram.ExponentialSchemaMin; s <= histogram.ExponentialSchemaMax; s++ {
		if s != 0 {
			all = append(all, s)
		}
	}
	return all, nil
}

func (b bucket) String() string { return fmt.Sprintf("|%g..%g|", b.inner, b.outer) }

// ratioSchema is the schema whose buckets have b's ratio of bounds, if there
// is one: for schema s, outer/inner = 2^(2^-s).
func ratioSchema(b bucket) (int32, bool) {
	f := -math.Log2(math.Log2(b.outer / b.inner))
	s := math.Round(f)
	if math.Abs(f-s) > 1e-6 || s < float64(histogram.ExponentialSchemaMin) || s > float64(histogram.ExponentialSchemaMax) {
		return 0, false
	}
	return int32(s), true
}

// rebuild lays the buckets out in schema and checks that Prometheus would
// print the result as a.
func rebuild(a *model.SampleHistogram, schema int32, zeroThreshold, zeroCount float64, pos, neg []bucket) (*histogram.FloatHistogram, error) {
	fh := &histogram.FloatHistogram{
		Schema:        schema,
		Count:         float64(a.Count),
		Sum:           float64(a.Sum),
		ZeroThreshold: zeroThreshold,
		ZeroCount:     zeroCount,
	}
	var err error
	if fh.PositiveSpans, fh.PositiveBuckets, err = layOut(pos, schema); err != nil {
		return nil, err
	}
	if fh.NegativeSpans, fh.NegativeBuckets, err = layOut(neg, schema); err != nil {
		return nil, err
	}
	got := ToAPI(nil, fh)
	if zeroCount == 0 {
		if t := clippedThreshold(a, got); t > 0 {
			fh.ZeroThreshold = t
			got = ToAPI(nil, fh)
		}
	}
	for i, b := range a.Buckets {
		if b.Count == 0 {
			continue
		}
		if len(got.Buckets) == 0 || !sameBucket(got.Buckets[0], b) {
			return nil, fmt.Errorf("bucket %d, %v, is not where schema %d puts it%s", i, b, schema, notCustom)
		}
		got.Buckets = got.Buckets[1:]
	}
	return fh, nil
}

// layOut gives the spans and absolute counts of buckets in schema. The
// +Inf bucket is the one after the bucket whose outer bound is MaxFloat64.
func layOut(bs []bucket, schema int32) ([]histogram.Span, []float64, error) {
	if len(bs) == 0 {
		return nil, nil, nil
	}
	for i := range bs {
		bound, next := bs[i].outer, 0.0
		if math.IsInf(bound, 1) {
			bound, next = bs[i].inner, 1
		}
		f := math.Log2(bound)*math.Exp2(float64(schema)) + next
		if math.IsNaN(f) || math.Abs(f) > math.MaxInt32/2 {
			return nil, nil, fmt.Errorf("bucket %v has no index in schema %d", bs[i], schema)
		}
		bs[i].idx = int32(math.Round(f))
		if i > 0 && bs[i].idx <= bs[i-1].idx {
			return nil, nil, fmt.Errorf("buckets %v and %v fall on one index in schema %d", bs[i-1], bs[i], schema)
		}
	}
	spans := []histogram.Span{{Offset: bs[0].idx, Length: 1}}
	counts := []float64{bs[0].count}
	for i := 1; i < len(bs); i++ {
		if gap := bs[i].idx - bs[i-1].idx - 1; gap > 0 {
			spans = append(spans, histogram.Span{Offset: gap})
		}
		spans[len(spans)-1].Length++
		counts = append(counts, bs[i].count)
	}
	return spans, counts, nil
}

// clippedThreshold is the zero threshold that the innermost bucket of a
// shows clipped, found by comparing a with got, its rebuild printed with no
// zero threshold; 0 when no bucket is clipped.
func clippedThreshold(a, got *model.SampleHistogram) float64 {
	if len(a.Buckets) != len(got.Buckets) {
		return 0
	}
	var t float64
	for i, b := range a.Buckets {
		g := got.Buckets[i]
		switch {
		case b.Boundaries == leftOpen && b.Lower > g.Lower && b.Upper == g.Upper:
			t = max(t, float64(b.Lower))
		case b.Boundaries == rightOpen && b.Upper < g.Upper && b.Lower == g.Lower:
			t = max(t, -float64(b.Upper))
		}
	}
	return t
}

// sameBucket compares bit for bit, so that a NaN count is equal to itself.
func sameBucket(a, b *model.HistogramBucket) bool {
	bits := func(f model.FloatString) uint64 { return math.Float64bits(float64(f)) }
	return a.Boundaries == b.Boundaries && bits(a.Lower) == bits(b.Lower) && bits(a.Upper) == bits(b.Upper) && bits(a.Count) == bits(b.Count)
}

// toInt gives the integer form of fh when all its counts are whole numbers
// an integer histogram can hold, nil otherwise.
func toInt(fh *histogram.FloatHistogram) *histogram.Histogram {
	whole := func(f float64) bool { return f >= 0 && f < 1<<63 && f == math.Trunc(f) }
	if !whole(fh.Count) || !whole(fh.ZeroCount) {
		return nil
	}
	for _, bs := range [][]float64{fh.PositiveBuckets, fh.NegativeBuckets} {
		for _, c := range bs {
			if !whole(c) {
				return nil
			}
		}
	}
	return &histogram.Histogram{
		Schema:          fh.Schema,
		ZeroThreshold:   fh.ZeroThreshold,
		ZeroCount:       uint64(fh.ZeroCount),
		Count:           uint64(fh.Count),
		Sum:             fh.Sum,
		PositiveSpans:   fh.PositiveSpans,
		NegativeSpans:   fh.NegativeSpans,
		PositiveBuckets: deltas(fh.PositiveBuckets),
		NegativeBuckets: deltas(fh.NegativeBuckets),
	}
}

// deltas encodes absolute counts as the integer form stores them: the first
// count, then each one's difference from the one before.
func deltas(counts []float64) []int64 {
	if len(counts) == 0 {
		return nil
	}
	out := make([]int64, len(counts))
	var prev int64
	for i, c := range counts {
		out[i] = int64(c) - prev
		prev = int64(c)
	}
	return out
}

// FillSeries gives the histograms of one series, in time order, what their
// API form could not show, from their neighbours: one whose zero bucket is
// empty takes the zero threshold of the nearest histogram before it (after
// it, for those at the start) that shows one, and one without any bucket
// takes the schema likewise. A series keeps both for long stretches (a
// client lowers the schema only when its buckets grow too many), and TSDB
// starts a new chunk wherever either changes, so this makes a rebuilt series
// truer and as compact as the original. It changes the histograms in place,
// never what the API prints: a threshold that would clip a bucket is not
// taken.
func FillSeries(hs []extract.HistogramSample) {
	var (
		schema           int32
		threshold        float64
		haveSch, haveThr bool
	)
	// The first shown values serve the histograms before them.
	for _, s := range hs {
		if s.IsStale() {
			continue
		}
		sch, thr, showsSch, showsThr := parts(s)
		if showsSch && !haveSch {
			schema, haveSch = *sch, true
		}
		if showsThr && !haveThr {
			threshold, haveThr = *thr, true
		}
	}
	for _, s := range hs {
		if s.IsStale() {
			continue
		}
		sch, thr, showsSch, showsThr := parts(s)
		switch {
		case showsSch:
			schema = *sch
		case haveSch:
			*sch = schema
		}
		switch {
		case showsThr:
			threshold = *thr
		case haveThr:
			before := ToAPI(s.H, s.FH)
			if *thr = threshold; !sameBuckets(ToAPI(s.H, s.FH).Buckets, before.Buckets) {
				*thr = 0
			}
		}
	}
}

// parts gives a histogram's schema and zero threshold, and whether the API
// form shows each: the schema in the bounds of any bucket but the zero
// bucket, the threshold in a filled zero bucket or a clipped bucket (which
// FromAPI alone gives a threshold while the zero count is 0).
func parts(s extract.HistogramSample) (schema *int32, threshold *float64, showsSchema, showsThreshold bool) {
	if h := s.H; h != nil {
		return &h.Schema, &h.ZeroThreshold, len(h.PositiveBuckets)+len(h.NegativeBuckets) > 0, h.ZeroCount > 0 || h.ZeroThreshold > 0
	}
	fh := s.FH
	return &fh.Schema, &fh.ZeroThreshold, len(fh.PositiveBuckets)+len(fh.NegativeBuckets) > 0, fh.ZeroCount > 0 || fh.ZeroThreshold > 0
}

// sameBuckets compares bit for bit.
func sameBuckets(a, b model.HistogramBuckets) bool {
	return slices.EqualFunc(a, b, sameBucket)
}
