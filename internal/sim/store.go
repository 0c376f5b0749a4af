package sim

import (
	"cmp"
	"context"
	"slices"
	"sort"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/promrecover/promrecover/extract"
)

// store is a read-only storage.Queryable over a source of series, so
// queries run through Prometheus's own engine (lookback, staleness,
// range-selector edges) rather than an imitation of it.
type store struct {
	src source
}

// source is what the store reads: series addressed by their position in
// label order, each label set once.
type source interface {
	len() int
	labels(i int) labels.Labels
	// withName lists, ascending, the positions of the series named name.
	withName(name string) []int
	// has reports whether series i has a sample in [mint, maxt].
	has(i int, mint, maxt int64) bool
	// series is series i with its samples in [mint, maxt].
	series(i int, mint, maxt int64) storage.Series
}

// memSource is series held in memory.
type memSource struct {
	list   []extract.Series // sorted by labels, one entry per label set
	byName map[string][]int
}

// newStore serves in-memory series; see newMemSource.
func newStore(in []extract.Series) *store { return &store{src: newMemSource(in)} }

// newMemSource sorts and merges the series without touching the caller's
// slices: samples are only copied where they must be re-sorted or merged.
func newMemSource(in []extract.Series) *memSource {
	ss := make([]extract.Series, 0, len(in))
	for _, s := range in {
		if !slices.IsSortedFunc(s.Samples, extract.ByTime) {
			s.Samples = slices.Clone(s.Samples)
			slices.SortStableFunc(s.Samples, extract.ByTime)
		}
		if !slices.IsSortedFunc(s.Histograms, byTimeH) {
			s.Histograms = slices.Clone(s.Histograms)
			slices.SortStableFunc(s.Histograms, byTimeH)
		}
		ss = append(ss, s)
	}
	sort.SliceStable(ss, func(i, j int) bool { return labels.Compare(ss[i].Labels, ss[j].Labels) < 0 })
	out := ss[:0]
	for _, s := range ss {
		if n := len(out); n > 0 && labels.Equal(out[n-1].Labels, s.Labels) {
			out[n-1].Samples = mergeSamples(out[n-1].Samples, s.Samples)
			out[n-1].Histograms = mergeSamples(out[n-1].Histograms, s.Histograms)
			continue
		}
		out = append(out, s)
	}
	m := &memSource{list: out, byName: map[string][]int{}}
	for i, s := range out {
		name := s.Labels.Get(model.MetricNameLabel)
		m.byName[name] = append(m.byName[name], i)
	}
	return m
}

func (m *memSource) len() int                   { return len(m.list) }
func (m *memSource) labels(i int) labels.Labels { return m.list[i].Labels }
func (m *memSource) withName(name string) []int { return m.byName[name] }
func (m *memSource) has(i int, mint, maxt int64) bool {
	s := &m.list[i]
	return len(window(s.Samples, floatT, mint, maxt)) > 0 || len(window(s.Histograms, histT, mint, maxt)) > 0
}

func (m *memSource) series(i int, mint, maxt int64) storage.Series {
	s := &m.list[i]
	return &memSeries{lset: s.Labels, samples: window(s.Samples, floatT, mint, maxt), hists: window(s.Histograms, histT, mint, maxt)}
}

func byTimeH(a, b extract.HistogramSample) int { return cmp.Compare(a.T, b.T) }

// window returns the samples in [mint, maxt], the range a TSDB querier
// serves; at reads a sample's timestamp.
func window[S any](s []S, at func(*S) int64, mint, maxt int64) []S {
	lo := sort.Search(len(s), func(i int) bool { return at(&s[i]) >= mint })
	hi := sort.Search(len(s), func(i int) bool { return at(&s[i]) > maxt })
	return s[lo:hi]
}

func floatT(s *extract.Sample) int64         { return s.T }
func histT(s *extract.HistogramSample) int64 { return s.T }

// mergeSamples joins two sorted runs; on equal timestamps the first wins, as
// a TSDB append of a duplicate would be refused.
func mergeSamples[S interface{ Time() int64 }](a, b []S) []S {
	out := make([]S, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].Time() < b[j].Time()):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].Time() < a[i].Time():
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

func (st *store) Querier(mint, maxt int64) (storage.Querier, error) {
	return &querier{st: st, mint: mint, maxt: maxt}, nil
}

type querier struct {
	st         *store
	mint, maxt int64
}

