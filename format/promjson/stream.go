package promjson

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/nativehist"
)

// Stream is one series as the JSON formats write it (and JSON Lines reads
// it): an element of the Prometheus API's matrix (model.SampleStream),
//
//	{"metric":{...},"values":[[<unix seconds>,"<value>"],...],
//	 "histograms":[[<unix seconds>,{"count":"..","sum":"..","buckets":[...]}],...]}
//
// with native histograms in the API's form (see package nativehist for what
// that form loses) and one addition: a stale marker, a NaN whose bit pattern
// JSON cannot carry, is written "StaleNaN", which Value reads back bit for
// bit. Writing it "NaN" would turn the end of a series into a NaN sample.
// prometheus/common/model refuses "StaleNaN", so a file with stale markers
// (Prometheus's query API never returns any; they come from blocks) is for
// promrecover import only; every other file is the API's JSON exactly.
type Stream struct {
	Metric     model.Metric                `json:"metric"`
	Values     []Value                     `json:"values,omitempty"`
	Histograms []model.SampleHistogramPair `json:"histograms,omitempty"`
}

// Value is a float sample, [<unix seconds>, "<value>"], as model.SamplePair
// writes it except for the stale marker.
type Value extract.Sample

const staleText = `"StaleNaN"`

// MarshalJSON implements json.Marshaler.
func (v Value) MarshalJSON() ([]byte, error) {
	if value.IsStaleNaN(v.V) {
		return fmt.Appendf(nil, "[%s,%s]", model.Time(v.T), staleText), nil
	}
	return model.SamplePair{Timestamp: model.Time(v.T), Value: model.SampleValue(v.V)}.MarshalJSON()
}

// UnmarshalJSON implements json.Unmarshaler.
func (v *Value) UnmarshalJSON(b []byte) error {
	pair := [...]json.Unmarshaler{(*model.Time)(&v.T), (*sampleValue)(&v.V)}
	return json.Unmarshal(b, &pair)
}

// sampleValue reads a value as model.SampleValue does, and "StaleNaN".
type sampleValue float64

func (v *sampleValue) UnmarshalJSON(b []byte) error {
	if string(b) == staleText {
		*v = sampleValue(math.Float64frombits(value.StaleNaN))
		return nil
	}
	return (*model.SampleValue)(v).UnmarshalJSON(b)
}

// NewStream gives the stream of a series. A histogram stale marker is
// written as the float stale marker it stands for (see
// extract.HistogramSample.IsStale), which TSDB turns back into one.
func NewStream(s extract.Series) *Stream {
	st := &Stream{Metric: make(model.Metric, s.Labels.Len()), Values: make([]Value, len(s.Samples))}
	s.Labels.Range(func(l labels.Label) { st.Metric[model.LabelName(l.Name)] = model.LabelValue(l.Value) })
	for i, smp := range s.Samples {
		st.Values[i] = Value(smp)
	}
	moved := false
	for _, h := range s.Histograms {
		if h.IsStale() {
			st.Values = append(st.Values, Value{T: h.T, V: math.Float64frombits(value.StaleNaN)})
			moved = true
			continue
		}
		st.Histograms = append(st.Histograms, model.SampleHistogramPair{Timestamp: model.Time(h.T), Histogram: nativehist.ToAPI(h.H, h.FH)})
	}
	if moved {
		slices.SortFunc(st.Values, func(a, b Value) int { return cmp.Compare(a.T, b.T) })
	}
	return st
}

// Series gives the series of a stream, labels sorted, histograms rebuilt
// with nativehist.FromAPI and filled in with nativehist.FillSeries (the
// stream's histograms are in time order, as export writes them).
//
// Labels no block can hold as they came are an *extract.LabelError;
// replaced says the text decoded had bytes that are not UTF-8, which
// encoding/json turned into U+FFFD: a label holding one is refused.
func (st *Stream) Series(replaced bool) (extract.Series, error) {
	lset, err := labelsOf(st.Metric, replaced)
	if err != nil {
		return extract.Series{}, err
	}
	s := extract.Series{Labels: lset, Samples: make([]extract.Sample, len(st.Values))}
	for i, v := range st.Values {
		s.Samples[i] = extract.Sample(v)
	}
	if len(st.Histograms) > 0 {
		s.Histograms = make([]extract.HistogramSample, len(st.Histograms))
	}
	for i, p := range st.Histograms {
		if p.Histogram == nil {
			return s, fmt.Errorf("series %s: the histogram at %s is null", s.Labels, p.Timestamp)
		}
		h, fh, err := nativehist.FromAPI(p.Histogram)
		if err != nil {
			return s, fmt.Errorf("series %s: the histogram at %s: %w", s.Labels, p.Timestamp, err)
		}
		s.Histograms[i] = extract.HistogramSample{T: int64(p.Timestamp), H: h, FH: fh}
	}
	nativehist.FillSeries(s.Histograms)
	return s, nil
}

// labelsOf gives a metric's labels, sorted, once extract.CheckLabels
// passes them.
func labelsOf(m model.Metric, replaced bool) (labels.Labels, error) {
	check := make([]extract.ReadLabel, 0, len(m))
	for k, v := range m {
		l := extract.ReadLabel{Label: labels.Label{Name: string(k), Value: string(v)}}
		if replaced && strings.ContainsRune(l.Name+l.Value, utf8.RuneError) {
			l.Problem = extract.LabelInvalidUTF8
		}
		check = append(check, l)
	}
	slices.SortFunc(check, func(a, b extract.ReadLabel) int { return strings.Compare(a.Name, b.Name) })
	if err := extract.CheckLabels(check); err != nil {
		return labels.EmptyLabels(), err
	}
	b := labels.NewScratchBuilder(len(m))
	for _, l := range check {
		b.Add(l.Name, l.Value)
	}
	return b.Labels(), nil
}
