//go:build !slicelabels && !dedupelabels

package remoteread

import "unsafe"

// bytesString is b as a string without a copy: in this build (Prometheus's
// default labels, one string a set) ScratchBuilder.Labels copies the
// strings added, so they may point into a buffer that is read over later.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
