// Package fstest helps tests put directories into states that are hard to
// reach by hand. Only tests import it.
package fstest

import (
	"os"
	"os/exec"
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
