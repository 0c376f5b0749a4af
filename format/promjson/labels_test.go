package promjson_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/promjson"
)

// A series whose labels no block can hold as they came is refused, named:
// a value over 16 MiB used to panic, bytes that are not UTF-8 to be kept
// and written, an empty name to be reported as a name given twice, an empty
// __name__ to be written as a series without a name.
func TestReadRefusesLabels(t *testing.T) {
	cases := []struct {
		name, metric string
		want         []string
	}{
		{"value over 16 MiB", `"__name__":"up","big":"` + strings.Repeat("x", extract.MaxLabelBytes+1) + `"`,
			[]string{`series up{"big"="xxx`, `the value of label "big" is 16777217 bytes (16.0 MiB) long`}},
		{"value not UTF-8", `"__name__":"up","job":"a` + "\xff" + `"`, []string{`series up{"job"="a\xff"}: label "job" is not valid UTF-8`}},
		{"name not UTF-8", `"__name__":"up","j` + "\xff" + `":"a"`, []string{`label "j\xff" is not valid UTF-8`}},
		{"an empty name", `"__name__":"up","":"a"`, []string{`series up{""="a"}: a label has an empty name`}},
		{"an empty __name__", `"__name__":"","job":"a"`, []string{`the metric name (__name__) is empty`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"job":"ok"},"values":[[1,"1"]]},{"metric":{` +
				tc.metric + `},"values":[[1,"1"]]}]}}`
			var got []extract.Series
			_, err := promjson.Read(strings.NewReader(body), collect(&got))
			var le *extract.LabelError
			var se *promjson.SeriesError
			if !errors.As(err, &le) || !errors.As(err, &se) || se.Index != 1 {
				t.Fatalf("err %v, want the second series' *extract.LabelError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %.300q\nwant it to say %q", err.Error(), w)
				}
			}
		})
	}
}
