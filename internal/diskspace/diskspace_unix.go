//go:build unix

package diskspace

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Of looks up the filesystem holding path.
func Of(path string) (FS, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return FS{}, fmt.Errorf("statfs %s: %w", path, err)
	}
	var sb unix.Stat_t
	if err := unix.Stat(path, &sb); err != nil {
		return FS{}, fmt.Errorf("stat %s: %w", path, err)
	}
	return FS{Free: int64(st.Bavail) * int64(st.Bsize), Dev: uint64(sb.Dev)}, nil
}
