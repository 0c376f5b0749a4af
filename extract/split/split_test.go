package split

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/promrecover/promrecover/extract"
)

func TestTimeSplitAlignment(t *testing.T) {
	const step = 15 * time.Second
	for _, tc := range []struct {
		name     string
		from, to int64
		step     time.Duration
		minRange time.Duration
		mid      int64 // 0: not split
	}{
		// steps at 15000, 30000, ..., 105000: 7 of them; the first half gets 3.
		{"step halves on a step", 1000, 1000 + 7*15000 + 2000, step, step, 60000},
		{"a part with one step", 14000, 29000, step, step, 0},
		// With a minimum of a minute, halves hold 4 steps of 15s.
		{"7 steps of 15s, halves under a minute", 1000, 1000 + 7*15000 + 2000, step, time.Minute, 0},
		{"8 steps of 15s", 0, 8 * 15000, step, time.Minute, 60000},
		{"a raw part under two minutes", 0, 119999, 0, time.Minute, 0},
		{"raw halves", 0, 120000, 0, time.Minute, 60000},
		{"raw halves of an odd range", 0, 120001, 0, time.Minute, 60000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := part{sel: "up", from: tc.from, to: tc.to}
			parts, how := byTime(p, tc.step, tc.minRange)
			if tc.mid == 0 {
				if parts != nil || how != "" {
					t.Fatalf("split into %+v", parts)
				}
				return
			}
			if how != "time" || len(parts) != 2 || parts[0].from != p.from || parts[0].to != tc.mid || parts[1].from != tc.mid || parts[1].to != p.to || parts[1].sel != "up" {
				t.Fatalf("halves %+v by %q; want at %d", parts, how, tc.mid)
			}
		})
	}
}

func TestCeilTo(t *testing.T) {
	for _, tc := range []struct{ t, step, want int64 }{
		{0, 15000, 0},
		{1, 15000, 15000},
		{15000, 15000, 15000},
		{15001, 15000, 30000},
		{-1, 15000, 0},
		{-15000, 15000, -15000},
		{-15001, 15000, -15000},
		{1754179200123, 1000, 1754179201000},
	} {
		if got := CeilTo(tc.t, tc.step); got != tc.want {
			t.Errorf("CeilTo(%d, %d) = %d, want %d", tc.t, tc.step, got, tc.want)
		}
	}
}

func TestOptionsDefaults(t *testing.T) {
	got := Options{MaxDepth: 3}.WithDefaults()
	want := Options{MinRange: time.Minute, SlowRange: 15 * time.Minute, MaxDepth: 3, MaxLabelLookups: 8, MaxQueries: 20000}
	if got != want {
		t.Fatalf("defaults %+v, want %+v", got, want)
	}
}

// tooBig and timeout are the fake source's failures.
type tooBig struct{ limit string }

func (e *tooBig) Error() string { return "over " + e.limit + "; retry never" }

var errTimeout = errors.New("timed out")

func fakeClassify(err error) Failure {
	var tb *tooBig
	switch {
	case errors.As(err, &tb) && tb.limit == "range":
		return Failure{Kind: TimeFirst, Limit: tb.limit, Msg: "over " + tb.limit, Hint: "; shorten it"}
	case errors.As(err, &tb) && tb.limit == "series":
		return Failure{Kind: SeriesOnly, Limit: tb.limit, Msg: "over " + tb.limit, Hint: "; narrow it"}
	case errors.As(err, &tb):
		return Failure{Kind: SeriesFirst, Limit: tb.limit, Msg: "over " + tb.limit, Hint: "; narrow it"}
	case errors.Is(err, errTimeout):
		return Failure{Kind: Slow}
	}
	return Failure{}
}

func TestJudge(t *testing.T) {
	ctx := context.Background()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want Kind
	}{
		{"no error", ctx, nil, NoSplit},
		{"series limit", ctx, &tooBig{"series"}, SeriesOnly},
		{"chunks limit", ctx, &tooBig{"chunks"}, SeriesFirst},
		{"range limit", ctx, fmt.Errorf("query: %w", &tooBig{"range"}), TimeFirst},
		{"timeout", ctx, errTimeout, Slow},
		{"other", ctx, errors.New("bad query"), NoSplit},
		{"abort", ctx, &extract.AbortError{Err: errTimeout}, NoSplit},
		{"run cancelled", canceled, errTimeout, NoSplit},
	} {
		if got := Judge(tc.ctx, tc.err, fakeClassify).Kind; got != tc.want {
			t.Errorf("%s: %v is kind %d, want %d", tc.name, tc.err, got, tc.want)
		}
	}
}

