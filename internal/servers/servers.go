// Package servers starts the real servers end-to-end tests check against:
// Debian's Prometheus 2.42, a Prometheus 3.x, Thanos and versitygw (an S3
// server), each bound to 127.0.0.1 and stopped when the test ends.
//
// A missing binary fails the test rather than skipping it: an end-to-end
// test that skips proves nothing. .ci/servers installs Debian's prometheus
// and builds the others into a cache outside the repository, where Bin finds
// them.
package servers

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Bin returns the path of a server binary that .ci/servers built: in
// $PROMRECOVER_SERVERS/bin, by default ~/.cache/promrecover-ci/bin.
func Bin(t testing.TB, name string) string {
	t.Helper()
	dir := os.Getenv("PROMRECOVER_SERVERS")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatalf("finding %s: %v", name, err)
		}
		dir = filepath.Join(home, ".cache", "promrecover-ci")
	}
	path := filepath.Join(dir, "bin", name)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is needed for this test and is not in %s: run .ci/servers once to build it", name, filepath.Dir(path))
	}
	return path
}

// FreeAddr returns a 127.0.0.1 address no one listens on now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Process is a server started for a test.
type Process struct {
	URL  string
	Logs *bytes.Buffer // what it printed, logged when the test fails

	once sync.Once
	cmd  *exec.Cmd
}

// Stop kills the server and waits for it; the test's end does it too.
func (p *Process) Stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	})
}

// Start runs bin with args and waits until GET url+ready answers 200.
func Start(t testing.TB, url, ready, bin string, args ...string) *Process {
	t.Helper()
	p := &Process{URL: url, Logs: &bytes.Buffer{}, cmd: exec.Command(bin, args...)}
	p.cmd.Stdout, p.cmd.Stderr = p.Logs, p.Logs
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", filepath.Base(bin), err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s log:\n%s", filepath.Base(bin), p.Logs.String())
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(url + ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not become ready: %v\n%s", filepath.Base(bin), err, p.Logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
