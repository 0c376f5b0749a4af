package importer

import (
	"context"
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/promrecover/promrecover/extract"
)

// promtoolReads reads text the way promtool does: one Prometheus parser over
// the whole text. It is the oracle for readOpenMetrics, which parses line
// by line and reads most lines without the parser (sampleLine).
func promtoolReads(text string) ([]extract.Series, error) {
	p := textparse.NewOpenMetricsParser([]byte(text), nil)
	var out []extract.Series
	idx := map[string]int{}
	for {
		et, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if et != textparse.EntrySeries {
			continue
		}
		_, ts, v := p.Series()
		if ts == nil {
			return nil, errors.New("no timestamp")
		}
		var l labels.Labels
		p.Labels(&l)
		l = l.WithoutEmpty()
		k := l.String()
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, extract.Series{Labels: l})
		}
		out[i].Samples = append(out[i].Samples, extract.Sample{T: *ts, V: v})
	}
	for i := range out {
		if name, dup := out[i].Labels.HasDuplicateLabelNames(); dup {
			return nil, errors.New("duplicate label " + name)
		}
		if out[i].Normalize(math.MinInt64, math.MaxInt64) > 0 {
			return nil, errors.New("two values at one time")
		}
	}
	return out, nil
}

// checkLikePromtool imports text and compares the outcome with promtoolReads:
// both fail, or both read the same series. The import's own rules (a
// series once per window, sane times) may refuse what promtool takes.
func checkLikePromtool(t *testing.T, text string, chunk int) {
	t.Helper()
	want, wantErr := promtoolReads(text)
	sink := newRecordingSink(t)
	_, err := Import(context.Background(), strings.NewReader(text), Options{Format: OpenMetrics, chunkSize: chunk}, sink)
	switch {
	case wantErr != nil && err == nil:
		t.Fatalf("promtool's reading fails (%v), the import does not:\n%q", wantErr, text)
	case wantErr != nil:
		return
	case err != nil:
		if strings.Contains(err.Error(), "comes again") || strings.Contains(err.Error(), "outside 1970..2100") || strings.Contains(err.Error(), "without labels") {
			return
		}
		t.Fatalf("the import fails (%v), promtool's reading does not:\n%q", err, text)
	}
	got := sink.series()
	slices.SortFunc(want, func(a, b extract.Series) int { return labels.Compare(a.Labels, b.Labels) })
	if err := extract.Compare(want, got); err != nil {
		t.Fatalf("%v\n%q", err, text)
	}
}

// Lines that repeat the series before them but are not plain samples: the
// fast path must hand each to the parser, which reads or rejects it.
var trickyRepeats = []string{
	"a 2 1754179201.5\n",
	"a 2 1754179201.5 # {id=\"x\"} 1 1754179201\n", // exemplar
	"a 0x1p3 1754179201\n",                         // hex float: rejected
	"a 1_000 1754179201\n",                         // underscore: rejected
	"a 2 1_754_179_201\n",
	"a NaN 1754179201\n",
	"a nan 1754179201\n",
	"a -Inf 1754179201\n",
	"a +inf 1754179201\n",
	"a 2 NaN\n", // NaN timestamp: rejected
	"a 2 +Inf\n",
	"a 2 1754179201e0\n",
	"a 2 .5e10\n",
	"a 2  1754179201\n", // two spaces
	"a  2 1754179201\n",
	"a 2 1754179201 \n",
	"a 2 1754179201\r\n",
	"a 2\n", // no timestamp
	"a 2 \n",
	"a\n",
	"a \n",
	"a 2 1754179201 3\n",
	"a{} 2 1754179202\n",
	"a{b=\"\"} 2 1754179202\n",
	"a 2 -1754179201\n",
	"a 1e400 1754179201\n",
	"a 2 1754179201.0001\n",
	"a 2 17541792010000\n",
}

func TestReadsLikePromtool(t *testing.T) {
	for _, line := range trickyRepeats {
		text := "# TYPE a gauge\na 1 1754179200\n" + line + "a 3 1754179203\n# EOF\n"
		for _, chunk := range []int{8, 0} {
			checkLikePromtool(t, text, chunk)
		}
	}
}

func FuzzReadsLikePromtool(f *testing.F) {
	for _, line := range trickyRepeats {
		f.Add("# TYPE a gauge\na 1 1754179200\n"+line+"a 3 1754179203\n# EOF\n", 8)
	}
	f.Add("# HELP h_bucket x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1 1754179200\nh_bucket{le=\"1\"} 2 1754179215\nh_bucket{le=\"+Inf\"} 2 1754179215\n# EOF", 16)
	f.Add("a{x=\"1\",y=\"2\"} 1 1754179200\na{y=\"2\",x=\"1\"} 2 1754179215\nb 1 1754179200\n# EOF\n", 0)
	f.Fuzz(func(t *testing.T, text string, chunk int) {
		checkLikePromtool(t, text, 1+chunk%64)
	})
}
