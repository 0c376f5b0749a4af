package blocks

import (
	"cmp"
	"io/fs"
	"path/filepath"
	"slices"
)

// BlockInfo is what `promtool tsdb list` shows of a block: its meta.json's
// times and stats, and its size on disk.
type BlockInfo struct {
	ULID             string
	MinTime, MaxTime int64 // ms; MaxTime is exclusive
	Series, Samples  uint64
	Chunks           uint64
	Level            int   // compaction level: 1 for a block written whole
	Size             int64 // bytes of the block's files
}

// List reads the meta.json of every block in dir and sums the sizes of
// their files, without opening them or writing anything, sorted by min
// time (then ULID). A block directory without meta.json is skipped, as
// Prometheus skips it. dir that does not exist is an error satisfying
// errors.Is(err, fs.ErrNotExist).
func List(dir string) ([]BlockInfo, error) {
	metas, err := readMetas(dir)
	if err != nil {
		return nil, err
	}
	out := make([]BlockInfo, 0, len(metas))
	for _, m := range metas {
		size, err := dirSize(filepath.Join(dir, m.ULID.String()))
		if err != nil {
			return nil, err
		}
		out = append(out, BlockInfo{
			ULID: m.ULID.String(), MinTime: m.MinTime, MaxTime: m.MaxTime,
			Series: m.Stats.NumSeries, Samples: m.Stats.NumSamples, Chunks: m.Stats.NumChunks,
			Level: m.Compaction.Level, Size: size,
		})
	}
	slices.SortFunc(out, func(a, b BlockInfo) int {
		return cmp.Or(cmp.Compare(a.MinTime, b.MinTime), cmp.Compare(a.ULID, b.ULID))
	})
	return out, nil
}

// dirSize sums the sizes of the regular files under dir.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	return n, err
}

// Overlap is two blocks whose time ranges intersect, and the intersection
// [MinTime, MaxTime).
type Overlap struct {
	A, B             BlockInfo // A starts first (or has the smaller ULID)
	MinTime, MaxTime int64
}

// Overlaps lists every pair of blocks whose time ranges, [MinTime,
// MaxTime), intersect, in order of A then B. Prometheus (since 2.39, when
// overlapping blocks became allowed by default) queries such blocks merged
// and merges them at its next compaction.
func Overlaps(list []BlockInfo) []Overlap {
	bs := slices.Clone(list)
	slices.SortFunc(bs, func(a, b BlockInfo) int {
		return cmp.Or(cmp.Compare(a.MinTime, b.MinTime), cmp.Compare(a.ULID, b.ULID))
	})
	var out []Overlap
	for i, a := range bs {
		for _, b := range bs[i+1:] {
			if b.MinTime >= a.MaxTime {
				break
			}
			if b.MaxTime <= b.MinTime || a.MaxTime <= a.MinTime {
				continue // empty ranges overlap nothing
			}
			out = append(out, Overlap{A: a, B: b, MinTime: b.MinTime, MaxTime: min(a.MaxTime, b.MaxTime)})
		}
	}
	return out
}
