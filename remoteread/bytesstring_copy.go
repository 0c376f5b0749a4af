//go:build slicelabels || dedupelabels

package remoteread

// bytesString is b copied: with these builds of Prometheus's labels, a set
// keeps the strings it is given.
func bytesString(b []byte) string { return string(b) }
