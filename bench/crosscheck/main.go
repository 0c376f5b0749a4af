// Command crosscheck measures what checking each unit against the source's
// counts costs: it serves the demo's data set (gen.DemoSeries, 330 series,
// 10 hours) from the Grafana simulator on 127.0.0.1, recovers all 10 hours
// with the promrecover binary given, with and without --no-crosscheck,
// through each --via and for a few plans, and prints the requests and the
// bytes (decompressed, as --summary-json counts them) of each run and what
// the check added. Every run must end with exit status 0.
//
//	go build -o /tmp/promrecover ./cmd/promrecover && go run ./bench/crosscheck -bin /tmp/promrecover
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
)

const token = "bench-token"

var (
	start = time.Date(2025, 8, 3, 0, 0, 0, 0, time.UTC)
	end   = start.Add(10 * time.Hour)
)

func main() {
	bin := flag.String("bin", "", "the promrecover binary (required)")
	flag.Parse()
	if *bin == "" {
		fail(fmt.Errorf("-bin is required"))
	}
	data := gen.DemoSeries(start, end, 1)
	cloud := &sim.Cloud{Instance: "1", Tokens: map[string][]string{"glc_read": {"metrics:read"}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	go http.Serve(ln, sim.New(sim.Config{Series: data, Tokens: []string{token}, Cloud: cloud}))
	url := "http://" + ln.Addr().String()
	vias := map[string][]string{
		"ds":          {"--via", "ds", "--grafana-url", url, "--token", token, "--datasource", "grafanacloud-prom"},
		"proxy":       {"--via", "proxy", "--grafana-url", url, "--token", token, "--datasource", "grafanacloud-prom"},
		"prometheus":  {"--via", "prometheus", "--source-url", url + sim.CloudPrefix, "--source-user", "1", "--source-password", "glc_read"},
		"remote-read": {"--via", "remote-read", "--source-url", url + sim.CloudPrefix, "--source-user", "1", "--source-password", "glc_read"},
	}
	plans := []struct {
		name string
		args []string
	}{
		{"every series", nil},
		{"two selectors", []string{"--match", `{job="api"}`, "--match", `{job="node"}`}},
		{"sharded, 20 series a query", []string{"--max-series-per-query", "20"}},
	}
	fmt.Printf("%-12s %-27s %8s %8s %7s %12s %12s %7s\n", "VIA", "PLAN", "REQS", "+CHECK", "+%", "BYTES", "+CHECK", "+%")
	for _, via := range []string{"ds", "proxy", "prometheus", "remote-read"} {
		for _, p := range plans {
			args := append(append([]string{}, vias[via]...), p.args...)
			off := run(*bin, append(args, "--no-crosscheck"))
			on := run(*bin, args)
			dr, db := on.Requests.Requests-off.Requests.Requests, on.Requests.Bytes-off.Requests.Bytes
			fmt.Printf("%-12s %-27s %8d %8d %6.1f%% %12d %12d %6.2f%%  (%d units checked in %d count requests, %d bytes)\n", via, p.name,
				off.Requests.Requests, dr, pct(dr, off.Requests.Requests), off.Requests.Bytes, db, pct(db, off.Requests.Bytes),
				on.Crosscheck.Checked, on.Crosscheck.Requests, on.Crosscheck.Bytes)
		}
	}
}

type summary struct {
	Requests struct {
		Requests, Bytes int64
	}
	Crosscheck struct {
		Checked  int   `json:"units_checked"`
		Requests int   `json:"requests"`
		Bytes    int64 `json:"bytes"`
	}
}

// run recovers the whole range into a fresh directory and reads its summary.
func run(bin string, args []string) summary {
	dir, err := os.MkdirTemp("", "crosscheck-bench-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	sum := filepath.Join(dir, "summary.json")
	args = append([]string{"recover", "--from", start.Format(time.RFC3339), "--to", end.Format(time.RFC3339), "--out", dir, "--summary-json", sum, "--quiet"}, args...)
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		fail(fmt.Errorf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out))
	}
	raw, err := os.ReadFile(sum)
	if err != nil {
		fail(err)
	}
	var s summary
	if err := json.Unmarshal(raw, &s); err != nil {
		fail(err)
	}
	return s
}

func pct(a, b int64) float64 { return 100 * float64(a) / float64(max(b, 1)) }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "crosscheck:", err)
	os.Exit(1)
}
