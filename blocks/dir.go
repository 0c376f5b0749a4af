package blocks

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/oklog/ulid/v2"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/atomicfile"
)

// tmpForCreation is Prometheus's own suffix for blocks being written: a
// directory named <ULID>.tmp-for-creation is never loaded as a block, and
// Prometheus deletes it at its next start, so a staging area left behind by a
// crash is cleaned up by the very process that owns the directory.
const tmpForCreation = ".tmp-for-creation"

// StateFileName is the default name of a recovery's resume state, kept in the
// data directory it recovers into (Prometheus ignores files it does not know).
const StateFileName = "promrecover-state.json"

// prometheusEntries are the names a Prometheus (or promtool) data directory
// may hold besides block directories. wbl and chunk_snapshot.* only appear
// with out-of-order ingestion and memory snapshots enabled, but refusing a
// real data directory would be worse than accepting a few extra names.
var prometheusEntries = map[string]bool{
	"wal":            true,
	"wbl":            true,
	"chunks_head":    true,
	"lock":           true,
	"queries.active": true,
	"lost+found":     true,
	// promrecover's own resume state, the lock of a run writing here, and
	// what an older version left of a state being written.
	StateFileName:          true,
	StateFileName + ".tmp": true,
	LockFileName:           true,
}

// checkOutDir makes sure dir is a directory we may add blocks to. The errors
// name the problem and the fix, because the usual mistake is the wrong
// directory (a Docker volume name instead of its mount point, say).
func checkOutDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return extract.ParamErrorf("the output directory %s: no such directory; create it or give the Prometheus data directory (for a Docker volume: docker volume inspect NAME --format '{{ .Mountpoint }}')", dir)
	case errors.Is(err, syscall.ENOTDIR):
		return extract.ParamErrorf("the output directory %s: part of the path is a file, not a directory; give the Prometheus data directory (for a Docker volume: docker volume inspect NAME --format '{{ .Mountpoint }}')", dir)
	case errors.Is(err, fs.ErrPermission):
		return extract.ParamErrorf("the output directory %s: %w; run as a user who can read and write the Prometheus data directory", dir, err)
	case err != nil:
		return extract.ParamErrorf("the output directory %s: %w", dir, err)
	case !fi.IsDir():
		return extract.ParamErrorf("the output directory %s: is a file, not a directory; give the Prometheus data directory (the one holding wal/ and the block directories)", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return extract.ParamErrorf("the output directory %s: cannot list it: %w; run as a user who can read and write the Prometheus data directory", dir, err)
	}
	for _, e := range entries {
		if !belongsToPrometheus(e) {
			return extract.ParamErrorf("the output directory %s: does not look like a Prometheus data directory (it holds %q); give an empty directory or the Prometheus data directory (the one holding wal/ and the block directories)", dir, filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

func belongsToPrometheus(e fs.DirEntry) bool {
	name := e.Name()
	if prometheusEntries[name] {
		return true
	}
	if !e.IsDir() {
		// A state being written, by a run in progress or one that crashed.
		return atomicfile.IsTemp(name, StateFileName)
	}
	if isULID(name) || strings.HasPrefix(name, "chunk_snapshot.") {
		return true
	}
	// Prometheus's temporary block directories: being created, being
	// deleted, or the pre-2.21 ".tmp".
	ext := filepath.Ext(name)
	return (strings.HasPrefix(ext, ".tmp-for-") || ext == ".tmp") && isULID(strings.TrimSuffix(name, ext))
}

func isULID(s string) bool {
	_, err := ulid.ParseStrict(s)
	return err == nil
}

// writableError explains a failed attempt to create something in dir.
func writableError(dir string, err error) error {
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return extract.ParamErrorf("the output directory %s: cannot write there: %w; run as a user who can write to the Prometheus data directory (the official image runs as uid 65534), or mount it read-write", dir, err)
	}
	return extract.ParamErrorf("the output directory %s: cannot write there: %w", dir, err)
}
