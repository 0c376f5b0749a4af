package suggest

import "testing"

func TestClosest(t *testing.T) {
	cases := []struct {
		name       string
		candidates []string
		want       string
	}{
		{"retension", []string{"restart", "retention", "out"}, "retention"},
		{"grafana_url", []string{"grafana-url", "token", "user"}, "grafana-url"},
		{"formt", []string{"from", "format", "to"}, "format"},
		{"a", []string{"c", "b"}, "b"}, // a tie: the first in sorted order
		{"anything", nil, ""},
	}
	for _, c := range cases {
		if got := Closest(c.name, c.candidates); got != c.want {
			t.Errorf("Closest(%q, %v) = %q, want %q", c.name, c.candidates, got, c.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "ab", 2}, {"kitten", "sitting", 3}, {"same", "same", 0},
	}
	for _, c := range cases {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
