package openmetrics_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/openmetrics"
)

// A series whose labels no block can hold as they came is refused, named
// with its line, where Prometheus's parser lets it through: a value over
// 16 MiB used to panic, an empty name to be reported as a name given twice,
// {""} to be written as a series without a name.
func TestReadRefusesLabels(t *testing.T) {
	cases := []struct {
		name, series string
		want         []string
	}{
		{"value over 16 MiB", `up{big="` + strings.Repeat("x", extract.MaxLabelBytes+1) + `"}`,
			[]string{`line 2: series up{big="xxx`, `a label name or value is over the 16 MiB a TSDB label can hold`}},
		{"name not UTF-8", `up{"j` + "\xff" + `"="a"}`, []string{`line 2: series up{"j\xff"="a"}: label "j\xff" is not valid UTF-8`}},
		{"an empty name", `up{""="a"}`, []string{`line 2: series up{""="a"}: a label has an empty name`}},
		{"an empty __name__", `{"",job="a"}`, []string{`line 2: series {"__name__"="", "job"="a"}: the metric name (__name__) is empty`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := "ok 1 1\n" + tc.series + " 1 1\n# EOF\n"
			_, err := openmetrics.Read(context.Background(), strings.NewReader(in), opts, func(labels.Labels, []extract.Sample, int64) error { return nil })
			var le *extract.LabelError
			if !errors.As(err, &le) {
				t.Fatalf("err %.300v, want the second line's *extract.LabelError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %.300q\nwant it to say %q", err.Error(), w)
				}
			}
		})
	}
}
