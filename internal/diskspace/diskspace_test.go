package diskspace

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/promrecover/promrecover/internal/fstest"
)

// TestOf reads a tmpfs of known size: its free space, that of a directory
// in it, and that writing a file takes it; another filesystem has another
// device.
func TestOf(t *testing.T) {
	const size = 4 << 20
	dir := fstest.SmallDisk(t, size)
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	empty, err := Of(sub)
	if err != nil {
		t.Fatal(err)
	}
	if empty.Free > size || empty.Free < size-64<<10 {
		t.Errorf("a new %d-byte tmpfs has %d bytes free", size, empty.Free)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	after, err := Of(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := empty.Free - after.Free; got < 1<<20 || after.Dev != empty.Dev {
		t.Errorf("writing 1 MiB took %d bytes of free space; devices %d and %d", got, empty.Dev, after.Dev)
	}
	if other, err := Of(t.TempDir()); err != nil || other.Dev == empty.Dev {
		t.Errorf("the temporary directory: %+v, %v; want another device than the tmpfs's %d", other, err, empty.Dev)
	}
	if _, err := Of(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing path gave no error")
	}
}
