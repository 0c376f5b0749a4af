package extract

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

func TestCheckLabels(t *testing.T) {
	l := func(name, value string) ReadLabel { return ReadLabel{Label: labels.Label{Name: name, Value: value}} }
	cases := []struct {
		name string
		in   []ReadLabel
		want string // "" for none
	}{
		{"fine", []ReadLabel{l("__name__", "up"), l("job", "é\ufffd")}, ""},
		{"no name at all", []ReadLabel{l("job", "a")}, ""},
		{"empty name", []ReadLabel{l("", "v"), l("__name__", "up")}, `series up{""="v"}: a label has an empty name (its value is "v")`},
		{"empty __name__", []ReadLabel{l("__name__", "")}, `series {"__name__"=""}: the metric name (__name__) is empty`},
		{"value not UTF-8", []ReadLabel{l("a", "\xff")}, `series {"a"="\xff"}: label "a" is not valid UTF-8`},
		{"marked while read", []ReadLabel{{Label: labels.Label{Name: "a", Value: "\ufffd"}, Problem: LabelInvalidUTF8}}, `label "a" is not valid UTF-8`},
		{"cut while read", []ReadLabel{{Label: labels.Label{Name: "a", Value: "xx"}, Problem: LabelTooLong, Size: 3 << 30}},
			`the value of label "a" is 3072 MiB long, over the 16 MiB a TSDB label can hold`},
		{"long value", []ReadLabel{l("a", strings.Repeat("v", MaxLabelBytes+1))},
			`series {"a"="` + strings.Repeat("v", 64) + `"... (16777217 bytes)}: the value of label "a" is 16777217 bytes (16.0 MiB) long`},
		{"long name", []ReadLabel{l(strings.Repeat("n", MaxLabelBytes+1), "v")}, `a label name is 16777217 bytes (16.0 MiB) long`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckLabels(tc.in)
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err %.300v\nwant %q", err, tc.want)
			}
		})
	}
}

// An empty label name is named as such, not as a name given twice (the
// first name of a label set is compared with "").
func TestLabelSetError(t *testing.T) {
	for _, tc := range []struct {
		lset labels.Labels
		want string
	}{
		{labels.FromStrings("a", "1"), ""},
		{labels.FromStrings("", "1", "a", "2"), `series {""="1", a="2"}: a label has an empty name`},
		{labels.New(labels.Label{Name: "a", Value: "1"}, labels.Label{Name: "a", Value: "2"}), `label "a" appears twice`},
	} {
		err := LabelSetError(tc.lset)
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.lset, err, tc.want)
		}
	}
}
