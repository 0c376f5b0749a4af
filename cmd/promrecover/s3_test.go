package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/exitcode"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/servers"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

const (
	s3Access = "promrecover-test"
	s3Secret = "s3-secret-0123456789abcdef"
	s3Bucket = "blocks"
)

// startS3 runs versitygw, a real S3 server, over root on 127.0.0.1, with
// the bucket s3Bucket in it; extra go before the backend (e.g. --readonly).
func startS3(t *testing.T, root string, extra ...string) *servers.Process {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, s3Bucket), 0o755); err != nil {
		t.Fatal(err)
	}
	addr := servers.FreeAddr(t)
	args := append([]string{"--access", s3Access, "--secret", s3Secret, "--port", addr, "--health", "/health"}, extra...)
	return servers.Start(t, "http://"+addr, "/health", servers.Bin(t, "versitygw"), append(args, "posix", root)...)
}

// s3Config is the bucket configuration of s3Bucket at the server url.
func s3Config(url string) string {
	return fmt.Sprintf("type: S3\nconfig:\n  bucket: %s\n  endpoint: %s\n  insecure: true\n  access_key: %s\n  secret_key: %s\n  max_retries: 1\n",
		s3Bucket, strings.TrimPrefix(url, "http://"), s3Access, s3Secret)
}

