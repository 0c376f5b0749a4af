package seriestest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/split"
	"github.com/promrecover/promrecover/nativehist"
)

// What a Prometheus API answers of a data set, for the tests of the
// sources that read one (Grafana's datasource proxy, promapi).

// ClipAll is extract.Clip for both kinds of samples.
func ClipAll(series []extract.Series, mint, maxt int64) []extract.Series {
	var out []extract.Series
	for _, s := range series {
		c := extract.Series{Labels: s.Labels}
		for _, smp := range s.Samples {
			if smp.T >= mint && smp.T < maxt {
				c.Samples = append(c.Samples, smp)
			}
		}
		for _, h := range s.Histograms {
			if h.T >= mint && h.T < maxt {
				c.Histograms = append(c.Histograms, h)
			}
		}
		if len(c.Samples)+len(c.Histograms) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// CompareAll checks floats bit for bit (extract.Compare) and histograms as
// Prometheus's API prints them, the only form both sides can be held to:
// the API drops empty buckets and an empty zero bucket's threshold.
func CompareAll(want, got []extract.Series) error {
	floats := func(ss []extract.Series) []extract.Series {
		var out []extract.Series
		for _, s := range ss {
			if len(s.Samples) > 0 {
				out = append(out, extract.Series{Labels: s.Labels, Samples: s.Samples})
			}
		}
		return out
	}
	if err := extract.Compare(floats(want), floats(got)); err != nil {
		return err
	}
	hists := func(ss []extract.Series) map[string][]string {
		m := map[string][]string{}
		for _, s := range ss {
			for _, h := range s.Histograms {
				m[s.Labels.String()] = append(m[s.Labels.String()], fmt.Sprintf("%d %v", h.T, nativehist.ToAPI(h.H, h.FH)))
			}
		}
		return m
	}
	w, g := hists(want), hists(got)
	if len(w) == 0 {
		return errors.New("the data selects no histogram")
	}
	if !reflect.DeepEqual(w, g) {
		for k := range w {
			if !slices.Equal(w[k], g[k]) {
				return fmt.Errorf("histograms of %s differ: got %d samples, want %d; first got %q, want %q", k, len(g[k]), len(w[k]), first(g[k]), first(w[k]))
			}
		}
		return fmt.Errorf("histogram series that are not in the source: %d series, want %d", len(g), len(w))
	}
	return nil
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// Stepped is what PromQL gives at every step of [from, to): the newest
// sample of the five minutes before each step, of either kind.
func Stepped(data []extract.Series, from, to int64, step time.Duration) []extract.Series {
	const lookback = int64(5 * time.Minute / time.Millisecond)
	st := step.Milliseconds()
	var out []extract.Series
	for _, s := range data {
		c := extract.Series{Labels: s.Labels}
		for ts := split.CeilTo(from, st); ts < to; ts += st {
			var f *extract.Sample
			var h *extract.HistogramSample
			for i := range s.Samples {
				if s.Samples[i].T > ts-lookback && s.Samples[i].T <= ts {
					f = &s.Samples[i]
				}
			}
			for i := range s.Histograms {
				if s.Histograms[i].T > ts-lookback && s.Histograms[i].T <= ts {
					h = &s.Histograms[i]
				}
			}
			switch {
			case h != nil && (f == nil || h.T > f.T):
				c.Histograms = append(c.Histograms, extract.HistogramSample{T: ts, H: h.H, FH: h.FH})
			case f != nil && !value.IsStaleNaN(f.V):
				c.Samples = append(c.Samples, extract.Sample{T: ts, V: f.V})
			}
		}
		if len(c.Samples)+len(c.Histograms) > 0 {
			out = append(out, c)
		}
	}
	return out
}
