package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// Everything promrecover leaves in a data directory (blocks, the resume
// state, a summary written there) belongs to the directory's owner, so that
// the next run as that owner (the Docker image's 65534) works: run as root,
// the owner is 65534 and the second run is made as 65534; run as another
// user, everything must stay that user's (issue 12, item 8).
func TestFilesKeepTheDirectorysOwner(t *testing.T) {
	bin := buildBinary(t)
	owner, cred := os.Getuid(), (*syscall.Credential)(nil)
	if os.Geteuid() == 0 {
		owner, cred = 65534, &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	root := t.TempDir()
	// t.TempDir's own directory is 0700: the owner must reach what is in it.
	if err := os.Chmod(filepath.Dir(root), 0o755); err != nil {
		t.Fatal(err)
	}
	out, sums := filepath.Join(root, "data"), filepath.Join(root, "summaries")
	for _, d := range []string{out, sums} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, owner, owner); err != nil {
			t.Fatal(err)
		}
	}
	data := gen.DemoSeries(dataStart, dataEnd, 3)
	addr, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	recoverArgs := func(to time.Duration) []string {
		return []string{"recover", "--grafana-url", addr, "--token", testToken, "--datasource", "grafanacloud-prom",
			"--from", dataStart.Format(time.RFC3339), "--to", dataStart.Add(to).Format(time.RFC3339), "--out", out}
	}

	if stdout, stderr, err := runCLI(t, append(recoverArgs(4*time.Hour), "--summary-json", filepath.Join(sums, "recover.json"))...); err != nil {
		t.Fatalf("recover: %v\n%s\n%s", err, stdout, stderr)
	}
	checkOwners(t, out, owner)
	checkOwners(t, sums, owner)

	file := filepath.Join(root, "part.json")
	if _, stderr, err := runCLI(t, "export", "--grafana-url", addr, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", dataStart.Add(4*time.Hour).Format(time.RFC3339), "--to", dataStart.Add(6*time.Hour).Format(time.RFC3339), "--out", file); err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	if stdout, stderr, err := runCLI(t, "import", file, "--out", out, "--summary-json", filepath.Join(sums, "import.json")); err != nil {
		t.Fatalf("import: %v\n%s\n%s", err, stdout, stderr)
	}
	checkOwners(t, out, owner)
	checkOwners(t, sums, owner)

	// The next run, as the owner, reads and replaces the state and adds
	// blocks beside the others.
	cmd := exec.Command(bin, recoverArgs(8*time.Hour)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the second recover, as uid %d: %v\n%s", owner, err, b)
	}
	checkOwners(t, out, owner)
	servesExactly(t, out, dataStart, dataStart.Add(8*time.Hour), extract.Clip(data, dataStart.UnixMilli(), dataStart.Add(8*time.Hour).UnixMilli()))
}

// checkOwners fails for every file and directory under root (root too)
// whose uid or gid is not id.
func checkOwners(t *testing.T, root string, id int) {
	t.Helper()
	n := 0
	err := filepath.Walk(root, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		n++
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != id || int(st.Gid) != id {
			t.Errorf("%s belongs to %d:%d, want %d:%d", path, st.Uid, st.Gid, id, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 2 {
		t.Fatalf("%s is empty", root)
	}
}
