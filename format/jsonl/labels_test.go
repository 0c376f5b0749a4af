package jsonl_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/jsonl"
)

// A series whose labels no block can hold as they came is refused, named
// with its line: encoding/json turns bytes that are not UTF-8 into U+FFFD,
// which used to be written.
func TestReadRefusesLabels(t *testing.T) {
	cases := []struct {
		name, metric string
		want         []string
	}{
		{"value over 16 MiB", `"__name__":"up","big":"` + strings.Repeat("x", extract.MaxLabelBytes+1) + `"`,
			[]string{`line 2: series up{"big"="xxx`, `the value of label "big" is 16777217 bytes (16.0 MiB) long`}},
		{"value not UTF-8", `"__name__":"up","job":"a` + "\xff" + `"`, []string{`line 2: series up{"job"="a` + "\ufffd" + `"}: label "job" is not valid UTF-8`}},
		{"name not UTF-8", `"__name__":"up","j` + "\xff" + `":"a"`, []string{`label "j` + "\ufffd" + `" is not valid UTF-8`}},
		{"an empty name", `"__name__":"up","":"a"`, []string{`line 2: series up{""="a"}: a label has an empty name`}},
		{"an empty __name__", `"__name__":"","job":"a"`, []string{`line 2: series {"__name__"="", "job"="a"}: the metric name (__name__) is empty`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := `{"metric":{"__name__":"ok"},"values":[[1,"1"]]}` + "\n" + `{"metric":{` + tc.metric + `},"values":[[1,"1"]]}` + "\n"
			n := 0
			_, err := jsonl.Read(context.Background(), strings.NewReader(in), func(extract.Series, int64) error { n++; return nil })
			var le *extract.LabelError
			if !errors.As(err, &le) || n != 1 {
				t.Fatalf("err %v after %d series, want the second line's *extract.LabelError", err, n)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %.300q\nwant it to say %q", err.Error(), w)
				}
			}
		})
	}
	// A U+FFFD that came as such is a character like another.
	_, err := jsonl.Read(context.Background(), strings.NewReader(`{"metric":{"__name__":"up","job":"\ufffd`+"\ufffd"+`"},"values":[[1,"1"]]}`+"\n"),
		func(extract.Series, int64) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
}
