package blocks

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/dirowner"
)

// chownTarget says whose files the blocks must be (see dirowner).
func chownTarget(dir string) (*dirowner.Owner, error) {
	o, err := dirowner.Of(dir)
	if err != nil {
		return nil, extract.ParamErrorf("the output directory %s: %w", dir, err)
	}
	return o, nil
}

// install moves a verified block into the output directory. Source and target
// are on one filesystem, so a live Prometheus, which rescans the directory
// every minute, sees either no block or the whole block.
func install(src, dst string) error {
	// ULIDs are unique, so the target existing means something is badly
	// wrong; rename(2) would silently replace an empty directory there.
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("install %s: %s already exists; not overwriting it", src, dst)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("install %s: %w", src, err)
	}
	if err := os.Rename(src, dst); err != nil {
		return fmt.Errorf("install %s: %w", src, err)
	}
	return nil
}

// syncDir makes renames into dir durable: without it a block reported as
// installed could vanish in a power cut.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
