package servers

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Version names a Prometheus the tests run against.
type Version string

const (
	// V2 is Debian's prometheus package, 2.42: what many hosts still run.
	V2 Version = "2.42"
	// V3 is cmd/prometheus of the module at go.mod's version: what
	// prom/prometheus:latest is.
	V3 Version = "3"
)

// Versions are every Prometheus an end-to-end test should pass on; range
// over them with t.Run(string(v), ...).
var Versions = []Version{V2, V3}

// Prometheus runs Prometheus v on dataDir, bound to 127.0.0.1, with
// retention long enough for any test data, and waits until it is ready.
// Extra flags are appended to the command line.
func Prometheus(t testing.TB, v Version, dataDir string, extra ...string) *Process {
	t.Helper()
	var bin string
	switch v {
	case V2:
		var err error
		if bin, err = exec.LookPath("prometheus"); err != nil {
			t.Fatalf("Debian's prometheus is needed for this test (.ci/servers installs it): %v", err)
		}
	case V3:
		bin = Bin(t, "prometheus3")
	default:
		t.Fatalf("no Prometheus %q", v)
	}
	cfg := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1h\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	args := append([]string{"--config.file=" + cfg, "--storage.tsdb.path=" + dataDir,
		"--web.listen-address=" + addr, "--storage.tsdb.retention.time=100y"}, extra...)
	return Start(t, "http://"+addr, "/-/ready", bin, args...)
}