// The fake source's data: a metric with six instances and one series
// without the label, two small metrics, one series sampled every second and
// one with four instances; samples a minute past [0, 2h) on both sides so
// that trimming shows.
const fakeEnd = 2 * 3600 * 1000

var fakeData = func() []extract.Series {
	var out []extract.Series
	add := func(every int64, kv ...string) {
		s := extract.Series{Labels: labels.FromStrings(kv...)}
		for t := -60000 + int64(len(out))*137%every; t < fakeEnd+60000; t += every {
			s.Samples = append(s.Samples, extract.Sample{T: t, V: float64(t)})
		}
		out = append(out, s)
	}
	for i := range 6 {
		add(15000, "__name__", "req_total", "job", "api", "instance", fmt.Sprintf("i%d", i))
	}
	add(15000, "__name__", "req_total", "job", "api")
	for i := range 3 {
		add(15000, "__name__", "mem_bytes", "job", "node", "instance", fmt.Sprintf("n%d", i))
	}
	add(1000, "__name__", "fine", "job", "f")
	for _, in := range []string{"a", "b", "c", "d"} {
		add(15000, "__name__", "big", "job", "big", "instance", in)
	}
	return out
}()

var bigC = labels.FromStrings("__name__", "big", "job", "big", "instance", "c")

// fake is a source over fakeData with limits.
type fake struct {
	maxSeries  int   // a query over more series is too big
	maxSamples int   // a query over more samples is too big
	maxRange   int64 // a query over a longer range is too big (time first)
	slowRange  int64 // a query over a longer range times out
	never      bool  // a query touching bigC is too big
	slowC      bool  // a query touching bigC times out
	lookupErr  error // every lookup fails so
	failPart   error // a query of a part (not the unit) fails so
	missValue  string
	queries    []string // every query, "selector from to"
	lookups    int
}

func (f *fake) sel(sel string, from, to int64) []extract.Series {
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(sel)
	if err != nil {
		panic(err)
	}
	var out []extract.Series
	for _, s := range fakeData {
		if !slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return !m.Matches(s.Labels.Get(m.Name)) }) {
			out = append(out, s)
		}
	}
	return extract.Clip(out, from, to)
}

func (f *fake) Query(_ context.Context, u extract.Unit) ([]extract.Series, error) {
	f.queries = append(f.queries, fmt.Sprintf("%s %d %d", u.Selector, u.From, u.To))
	if f.failPart != nil && len(f.queries) > 1 {
		return nil, f.failPart
	}
	// A minute on both sides, as a range selector reaches back.
	series := f.sel(u.Selector, u.From-60000, u.To+60000)
	n := 0
	for _, s := range series {
		n += len(s.Samples)
	}
	touchesC := slices.ContainsFunc(series, func(s extract.Series) bool { return labels.Equal(s.Labels, bigC) })
	switch {
	case f.maxSeries > 0 && len(series) > f.maxSeries:
		return nil, &tooBig{"series"}
	case f.maxSamples > 0 && n > f.maxSamples:
		return nil, &tooBig{"samples"}
	case f.maxRange > 0 && u.To-u.From > f.maxRange:
		return nil, &tooBig{"range"}
	case f.slowRange > 0 && u.To-u.From > f.slowRange, f.slowC && touchesC:
		return nil, errTimeout
	case f.never && touchesC:
		return nil, &tooBig{"chunks"}
	}
	return series, nil
}

