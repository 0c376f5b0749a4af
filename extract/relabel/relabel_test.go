package relabel

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

func TestParse(t *testing.T) {
	cases := []struct {
		drop, set []string
		want      string // Rules.String, or the error's text
		err       bool
	}{
		{nil, nil, "", false},
		{[]string{"cluster", "cluster", " replica "}, []string{"env=prod", "env=prod"}, "drop cluster, drop replica, set env=prod", false},
		{nil, []string{"b=1", "a=x=y"}, "set a=x=y, set b=1", false},
		{[]string{"__name__"}, nil, "metric name cannot be dropped", true},
		{nil, []string{"__name__=up"}, "metric name cannot be dropped or changed", true},
		{[]string{""}, nil, "empty label name", true},
		{nil, []string{"=x"}, "empty label name", true},
		{nil, []string{"env"}, "write NAME=VALUE", true},
		{nil, []string{"env="}, "drop env instead", true},
		{[]string{"env"}, []string{"env=prod"}, "both dropped", true},
		{nil, []string{"env=a", "env=b"}, "different values", true},
		{[]string{"bad\xffname"}, nil, "not a valid label name", true},
	}
	for _, tc := range cases {
		r, err := Parse(tc.drop, tc.set)
		switch {
		case tc.err && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("Parse(%q, %q) error = %v, want one with %q", tc.drop, tc.set, err, tc.want)
		case !tc.err && err != nil:
			t.Errorf("Parse(%q, %q): %v", tc.drop, tc.set, err)
		case !tc.err && r.String() != tc.want:
			t.Errorf("Parse(%q, %q) = %q, want %q", tc.drop, tc.set, r.String(), tc.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	r, err := Parse([]string{"replica", "cluster"}, []string{"job=renamed", "env=prod"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rules          Rules
		drop, set, sep string
		want           string
	}{
		{r, "-", "+", " ", "-cluster -replica +env=prod +job=renamed"},
		{r, "drop ", "set ", ", ", r.String()},
		{Rules{}, "-", "+", " ", ""},
	} {
		if got := tc.rules.Describe(tc.drop, tc.set, tc.sep); got != tc.want {
			t.Errorf("Describe(%q, %q, %q) = %q, want %q", tc.drop, tc.set, tc.sep, got, tc.want)
		}
	}
}

func TestApply(t *testing.T) {
	r, err := Parse([]string{"cluster", "absent"}, []string{"env=prod", "job=renamed"})
	if err != nil {
		t.Fatal(err)
	}
	in := labels.FromStrings("__name__", "up", "cluster", "eu-1", "job", "node", "instance", "a:9100")
	got := r.Apply(in)
	want := labels.FromStrings("__name__", "up", "env", "prod", "job", "renamed", "instance", "a:9100")
	if !labels.Equal(got, want) {
		t.Fatalf("Apply = %s, want %s", got, want)
	}
	if in.Get("cluster") != "eu-1" {
		t.Fatal("Apply changed its input")
	}
	if got := (Rules{}).Apply(in); !labels.Equal(got, in) {
		t.Fatalf("empty rules changed %s to %s", in, got)
	}
}

type recSink struct {
	added     []extract.Series
	done      int
	discarded int
}

func (s *recSink) Add(_ context.Context, _ extract.Window, series []extract.Series) error {
	for _, sr := range series {
		s.added = append(s.added, extract.Series{Labels: sr.Labels.Copy(), Samples: sr.Samples, Histograms: sr.Histograms})
	}
	return nil
}
func (s *recSink) Done(context.Context, extract.Window, []extract.Gap) error { s.done++; return nil }
func (s *recSink) Discard(extract.Window)                                    { s.discarded++ }

func TestWrap(t *testing.T) {
	ctx := context.Background()
	w1 := extract.Window{Start: 0, End: 7200000}
	w2 := extract.Window{Start: 7200000, End: 14400000}
	a := extract.Series{Labels: labels.FromStrings("__name__", "up", "cluster", "a", "job", "x"), Samples: []extract.Sample{{T: 1, V: 1}}}
	// b holds histograms only: it collides with a all the same.
	b := extract.Series{Labels: labels.FromStrings("__name__", "up", "cluster", "b", "job", "x"), Histograms: []extract.HistogramSample{{T: 1, H: &histogram.Histogram{Count: 2}}}}
	c := extract.Series{Labels: labels.FromStrings("__name__", "up", "cluster", "a", "job", "y"), Samples: []extract.Sample{{T: 1, V: 3}}}
	r, err := Parse([]string{"cluster"}, []string{"env=prod"})
	if err != nil {
		t.Fatal(err)
	}

	if s := &(recSink{}); Wrap(s, Rules{}) != extract.Sink(s) {
		t.Fatal("empty rules wrapped the sink")
	}

	next := &recSink{}
	sink := Wrap(next, r)
	// The same source series twice (a retry, two selectors) and another
	// one: no collision.
	for _, batch := range [][]extract.Series{{a, c}, {a}} {
		if err := sink.Add(ctx, w1, batch); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	if len(next.added) != 3 || !labels.Equal(next.added[0].Labels, labels.FromStrings("__name__", "up", "env", "prod", "job", "x")) {
		t.Fatalf("added = %v", next.added)
	}
	// b becomes what a became: a collision, naming both and the result.
	err = sink.Add(ctx, w1, []extract.Series{b})
	var ce *CollisionError
	if !errors.As(err, &ce) {
		t.Fatalf("collision not detected: %v", err)
	}
	var pe *extract.ParamError
	if !errors.As(err, &pe) || pe.Error() != err.Error() {
		t.Errorf("the collision's text is not a ParamError's, for a program to word: %v", err)
	}
	for _, want := range []string{`cluster="a"`, `cluster="b"`, `{__name__="up", env="prod", job="x"}`, "drop fewer labels", "relabelling (drop cluster, set env=prod) merges", "narrow the selector to one of them"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	sink.Discard(w1)
	if next.discarded != 1 {
		t.Fatal("Discard not passed on")
	}
	// Another window starts afresh: b alone is fine, and so it is in w1
	// once it was discarded.
	if err := sink.Add(ctx, w2, []extract.Series{b}); err != nil {
		t.Fatal(err)
	}
	if got := next.added[len(next.added)-1]; len(got.Histograms) != 1 || got.Histograms[0].H.Count != 2 || len(got.Samples) != 0 {
		t.Fatalf("relabelled histogram series = %v", got)
	}
	if err := sink.Done(ctx, w2, nil); err != nil || next.done != 1 {
		t.Fatalf("Done: %v, %d", err, next.done)
	}
	if err := sink.Add(ctx, w1, []extract.Series{b}); err != nil {
		t.Fatal(err)
	}
}
