// Package export is the end of the pipeline that collects series in memory
// for a file: Matrix, the sink an export (and verify --against a file)
// fills, whose Series the format packages (format/promjson, format/jsonl,
// format/openmetrics) then write.
package export

import (
	"context"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// Matrix collects series for a matrix answer. It implements extract.Sink.
// A window is kept apart until it is done, so a failed window leaves nothing
// behind; the whole answer is held in memory, which suits inspection-sized
// exports.
type Matrix struct {
	mu      sync.Mutex
	pending map[extract.Window][]extract.Series
	series  map[uint64][]*extract.Series // by labels hash; a slice for collisions
}

// NewMatrix returns an empty matrix.
func NewMatrix() *Matrix {
	return &Matrix{pending: map[extract.Window][]extract.Series{}, series: map[uint64][]*extract.Series{}}
}

// Add implements extract.Sink.
func (m *Matrix) Add(_ context.Context, w extract.Window, series []extract.Series) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range series {
		// The source may reuse the samples' memory after the call.
		m.pending[w] = append(m.pending[w], extract.Series{Labels: s.Labels, Samples: slices.Clone(s.Samples), Histograms: slices.Clone(s.Histograms)})
	}
	return nil
}

// Done implements extract.Sink. Gaps fail an export as a whole (the caller
// writes nothing), so they need no keeping here.
func (m *Matrix) Done(_ context.Context, w extract.Window, _ []extract.Gap) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.pending[w] {
		m.merge(s)
	}
	delete(m.pending, w)
	return nil
}

// Discard implements extract.Sink.
func (m *Matrix) Discard(w extract.Window) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.pending, w)
}

func (m *Matrix) merge(s extract.Series) {
	h := s.Labels.Hash()
	for _, have := range m.series[h] {
		if labels.Equal(have.Labels, s.Labels) {
			have.Samples = append(have.Samples, s.Samples...)
			have.Histograms = append(have.Histograms, s.Histograms...)
			return
		}
	}
	m.series[h] = append(m.series[h], &s)
}

// Series returns what was collected, sorted by labels, each series sorted by
// time without repeated timestamps (two selectors may match one series).
func (m *Matrix) Series() []extract.Series {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]extract.Series, 0, len(m.series))
	for _, ss := range m.series {
		for _, s := range ss {
			c := *s
			c.Normalize(minInt64, maxInt64)
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b extract.Series) int { return labels.Compare(a.Labels, b.Labels) })
	return out
}

const (
	minInt64 = -1 << 63
	maxInt64 = 1<<63 - 1
)
