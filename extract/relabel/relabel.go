// Package relabel rewrites the labels of recovered series before they are
// written: a rule drops a label (for example an external label that
// remote_write added on the way to the cloud) or gives one a fixed value. Rules apply to what is written, not to what is asked: selectors still
// match the labels the series carry in the source.
//
// Two different source series that become one label set would be merged into
// one series with interleaved samples; Wrap refuses that with an error that
// names both and says how to avoid it.
package relabel

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// Rules are the label rewrites of one run. The zero value changes nothing.
type Rules struct {
	drop []string       // sorted, no duplicates
	set  []labels.Label // sorted by name, no duplicates
}

// Parse checks the labels to drop (NAME) and to set (NAME=VALUE). Names must
// be valid Prometheus label names. __name__ may be neither dropped nor set:
// a series without a name cannot be queried the usual way, and renaming a
// metric merges or splits series in ways better done with recording rules.
// A label may not be both dropped and set, nor set twice to different values.
// An empty value (NAME=) is refused as well: in Prometheus an empty label is
// the same as no label, so the label is to be dropped.
func Parse(drop, set []string) (Rules, error) {
	var r Rules
	check := func(what, name string) error {
		if name == "" {
			return extract.Usage(extract.ParamErrorf("%s: empty label name", what))
		}
		if !model.UTF8Validation.IsValidLabelName(name) {
			return extract.Usage(extract.ParamErrorf("%s %q: not a valid label name", what, name))
		}
		if name == model.MetricNameLabel {
			return extract.Usage(extract.ParamErrorf("%s %s: the metric name cannot be dropped or changed", what, name))
		}
		return nil
	}
	for _, d := range drop {
		d = strings.TrimSpace(d)
		if err := check("the label to drop", d); err != nil {
			return Rules{}, err
		}
		if !slices.Contains(r.drop, d) {
			r.drop = append(r.drop, d)
		}
	}
	for _, s := range set {
		name, value, ok := strings.Cut(s, "=")
		name = strings.TrimSpace(name)
		if !ok {
			return Rules{}, extract.Usage(extract.ParamErrorf("the label to set %q: write NAME=VALUE, e.g. env=prod", s))
		}
		if err := check("the label to set", name); err != nil {
			return Rules{}, err
		}
		if value == "" {
			return Rules{}, extract.Usage(extract.ParamErrorf("the label to set %q: an empty value removes the label in Prometheus; drop %s instead", s, name))
		}
		if slices.Contains(r.drop, name) {
			return Rules{}, extract.Usage(extract.ParamErrorf("label %s is both dropped and set; give one", name))
		}
		if i := slices.IndexFunc(r.set, func(l labels.Label) bool { return l.Name == name }); i >= 0 {
			if r.set[i].Value != value {
				return Rules{}, extract.Usage(extract.ParamErrorf("the label to set %s is given twice with different values (%q and %q)", name, r.set[i].Value, value))
			}
			continue
		}
		r.set = append(r.set, labels.Label{Name: name, Value: value})
	}
	slices.Sort(r.drop)
	slices.SortFunc(r.set, func(a, b labels.Label) int { return strings.Compare(a.Name, b.Name) })
	return r, nil
}

// Empty reports whether the rules change nothing.
func (r Rules) Empty() bool { return len(r.drop) == 0 && len(r.set) == 0 }

// String describes the rules, drops first: "drop a, set b=1".
func (r Rules) String() string { return r.Describe("drop ", "set ", ", ") }

// Describe writes the rules in the caller's words: drop before each label
// dropped, set before each NAME=VALUE set, drops first, each sorted, with
// sep between them.
func (r Rules) Describe(drop, set, sep string) string {
	var parts []string
	for _, d := range r.drop {
		parts = append(parts, drop+d)
	}
	for _, s := range r.set {
		parts = append(parts, set+s.Name+"="+s.Value)
	}
	return strings.Join(parts, sep)
}

// Apply returns ls rewritten: dropped labels removed, set labels added or
// replaced. ls itself is not changed.
func (r Rules) Apply(ls labels.Labels) labels.Labels {
	if r.Empty() {
		return ls
	}
	b := labels.NewBuilder(ls)
	for _, d := range r.drop {
		b.Del(d)
	}
	for _, s := range r.set {
		b.Set(s.Name, s.Value)
	}
	return b.Labels()
}

// CollisionError says that two different source series became one. Its
// fix concerns the rules and the selector the caller gave, so its text is
// an *extract.ParamError's, which Unwrap returns, for a program to word in
// its own terms.
type CollisionError struct {
	Window extract.Window
	A, B   labels.Labels // the source series
	Result labels.Labels // what both became
	Rules  Rules
}

func (e *CollisionError) Error() string { return e.Unwrap().Error() }

func (e *CollisionError) Unwrap() error {
	// The window is left to the caller, which names it already.
	return extract.ParamErrorf("relabelling (%s) merges two series: %s and %s both become %s; drop fewer labels (or set fewer) so that every series stays distinct, or narrow the selector to one of them",
		e.Rules, e.A, e.B, e.Result)
}

// Wrap returns a sink that relabels each series before passing it to sink
// and fails a window in which two different source series become one. The
// same source series arriving again in a window (a retry, or two selectors
// that match it) is not a collision. With no rules it returns sink itself.
func Wrap(sink extract.Sink, r Rules) extract.Sink {
	if r.Empty() {
		return sink
	}
	return &relabelSink{next: sink, rules: r, windows: map[extract.Window]*windowSeen{}}
}

type relabelSink struct {
	next  extract.Sink
	rules Rules

	mu      sync.Mutex
	windows map[extract.Window]*windowSeen
}

// windowSeen maps each result label set of a window to its source, by hash,
// with the rare hash collisions kept in a list.
type windowSeen struct {
	mu  sync.Mutex
	src map[uint64][]pair
}

type pair struct{ result, source labels.Labels }

func (s *relabelSink) window(w extract.Window) *windowSeen {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := s.windows[w]
	if ws == nil {
		ws = &windowSeen{src: map[uint64][]pair{}}
		s.windows[w] = ws
	}
	return ws
}

func (s *relabelSink) forget(w extract.Window) {
	s.mu.Lock()
	delete(s.windows, w)
	s.mu.Unlock()
}

func (s *relabelSink) Add(ctx context.Context, w extract.Window, series []extract.Series) error {
	ws := s.window(w)
	out := make([]extract.Series, len(series))
	ws.mu.Lock()
	for i, sr := range series {
		res := s.rules.Apply(sr.Labels)
		h := res.Hash()
		known := false
		for _, p := range ws.src[h] {
			if !labels.Equal(p.result, res) {
				continue
			}
			if !labels.Equal(p.source, sr.Labels) {
				ws.mu.Unlock()
				return &CollisionError{Window: w, A: p.source, B: sr.Labels.Copy(), Result: res, Rules: s.rules}
			}
			known = true
			break
		}
		if !known {
			// Labels may share memory the source reuses after the call.
			ws.src[h] = append(ws.src[h], pair{result: res.Copy(), source: sr.Labels.Copy()})
		}
		sr.Labels = res
		out[i] = sr
	}
	ws.mu.Unlock()
	return s.next.Add(ctx, w, out)
}

func (s *relabelSink) Done(ctx context.Context, w extract.Window, gaps []extract.Gap) error {
	s.forget(w)
	return s.next.Done(ctx, w, gaps)
}

func (s *relabelSink) Discard(w extract.Window) {
	s.forget(w)
	s.next.Discard(w)
}
