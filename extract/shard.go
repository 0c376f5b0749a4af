package extract

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is a process's share of a plan's windows when several recover one
// range together: process I of N (1 <= I <= N) takes the windows whose
// start, counted in windows since the epoch, leaves I-1 divided by N. The
// share depends on the window alone, not on the range, so the N shares of
// one range are disjoint and together the whole. The zero Shard is all of
// it.
type Shard struct{ I, N int }

// IndexedShard is the form of a shard that takes I from a Kubernetes indexed
// Job's completion index (0 to N-1), given as index.
const IndexedShard = "indexed"

// ParseShard reads "I/N"; "indexed/N" is the shard of the Kubernetes
// indexed Job whose completion index is index ("" when there is none).
func ParseShard(s, index string) (Shard, error) {
	is, ns, ok := strings.Cut(s, "/")
	n, nerr := strconv.Atoi(ns)
	if !ok || nerr != nil || n < 1 {
		return Shard{}, Usage(ParamErrorf("the shard %q: write I/N, the process's number I from 1 to N of N processes, e.g. 2/3", s))
	}
	if is == IndexedShard {
		k, err := strconv.Atoi(index)
		if err != nil || k < 0 || k >= n {
			return Shard{}, Usage(ParamErrorf("the shard %q takes its number from a Kubernetes indexed Job's completion index (0 to %d), and the index is %q; run it in an indexed Job of %d completions, or give the number", s, n-1, index, n))
		}
		return Shard{I: k + 1, N: n}, nil
	}
	i, err := strconv.Atoi(is)
	if err != nil || i < 1 || i > n {
		return Shard{}, Usage(ParamErrorf("the shard %q: write I/N, the process's number I from 1 to N of N processes, e.g. 2/3", s))
	}
	return Shard{I: i, N: n}, nil
}

// Whole says whether the shard is all of a plan.
func (s Shard) Whole() bool { return s.N <= 1 }

// String is "I/N", or "" for the whole plan.
func (s Shard) String() string {
	if s.Whole() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.I, s.N)
}

// Owns says whether w is the shard's.
func (s Shard) Owns(w Window) bool {
	if s.Whole() {
		return true
	}
	k := floorDiv(w.Start, WindowMs) % int64(s.N)
	if k < 0 {
		k += int64(s.N)
	}
	return k == int64(s.I-1)
}

// Of is p with only the shard's windows.
func (s Shard) Of(p *Plan) *Plan {
	out := *p
	out.Windows = nil
	for _, w := range p.Windows {
		if s.Owns(w) {
			out.Windows = append(out.Windows, w)
		}
	}
	return &out
}
