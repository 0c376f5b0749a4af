// Package dirowner gives what promrecover leaves in a directory that
// directory's owner when it runs as root. The official Prometheus image runs
// as 65534: its compactor cannot delete or replace blocks it does not own,
// and the next promrecover run as 65534 could not read a root-owned resume
// state; as any other user the files are ours already, and the directory
// must be ours too, or we could not have written there.
package dirowner

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Owner is who should own what we put in a directory; a nil Owner changes
// nothing.
type Owner struct{ uid, gid int }

// Of says whose the files left in dir must be: dir's owner when we are root,
// nil otherwise.
func Of(dir string) (*Owner, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	uid, gid, ok := fileOwner(fi)
	if !ok {
		return nil, nil
	}
	return &Owner{uid: uid, gid: gid}, nil
}

// Chown hands path to o.
func (o *Owner) Chown(path string) error {
	if o == nil {
		return nil
	}
	if err := os.Lchown(path, o.uid, o.gid); err != nil {
		return fmt.Errorf("chown %s to %d:%d: %w", path, o.uid, o.gid, err)
	}
	return nil
}

// ChownTree hands root and everything under it to o.
func (o *Owner) ChownTree(root string) error {
	if o == nil {
		return nil
	}
	return filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return o.Chown(path)
	})
}

// ChownFile hands path to the owner of the directory it is in (see Of).
func ChownFile(path string) error {
	o, err := Of(filepath.Dir(path))
	if err != nil {
		return err
	}
	return o.Chown(path)
}
