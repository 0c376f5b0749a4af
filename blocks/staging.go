package blocks

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/promrecover/promrecover/extract"
)

// stagingLock is the file in a staging area that its run holds an exclusive
// flock on. It tells our staging areas from Prometheus's own temporary
// directories (a compaction in progress, which must never be touched), and a
// crashed run's area, whose lock the kernel released, from a live run's.
const stagingLock = "promrecover.lock"

func lockStaging(staging string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(staging, stagingLock), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("staging area %s: %w", staging, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("staging area %s: lock: %w", staging, err)
	}
	return f, nil
}

// removeStaleStaging deletes staging areas that crashed runs (kill -9, power
// loss) left in dir, so that no half-written block stays there until
// Prometheus's next restart. A staging area still locked belongs to a run in
// progress: two runs into one directory would write the same windows twice,
// so that is refused.
func removeStaleStaging(dir string, logger *slog.Logger) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return extract.ParamErrorf("the output directory %s: %w", dir, err)
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasSuffix(e.Name(), tmpForCreation) {
			continue
		}
		staging := filepath.Join(dir, e.Name())
		f, err := os.OpenFile(filepath.Join(staging, stagingLock), os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			continue // Prometheus's own
		}
		if err != nil {
			return extract.ParamErrorf("the output directory %s: staging area %s: %w", dir, staging, err)
		}
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != nil {
			f.Close()
			return extract.ParamErrorf("the output directory %s: another promrecover is writing into it (staging area %s is locked); wait for it to finish or stop it, then run again", dir, staging)
		}
		err = os.RemoveAll(staging)
		f.Close()
		if err != nil {
			return extract.ParamErrorf("the output directory %s: removing the staging area %s that an interrupted run left: %w", dir, staging, err)
		}
		logger.Info("removed the staging area of an interrupted run", "dir", staging)
	}
	return nil
}
