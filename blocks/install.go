package blocks

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/promrecover/promrecover/extract"
)

// owner is who should own what we put in the output directory.
type owner struct{ uid, gid int }

// chownTarget says whose files the blocks must be: the output directory's
// owner, when we are root and could otherwise leave root-owned blocks behind.
// The official Prometheus image runs as 65534, and its compactor cannot
// delete or replace blocks it does not own.
func chownTarget(dir string) (*owner, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, extract.ParamErrorf("the output directory %s: %w", dir, err)
	}
	uid, gid, ok := fileOwner(fi)
	if !ok {
		return nil, nil
	}
	return &owner{uid: uid, gid: gid}, nil
}

// chownTree hands root and everything under it to o.
func chownTree(root string, o *owner) error {
	if o == nil {
		return nil
	}
	return filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(path, o.uid, o.gid); err != nil {
			return fmt.Errorf("chown %s to %d:%d: %w", path, o.uid, o.gid, err)
		}
		return nil
	})
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