// completeBlocks copies the blocks of dir that have a meta.json into a new
// directory: what Thanos sees of a bucket laid out on disk.
func completeBlocks(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	metas, _ := filepath.Glob(filepath.Join(dir, "*", "meta.json"))
	for _, m := range metas {
		if err := os.CopyFS(filepath.Join(out, filepath.Base(filepath.Dir(m))), os.DirFS(filepath.Dir(m))); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestRecoverIntoS3ServedByThanos(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 5)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	root := t.TempDir()
	conf := s3Config(startS3(t, root).URL)
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(8*time.Hour)
	stdout, stderr, err := runCLI(t, recoverArgs(url, from, to, "--objstore.config", conf, "--objstore.prefix", "tenant-1",
		"--external-label", "cluster=eu1", "--external-label", "replica=a", "--state", filepath.Join(t.TempDir(), "state.json"))...)
	if err != nil {
		t.Fatalf("recover: %v\n%s\n%s", err, stdout, stderr)
	}
	if !strings.Contains(stderr, "block=s3://blocks/tenant-1/") {
		t.Errorf("the log does not name the blocks in the bucket:\n%s", stderr)
	}
	tenant := conf + "prefix: tenant-1\n"
	thanosVerify(t, tenant, 3, 0)
	want := externally(expected(data, from, to, 0, nil), "cluster", "eu1", "replica", "a")
	thanosServesExactly(t, thanosServes(t, tenant), from, to, want)
}

// TestS3KilledMidUpload kills the S3 server while the second window's
// index is on its way: the block without its meta.json stays invisible, and
// the same command, once the server is back, uploads the rest, each window
// once, exactly the source's samples.
func TestS3KilledMidUpload(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 5)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	root := t.TempDir()
	s3 := startS3(t, root)
	target, _ := neturl.Parse(s3.URL)
	kill := faults.On(func(r *http.Request, _ []byte) bool {
		return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/index")
	}).After(1).First(1).Do(faults.Run(s3.Stop))
	proxy := httptest.NewServer(faults.Wrap(httputil.NewSingleHostReverseProxy(target), kill))
	defer proxy.Close()
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(10*time.Hour)
	state := filepath.Join(t.TempDir(), "state.json")
	flags := []string{"--external-label", "cluster=eu1", "--state", state, "--concurrency", "1"}
	_, stderr, err := runCLI(t, recoverArgs(url, from, to, append(flags, "--objstore.config", s3Config(proxy.URL))...)...)
	if err == nil || exitcode.Of(err) != exitcode.Partial {
		t.Fatalf("recover with the server killed: %v (exit %d), want a partial recovery\n%s", err, exitcode.Of(err), stderr)
	}
	if kill.Count() == 0 {
		t.Fatal("the server was never killed")
	}
	bucketDir := filepath.Join(root, s3Bucket)
	if n := blockCount(t, bucketDir); n != 1 {
		t.Fatalf("%d visible blocks after the kill, want the first window's only", n)
	}
	conf := s3Config(startS3(t, root).URL)
	stdout, stderr, err := runCLI(t, recoverArgs(url, from, to, append(flags, "--objstore.config", conf)...)...)
	if err != nil {
		t.Fatalf("rerun: %v\n%s\n%s", err, stdout, stderr)
	}
	thanosVerify(t, conf, 4, 1)
	got, err := blocks.ReadSeries(completeBlocks(t, bucketDir), from.UnixMilli(), to.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if err := extract.Compare(expected(data, from, to, 0, nil), got); err != nil {
		t.Fatalf("the bucket holds other data than the source: %v", err)
	}
	noSampleTwice(t, completeBlocks(t, bucketDir))
}

func TestS3WithoutWritePermission(t *testing.T) {
	url, _ := simtest.Start(t, sim.Config{Series: gen.DemoSeries(dataStart, dataEnd, 1), Tokens: []string{testToken}})
	root := t.TempDir()
	s3 := startS3(t, root, "--readonly")
	conf := s3Config(s3.URL)
	from, to := dataStart, dataStart.Add(10*time.Hour)
	_, stderr, err := runCLI(t, recoverArgs(url, from, to, "--objstore.config", conf, "--concurrency", "1", "--state", filepath.Join(t.TempDir(), "state.json"))...)
	if err == nil || !strings.Contains(err.Error(), "refused the upload") || !strings.Contains(err.Error(), "credentials that may write") {
		t.Fatalf("recover into a read-only bucket: %v, want the refusal explained\n%s", err, stderr)
	}
	// One query at a time is fetched, but a window's block is built and
	// uploaded while the next windows are fetched: those already fetched
	// when the refusal came may still try (up to 3 of 5 were seen against
	// the simulator's fast answers), and no window is fetched after it.
	if n := strings.Count(s3.Logs.String(), "| PUT |"); n >= 5 {
		t.Errorf("%d uploads tried of 5 windows: the refusal did not stop the run", n)
	}
	left, _ := os.ReadDir(filepath.Join(root, s3Bucket))
	if len(left) > 0 {
		t.Errorf("a read-only bucket got %v", left)
	}
}

// TestThreeShardsEqualOneRun runs three promrecover processes at once, each
// with its --shard, into one S3 bucket, their resume states in one
// directory; their blocks equal those of one run into another tenant:
// the same windows, each once, the source's samples.
func TestThreeShardsEqualOneRun(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 5)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	root := t.TempDir()
	conf := s3Config(startS3(t, root).URL)
	bin := buildBinary(t)
	from, to := dataStart.Add(30*time.Minute), dataStart.Add(10*time.Hour)
	run := func(prefix, shard string) *exec.Cmd {
		args := recoverArgs(url, from, to, "--objstore.config", conf, "--objstore.prefix", prefix, "--external-label", "cluster=eu1", "-q")
		if shard != "" {
			args = append(args, "--shard", shard)
		}
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(root, "state"))
		return cmd
	}
	var procs []*exec.Cmd
	var outs []*strings.Builder
	for i := 1; i <= 3; i++ {
		cmd, out := run("sharded", fmt.Sprintf("%d/3", i)), &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs, outs = append(procs, cmd), append(outs, out)
	}
	for i, cmd := range procs {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("shard %d/3: %v\n%s", i+1, err, outs[i])
		}
	}
	if out, err := run("whole", "").CombinedOutput(); err != nil {
		t.Fatalf("one run: %v\n%s", err, out)
	}
	if states, _ := filepath.Glob(filepath.Join(root, "state", "promrecover", "*shard*")); len(states) != 3 {
		t.Errorf("resume states %v, want one a shard", states)
	}
	sharded, whole := filepath.Join(root, s3Bucket, "sharded"), filepath.Join(root, s3Bucket, "whole")
	if a, b := blockCount(t, sharded), blockCount(t, whole); a != b || a != 5 {
		t.Errorf("%d blocks from three shards, %d from one run; want one a window, 5", a, b)
	}
	noSampleTwice(t, sharded)
	want := expected(data, from, to, 0, nil)
	for _, dir := range []string{sharded, whole} {
		got, err := blocks.ReadSeries(dir, from.UnixMilli(), to.UnixMilli())
		if err != nil {
			t.Fatal(err)
		}
		if err := extract.Compare(want, got); err != nil {
			t.Fatalf("%s holds other data than the source: %v", filepath.Base(dir), err)
		}
	}
}
