package blocks

import "testing"

func TestShared(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b []int64
		want uint64
	}{
		{"none", nil, []int64{1, 2}, 0},
		{"the same", []int64{1, 2, 3}, []int64{1, 2, 3}, 3},
		{"interleaved", []int64{1, 3, 5, 7}, []int64{2, 3, 4, 7, 8}, 2},
		{"one inside the other", []int64{10, 20, 30, 40}, []int64{20, 30}, 2},
		{"apart", []int64{1, 2}, []int64{3, 4}, 0},
	} {
		if got := shared(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
		if got := shared(tc.b, tc.a); got != tc.want {
			t.Errorf("%s, the other way: %d, want %d", tc.name, got, tc.want)
		}
	}
}
