package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/matrixtest"
	"github.com/promrecover/promrecover/internal/servers"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// thanosVerify runs `thanos tools bucket verify` with every issue it checks
// on the bucket conf configures, and fails on any it reports, or unless it
// sees that many blocks, and that many partial uploads (invisible to it).
func thanosVerify(t *testing.T, conf string, blocks, partial int) {
	t.Helper()
	out, err := exec.Command(servers.Bin(t, "thanos"), "tools", "bucket", "verify", "--objstore.config", conf,
		"--issues", "index_known_issues", "--issues", "overlapped_blocks", "--issues", "duplicated_compaction").CombinedOutput()
	text := string(out)
	if err != nil || !strings.Contains(text, "verify task completed") || !strings.Contains(text, fmt.Sprintf("returned=%d partial=%d", blocks, partial)) {
		t.Fatalf("thanos tools bucket verify: %v\n%s", err, text)
	}
	for _, bad := range []string{"level=warn", "level=error", "detected issue", "found overlapped blocks"} {
		if strings.Contains(text, bad) {
			t.Fatalf("thanos tools bucket verify reports %q:\n%s", bad, text)
		}
	}
}

// thanosServes starts thanos store on the bucket conf configures and thanos
// query in front of it, and returns the query's address once it serves.
func thanosServes(t *testing.T, conf string) *prometheus {
	t.Helper()
	bin := servers.Bin(t, "thanos")
	file := filepath.Join(t.TempDir(), "bucket.yml")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	storeHTTP, storeGRPC := servers.FreeAddr(t), servers.FreeAddr(t)
	servers.Start(t, "http://"+storeHTTP, "/-/ready", bin, "store", "--data-dir", t.TempDir(), "--objstore.config-file", file,
		"--http-address", storeHTTP, "--grpc-address", storeGRPC)
	queryHTTP, queryGRPC := servers.FreeAddr(t), servers.FreeAddr(t)
	q := servers.Start(t, "http://"+queryHTTP, "/-/ready", bin, "query", "--http-address", queryHTTP, "--grpc-address", queryGRPC,
		"--endpoint", storeGRPC)
	return &prometheus{url: q.URL, stop: q.Stop}
}

// externally is want as Thanos's query shows it: every series with the
// external labels ls.
func externally(want []extract.Series, ls ...string) []extract.Series {
	out := make([]extract.Series, len(want))
	for i, s := range want {
		out[i] = withLabels(s, ls...)
	}
	return out
}

// thanosServesExactly waits for Thanos's query to see the store's blocks,
// then compares every sample it serves in [from, to) with want.
func thanosServesExactly(t *testing.T, q *prometheus, from, to time.Time, want []extract.Series) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		got := matrixtest.Floats(q.rawMatrix(t, from, to))
		if err = extract.Compare(want, got); err == nil {
			t.Logf("Thanos serves %d series, %d samples, identical to the source", len(got), extract.CountSamples(got))
			return
		}
	}
	t.Fatalf("Thanos serves other data than the source: %v", err)
}

func TestRecoveredBucketServedByThanos(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 3)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	conf := fsConfig(t.TempDir())
	from, to := dataStart.Add(2*time.Hour+20*time.Minute), dataStart.Add(8*time.Hour)
	stdout, stderr, err := runCLI(t, recoverArgs(url, from, to, "--objstore.config", conf, "--external-label", "cluster=eu1",
		"--state", filepath.Join(t.TempDir(), "state.json"))...)
	if err != nil {
		t.Fatalf("recover: %v\n%s\n%s", err, stdout, stderr)
	}
	thanosVerify(t, conf, 3, 0)
	thanosServesExactly(t, thanosServes(t, conf), from, to, externally(expected(data, from, to, 0, nil), "cluster", "eu1"))
}
