// Package diskspace says how much room a filesystem has left and which
// paths share one, so that a run can tell before it starts whether what it
// will write fits.
package diskspace

// FS is the filesystem holding a path.
type FS struct {
	// Free is what an unprivileged user may still write (statfs's
	// f_bavail): what Prometheus, running as one, has too.
	Free int64
	Dev  uint64 // the device: paths with the same Dev share Free
}