// matching yields the positions of series with samples in range that
// match every matcher; an equality matcher on the name narrows the scan
// first.
func (q *querier) matching(ms []*labels.Matcher, yield func(i int)) {
	src := q.st.src
	var candidates []int
	scanAll := true
	for _, m := range ms {
		if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
			candidates, scanAll = src.withName(m.Value), false
			break
		}
	}
	visit := func(i int) {
		lset := src.labels(i)
		for _, m := range ms {
			if !m.Matches(lset.Get(m.Name)) {
				return
			}
		}
		if src.has(i, q.mint, q.maxt) {
			yield(i)
		}
	}
	if scanAll {
		for i := range src.len() {
			visit(i)
		}
		return
	}
	for _, i := range candidates { // ascending, so the result stays sorted
		visit(i)
	}
}

func (q *querier) Select(_ context.Context, _ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	var list []storage.Series
	q.matching(ms, func(i int) {
		list = append(list, q.st.src.series(i, q.mint, q.maxt))
	})
	return &seriesSet{list: list, i: -1}
}

func (q *querier) LabelValues(_ context.Context, name string, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	seen := map[string]struct{}{}
	q.matching(ms, func(i int) {
		if v := q.st.src.labels(i).Get(name); v != "" {
			seen[v] = struct{}{}
		}
	})
	return sortedKeys(seen), nil, nil
}

func (q *querier) LabelNames(_ context.Context, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	seen := map[string]struct{}{}
	q.matching(ms, func(i int) {
		q.st.src.labels(i).Range(func(l labels.Label) { seen[l.Name] = struct{}{} })
	})
	return sortedKeys(seen), nil, nil
}

func (q *querier) Close() error { return nil }

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type seriesSet struct {
	list []storage.Series
	i    int
}

func (s *seriesSet) Next() bool                        { s.i++; return s.i < len(s.list) }
func (s *seriesSet) At() storage.Series                { return s.list[s.i] }
func (s *seriesSet) Err() error                        { return nil }
func (s *seriesSet) Warnings() annotations.Annotations { return nil }

type memSeries struct {
	lset    labels.Labels
	samples []extract.Sample
	hists   []extract.HistogramSample
}

func (s *memSeries) Labels() labels.Labels { return s.lset }

// Iterator serves samples through Prometheus's list iterator; values pass
// through bit for bit, so stale markers stay stale markers for the engine.
// A series with native histograms gets both kinds merged in time order, as
// a TSDB series that changed kind holds them.
func (s *memSeries) Iterator(chunkenc.Iterator) chunkenc.Iterator {
	if len(s.hists) == 0 {
		return storage.NewListSeriesIterator(sampleList(s.samples))
	}
	merged := make(chunks.SampleSlice, 0, len(s.samples)+len(s.hists))
	i, j := 0, 0
	for i < len(s.samples) || j < len(s.hists) {
		if j == len(s.hists) || (i < len(s.samples) && s.samples[i].T < s.hists[j].T) {
			merged = append(merged, floatSample{&s.samples[i]})
			i++
			continue
		}
		merged = append(merged, histSample{&s.hists[j]})
		j++
	}
	return storage.NewListSeriesIterator(merged)
}

// sampleList lets the list iterator read extract samples in place.
type sampleList []extract.Sample

func (l sampleList) Get(i int) chunks.Sample { return floatSample{&l[i]} }
func (l sampleList) Len() int                { return len(l) }

// floatSample is pointer-shaped, so boxing it in chunks.Sample allocates
// nothing per sample read.
type floatSample struct{ p *extract.Sample }

func (s floatSample) T() int64                      { return s.p.T }
func (s floatSample) ST() int64                     { return 0 }
func (s floatSample) F() float64                    { return s.p.V }
func (s floatSample) H() *histogram.Histogram       { return nil }
func (s floatSample) FH() *histogram.FloatHistogram { return nil }
func (s floatSample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s floatSample) Copy() chunks.Sample           { c := *s.p; return floatSample{&c} }

// histSample is a native histogram sample, of integer counts (H) or float
// counts (FH).
type histSample struct{ p *extract.HistogramSample }

func (s histSample) T() int64                { return s.p.T }
func (s histSample) ST() int64               { return 0 }
func (s histSample) F() float64              { return 0 }
func (s histSample) H() *histogram.Histogram { return s.p.H }

// FH converts integer counts as TSDB's chunk iterators do: the engine asks
// for the float form of either kind.
func (s histSample) FH() *histogram.FloatHistogram {
	if s.p.H != nil {
		return s.p.H.ToFloat(nil)
	}
	return s.p.FH
}

func (s histSample) Type() chunkenc.ValueType {
	if s.p.H != nil {
		return chunkenc.ValHistogram
	}
	return chunkenc.ValFloatHistogram
}

func (s histSample) Copy() chunks.Sample {
	c := extract.HistogramSample{T: s.p.T}
	if s.p.H != nil {
		c.H = s.p.H.Copy()
	} else {
		c.FH = s.p.FH.Copy()
	}
	return histSample{&c}
}