func (f *fake) LabelNames(_ context.Context, sel string, from, to int64) ([]string, error) {
	f.lookups++
	if f.lookupErr != nil {
		return nil, f.lookupErr
	}
	seen := map[string]bool{}
	for _, s := range f.sel(sel, from, to) {
		s.Labels.Range(func(l labels.Label) { seen[l.Name] = true })
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

func (f *fake) LabelValues(_ context.Context, names []string, sel string, from, to int64) ([][]string, error) {
	f.lookups++
	if f.lookupErr != nil {
		return nil, f.lookupErr
	}
	out := make([][]string, len(names))
	for i, name := range names {
		for _, s := range f.sel(sel, from, to) {
			if v := s.Labels.Get(name); v != "" && v != f.missValue && !slices.Contains(out[i], v) {
				out[i] = append(out[i], v)
			}
		}
		slices.Sort(out[i])
	}
	return out, nil
}

// splitResult is one Split of the fake source, with what it logged.
type splitResult struct {
	series []extract.Series
	err    error
	logs   []map[string]any
}

// by lists the "by" of every split decision logged, in order.
func (r splitResult) by() []string {
	var out []string
	for _, l := range r.logs {
		if l["msg"] == "splitting a query" {
			out = append(out, fmt.Sprint(l["by"]))
		}
	}
	return out
}

func runSplit(t *testing.T, f *fake, opts Options, u extract.Unit) splitResult {
	t.Helper()
	var logs bytes.Buffer
	sp := &Splitter{Lookup: f, Query: f.Query, Classify: fakeClassify, Options: opts,
		Brief: func(err error) string { return "brief: " + err.Error() }, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	var r splitResult
	_, cause := f.Query(context.Background(), u)
	r.series, r.err = sp.Split(context.Background(), u, cause)
	for _, line := range bytes.Split(bytes.TrimSpace(logs.Bytes()), []byte("\n")) {
		var m map[string]any
		if len(line) > 0 {
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatal(err)
			}
			r.logs = append(r.logs, m)
		}
	}
	return r
}

var errBad = errors.New("bad query")

// times is n times the split decisions by.
func times(n int, by ...string) []string {
	var out []string
	for range n {
		out = append(out, by...)
	}
	return out
}

// slowPart is how a 15m part that holds a series always timing out is
// split: by name, by label, then that series by time down to 1m52.5s.
var slowPart = slices.Concat([]string{"metric name", "label instance"}, times(7, "time"))

// splitCases fetch a unit of [0, 2h) from the fake source in parts: every
// case must return exactly the source's series (but missing), split in
// the order by says, send no query twice, and leave the gaps listed.
var splitCases = []struct {
	name    string
	sel     string
	step    time.Duration
	src     fake
	opts    Options
	by      []string // every split decision, in order
	missing []string // series not returned (labels as printed; "*" for all)
	gaps    []extract.Gap
	reason  []string // parts of every gap's reason
	err     string   // part of the error that fails the unit
}{
	{name: "series limit: by metric name", sel: `{__name__=~"req_total|mem_bytes"}`, src: fake{maxSeries: 7},
		by: []string{"metric name"}},
	{name: "series limit: by a label's values, with the series that lack it", sel: `req_total`, src: fake{maxSeries: 3},
		by: []string{"label instance"}},
	{name: "series limit: by name, then label", sel: `{job=~"api|node"}`, src: fake{maxSeries: 3},
		by: []string{"metric name", "label instance"}},
	{name: "a missed label value is in the rest part", sel: `req_total`, src: fake{maxSeries: 3, missValue: "i4"},
		by: []string{"label instance"}},
	{name: "too many samples in one series: by time", sel: `fine`, src: fake{maxSamples: 2000},
		by: times(3, "time")},
	{name: "too many samples in one series, step mode: by time", sel: `fine`, step: time.Second, src: fake{maxSamples: 4000},
		by: []string{"time"}},
	{name: "over a range limit: time first", sel: `{__name__=~"req_total|mem_bytes"}`, src: fake{maxRange: 3600000},
		by: []string{"time"}},
	{name: "a long part that times out: time first", sel: `{__name__=~"req_total|mem_bytes"}`, src: fake{slowRange: 30 * 60000},
		by: []string{"time", "time", "time"}},
	{name: "lookups fail: by the prefixes of names and labels in turn, never by time", sel: `{__name__=~"req_total|mem_bytes"}`, src: fake{maxSeries: 3, lookupErr: errors.New("HTTP 403 at /long/path")},
		// req_total's seven series are told from mem_bytes's by their name,
		// spelled out, then apart by instance.
		by: slices.Concat(times(66, "prefix of __name__"), times(12, "prefix of instance"))},
	{name: "a series that never passes is the only gap", sel: `{__name__=~"big|mem_bytes"}`, src: fake{never: true},
		by: slices.Concat([]string{"metric name", "label instance"}, times(63, "time")), missing: []string{bigC.String()},
		gaps:   []extract.Gap{{Selector: `big{instance="c"}`, From: 0, To: fakeEnd}},
		reason: []string{"still too big for the datasource's limits, split as far as it goes (down to 1m52.5s): over chunks; narrow it"}},
	{name: "a series that always times out is the only gap", sel: `{__name__=~"big|mem_bytes"}`, src: fake{slowC: true},
		// Halved down to the slow range, 15m; each 15m part then by name,
		// by label, and big{instance="c"} by time, as its own parents.
		by: slices.Concat(times(3, "time"), slowPart, slowPart, times(1, "time"), slowPart, slowPart, times(2, "time"), slowPart, slowPart, times(1, "time"), slowPart, slowPart), missing: []string{bigC.String()},
		gaps:   []extract.Gap{{Selector: `big{instance="c"}`, From: 0, To: fakeEnd}},
		reason: []string{"still timing out after every retry, split as far as it goes (down to 1m52.5s): timed out"}},
	{name: "the query budget ends in gaps", sel: `fine`, src: fake{maxSamples: 500}, opts: Options{MaxQueries: 3},
		by: times(4, "time"), missing: []string{"*"},
		gaps:   []extract.Gap{{Selector: `fine`, From: 0, To: fakeEnd}},
		reason: []string{"the unit used up the 3 queries it may spend on parts: over samples"}},
	{name: "the depth limit ends in gaps", sel: `fine`, src: fake{maxSamples: 500}, opts: Options{MaxDepth: 1},
		by: []string{"time"}, missing: []string{"*"},
		gaps:   []extract.Gap{{Selector: `fine`, From: 0, To: fakeEnd}},
		reason: []string{"split 1 times in a row, the most allowed: over samples"}},
	{name: "a part failing so no split helps fails the unit", sel: `req_total`, src: fake{maxSeries: 3, failPart: errBad},
		by: []string{"label instance"}, missing: []string{"*"},
		err: `req_total{instance="i0"} from 1970-01-01T00:00:00Z to 1970-01-01T02:00:00Z, a part of the split query: bad query`},
}

func TestSplit(t *testing.T) {
	for _, tc := range splitCases {
		t.Run(tc.name, func(t *testing.T) {
			u := extract.Unit{Window: extract.Window{Start: 0, End: fakeEnd}, From: 0, To: fakeEnd, Selector: tc.sel, Step: tc.step}
			src := tc.src
			r := runSplit(t, &src, tc.opts, u)
			if by := r.by(); !slices.Equal(by, tc.by) {
				t.Errorf("splits by %q, want %q", by, tc.by)
			}
			if tc.err != "" {
				if r.err == nil || !strings.Contains(r.err.Error(), tc.err) || !errors.Is(r.err, errBad) {
					t.Fatalf("error %v, want %q", r.err, tc.err)
				}
				return
			}
			var partial *extract.PartialError
			switch {
			case tc.gaps == nil && r.err != nil:
				t.Fatalf("Split: %v", r.err)
			case tc.gaps != nil && !errors.As(r.err, &partial):
				t.Fatalf("error %v, want gaps %v", r.err, tc.gaps)
			case tc.gaps != nil:
				if len(partial.Gaps) != len(tc.gaps) {
					t.Fatalf("gaps %v, want %v", partial.Gaps, tc.gaps)
				}
				for i, g := range partial.Gaps {
					if w := tc.gaps[i]; g.Selector != w.Selector || g.From != w.From || g.To != w.To {
						t.Errorf("gap %s, want %s", g, w)
					}
					for _, p := range tc.reason {
						if !strings.Contains(g.Reason, p) {
							t.Errorf("gap reason %q lacks %q", g.Reason, p)
						}
					}
				}
			}
			want := slices.DeleteFunc(src.sel(tc.sel, u.From, u.To), func(s extract.Series) bool {
				return slices.Contains(tc.missing, "*") || slices.Contains(tc.missing, s.Labels.String())
			})
			if err := extract.Compare(want, r.series); err != nil {
				t.Fatalf("the parts put together are not the source: %v", err)
			}
			seen := map[string]bool{}
			for _, q := range src.queries {
				if seen[q] && !src.slowC {
					t.Fatalf("query %s sent twice", q)
				}
				seen[q] = true
			}
		})
	}
}

// TestSplitNotSplit: an error no split can help, and a selector that does
// not parse, come back as they are, after no query and no lookup.
func TestSplitNotSplit(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		sel   string
		cause error
	}{
		{"an error no split helps", context.Background(), "up", errBad},
		{"an abort", context.Background(), "up", &extract.AbortError{Err: &tooBig{"series"}}},
		{"a cancelled run", canceled, "up", &tooBig{"series"}},
		{"a selector that does not parse", context.Background(), "{up=", &tooBig{"series"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fake{}
			sp := &Splitter{Lookup: f, Query: f.Query, Classify: fakeClassify, Log: slog.New(slog.DiscardHandler)}
			series, err := sp.Split(tc.ctx, extract.Unit{Selector: tc.sel, To: fakeEnd}, tc.cause)
			if series != nil || err != tc.cause || len(f.queries) != 0 || f.lookups != 0 {
				t.Fatalf("Split = %v, %v after %d queries and %d lookups; want the cause after none", series, err, len(f.queries), f.lookups)
			}
		})
	}
}
