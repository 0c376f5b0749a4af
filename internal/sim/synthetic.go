package sim

import (
	"slices"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
)

// synthSource serves a Synthetic to the store. Only the label sets are
// held (a few MB for 10,000 series); samples are computed as they are read.
type synthSource struct {
	g      *gen.Generator
	ids    []int           // series id at each position in label order
	lsets  []labels.Labels // labels at each position
	byName map[string][]int
}

func newSynthSource(s *gen.Synthetic) *synthSource {
	g := s.Generator()
	src := &synthSource{g: g, ids: make([]int, g.NumSeries()), lsets: make([]labels.Labels, g.NumSeries()), byName: map[string][]int{}}
	for id := range g.NumSeries() {
		src.ids[id] = id
		src.lsets[id] = g.Labels(id)
	}
	slices.SortFunc(src.ids, func(a, b int) int { return labels.Compare(src.lsets[a], src.lsets[b]) })
	sorted := make([]labels.Labels, g.NumSeries())
	for i, id := range src.ids {
		sorted[i] = src.lsets[id]
		name := sorted[i].Get(model.MetricNameLabel)
		src.byName[name] = append(src.byName[name], i)
	}
	src.lsets = sorted
	return src
}

func (s *synthSource) len() int                   { return len(s.ids) }
func (s *synthSource) labels(i int) labels.Labels { return s.lsets[i] }
func (s *synthSource) withName(name string) []int { return s.byName[name] }
func (s *synthSource) has(i int, mint, maxt int64) bool {
	return s.g.Count(s.ids[i], mint, maxt) > 0
}

func (s *synthSource) series(i int, mint, maxt int64) storage.Series {
	return &synthSeries{g: s.g, id: s.ids[i], lset: s.lsets[i], mint: mint, maxt: maxt}
}

// synthSeries is one synthetic series over an inclusive time range.
type synthSeries struct {
	g          *gen.Generator
	id         int
	lset       labels.Labels
	mint, maxt int64
}

func (s *synthSeries) Labels() labels.Labels { return s.lset }

// count is the number of samples the iterator yields, found without
// computing them; no synthetic value is a stale marker.
func (s *synthSeries) count() int64 { return s.g.Count(s.id, s.mint, s.maxt) }

// Iterator serves the samples through Prometheus's list iterator over a
// list that computes sample i when it is asked for.
func (s *synthSeries) Iterator(it chunkenc.Iterator) chunkenc.Iterator {
	sh := s.g.Hash(s.id)
	list := &synthSamples{g: s.g, id: s.id, sh: sh, tAt: -1, vAt: -1}
	list.first, list.n = s.g.Scrapes(sh, s.mint, s.maxt)
	if r, ok := it.(interface{ Reset(storage.Samples) }); ok {
		r.Reset(list)
		return it
	}
	return storage.NewListSeriesIterator(list)
}

// synthSamples is the samples of a series from scrape first on, computed
// as they are read. Get hands out the list itself as the sample, valid
// until the next Get, which is all the list iterator needs; T and F are
// computed once each for the index last asked for.
type synthSamples struct {
	g        *gen.Generator
	id       int
	sh       uint64
	first    int64 // scrape of sample 0
	n        int
	cur      int // the index Get last gave
	tAt, vAt int // the indexes t and v hold
	t        int64
	v        float64
}

func (l *synthSamples) Len() int { return l.n }

func (l *synthSamples) Get(i int) chunks.Sample {
	l.cur = i
	return (*synthSample)(l)
}

// synthSample is the current sample of a synthSamples.
type synthSample synthSamples

func (s *synthSample) T() int64 {
	if s.tAt != s.cur {
		s.t, s.tAt = s.g.At(s.sh, s.first+int64(s.cur)), s.cur
	}
	return s.t
}

func (s *synthSample) F() float64 {
	if s.vAt != s.cur {
		s.v, s.vAt = s.g.Value(s.id, s.sh, s.first+int64(s.cur)), s.cur
	}
	return s.v
}

func (s *synthSample) ST() int64                     { return 0 }
func (s *synthSample) H() *histogram.Histogram       { return nil }
func (s *synthSample) FH() *histogram.FloatHistogram { return nil }
func (s *synthSample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s *synthSample) Copy() chunks.Sample {
	c := extract.Sample{T: s.T(), V: s.F()}
	return floatSample{&c}
}
