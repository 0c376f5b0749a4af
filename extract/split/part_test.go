package split

import (
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

func TestPinnedSelectors(t *testing.T) {
	ms, _ := parser.NewParser(parser.Options{}).ParseMetricSelector(`{__name__=~"a.*|b", job=~"x|y", env!=""}`)
	p := part{ms: ms, from: 5, to: 9}
	cases := []struct {
		got  part
		want string
	}{
		{p.pin("__name__", "abc"), `abc{env!="",job=~"x|y"}`},
		{p.pin("__name__", "abc").pin("job", "x"), `abc{env!="",job="x"}`},
		{p.pin("__name__", "my.metric"), `{__name__="my.metric",env!="",job=~"x|y"}`},
		{p.pin("__name__", "abc").pin("instance", ""), `abc{env!="",instance="",job=~"x|y"}`},
		{p.pin("__name__", "abc").except("instance", []string{"a.b", "c"}), `abc{env!="",instance!~"a\\.b|c",job=~"x|y"}`},
	}
	for _, tc := range cases {
		if tc.got.sel != tc.want {
			t.Errorf("got %s, want %s", tc.got.sel, tc.want)
		}
		if tc.got.from != p.from || tc.got.to != p.to {
			t.Errorf("%s: range [%d, %d), want the part's", tc.got.sel, tc.got.from, tc.got.to)
		}
		if _, err := parser.NewParser(parser.Options{}).ParseMetricSelector(tc.got.sel); err != nil {
			t.Errorf("%s does not parse: %v", tc.got.sel, err)
		}
	}
	if p.admits("job", "") || !p.admits("instance", "") || p.admits("__name__", "c") {
		t.Error("admits")
	}
	for _, tc := range []struct {
		p      part
		name   string
		pinned bool
	}{
		{p, "__name__", false},
		{p, "job", false},
		{p.pin("job", "x"), "job", true},
		{p.pin("__name__", "abc"), "__name__", true},
		{p.pin("__name__", "abc").except("job", []string{"x"}), "job", false},
	} {
		if got := tc.p.pinned(tc.name); got != tc.pinned {
			t.Errorf("%s pins %s: %v, want %v", tc.p.sel, tc.name, got, tc.pinned)
		}
	}
}
