// Package fstest helps tests put directories into states that are hard to
// reach by hand. Only tests import it.
package fstest

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// Unwritable makes dir refuse new entries. Root ignores permission bits, so
// as root the directory is made immutable instead (chattr +i, which needs
// CAP_LINUX_IMMUTABLE); where neither is possible the test fails, saying why,
// rather than passing without the check.
func Unwritable(t testing.TB, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
		return
	}
	chattr, err := exec.LookPath("chattr")
	if err != nil {
		t.Fatalf("running as root without chattr (apt-get install e2fsprogs): cannot make %s unwritable", dir)
	}
	if out, err := exec.Command(chattr, "+i", dir).CombinedOutput(); err != nil {
		t.Fatalf("running as root and chattr +i failed (%v: %s): cannot make %s unwritable", err, out, dir)
	}
	t.Cleanup(func() { _ = exec.Command(chattr, "-i", dir).Run() })
}

// SmallDisk mounts a tmpfs of size bytes at a new directory and returns it,
// so that a test fills a real filesystem: no fault injected into a writer
// stands for preallocation, the index and the state file all meeting
// ENOSPC. Mounting needs root, which CI has (.ci/run); elsewhere the test
// fails, saying so, rather than passing without the check.
func SmallDisk(t testing.TB, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("mounting a %d-byte tmpfs needs root (CI runs the tests as root)", size)
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs at %s: %v: %s", dir, err, out)
	}
	// Registered after TempDir's own cleanup, so it runs first.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}
