package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/servers"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// meetingPoint holds every data query until both runs (told apart by their
// tokens) have sent one, or one run has ended: neither can finish before
// the other has started, and the test waits on events, not on a timer.
type meetingPoint struct {
	mu   sync.Mutex
	seen map[string]bool
	open chan struct{}
	once sync.Once
}

func newMeetingPoint() *meetingPoint {
	return &meetingPoint{seen: map[string]bool{}, open: make(chan struct{})}
}

func (m *meetingPoint) release() { m.once.Do(func() { close(m.open) }) }

func (m *meetingPoint) fault(w http.ResponseWriter, r *http.Request, next http.Handler) {
	m.mu.Lock()
	m.seen[r.Header.Get("Authorization")] = true
	both := len(m.seen) == 2
	m.mu.Unlock()
	if both {
		m.release()
	}
	faults.Hold(m.open)(w, r, next)
}

// TestTwoRunsIntoOneOut starts two real promrecover processes together into
// one --out against one simulator, ten times: one writes every window once
// and exits 0, the other is refused, naming the first's pid, and writes
// nothing.
func TestTwoRunsIntoOneOut(t *testing.T) {
	bin := buildBinary(t)
	data := gen.DemoSeries(dataStart, dataEnd, 3)
	from, to := dataStart, dataStart.Add(8*time.Hour) // 4 windows
	tokens := []string{testToken, testToken + "_second"}
	for pair := range 10 {
		t.Run(fmt.Sprint("pair ", pair), func(t *testing.T) {
			meet := newMeetingPoint()
			url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: tokens}, faults.On(faults.Query).Do(meet.fault))
			out := t.TempDir()
			// Entries to read before the first staging area exists, as in a
			// busy data directory: they widened the race to most pairs.
			for range 2000 {
				if err := os.Mkdir(filepath.Join(out, ulid.Make().String()+".tmp-for-deletion"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			cmds := make([]*exec.Cmd, 2)
			stderr := make([]bytes.Buffer, 2)
			for i := range cmds {
				cmds[i] = exec.Command(bin, "recover", "--grafana-url", url, "--datasource", "grafanacloud-prom",
					"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", out)
				cmds[i].Env = append(os.Environ(), "GRAFANA_TOKEN="+tokens[i])
				cmds[i].Stderr = &stderr[i]
			}
			for _, c := range cmds {
				if err := c.Start(); err != nil {
					t.Fatal(err)
				}
			}
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, c := range cmds {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = c.Wait()
					meet.release()
				}()
			}
			wg.Wait()
			var won, lost []int
			for i, err := range errs {
				var exit *exec.ExitError
				switch {
				case err == nil:
					won = append(won, i)
				case errors.As(err, &exit):
					lost = append(lost, i)
				default:
					t.Fatal(err)
				}
			}
			if len(won) != 1 || len(lost) != 1 {
				t.Fatalf("%d runs exited 0, %d failed; want one of each\nfirst:\n%s\nsecond:\n%s", len(won), len(lost), stderr[0].String(), stderr[1].String())
			}
			msg := stderr[lost[0]].String()
			want := fmt.Sprintf("another promrecover (pid %d, promrecover recover, started ", cmds[won[0]].Process.Pid)
			if !strings.Contains(msg, want) {
				t.Errorf("the refused run says\n%s\nwant %q", msg, want)
			}
			if n := installed(t, out); n != 4 {
				t.Errorf("%d blocks installed for 4 windows", n)
			}
		})
	}
}

// installed counts the blocks in dir.
func installed(t *testing.T, dir string) int {
	t.Helper()
	list, err := blocks.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// TestPrometheusStartedMidRecover starts the real Prometheus (2.42, then
// 3.x) on --out while a recovery writes there: its start deletes our
// staging area (as every *.tmp-for-creation directory), and the recovery
// makes it again, writes the windows of then again and ends complete and
// exact.
func TestPrometheusStartedMidRecover(t *testing.T) {
	for _, v := range servers.Versions {
		t.Run("Prometheus "+string(v), func(t *testing.T) { prometheusStartedMidRecover(t, v) })
	}
}

func prometheusStartedMidRecover(t *testing.T, v servers.Version) {
	data := gen.DemoSeries(dataStart, dataEnd, 5)
	from, to := dataStart, dataStart.Add(8*time.Hour) // 4 windows
	g, open := gate(2)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}}, g)
	out := t.TempDir()
	type result struct {
		stdout, stderr string
		err            error
	}
	done := make(chan result, 1)
	go func() {
		stdout, stderr, err := runCLI(t, "recover", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom", "--concurrency", "1",
			"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", out)
		done <- result{stdout, stderr, err}
	}()
	for g.Count() < 3 { // a query is held: the run is mid-window
		select {
		case r := <-done:
			t.Fatalf("the run ended before the gate: %v\n%s", r.err, r.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if staging, _ := filepath.Glob(filepath.Join(out, "*.tmp-for-creation")); len(staging) != 1 {
		t.Fatalf("staging areas before Prometheus starts: %v", staging)
	}
	prom := startPrometheus(t, v, out)
	if staging, _ := filepath.Glob(filepath.Join(out, "*.tmp-for-creation")); len(staging) != 0 {
		t.Fatalf("Prometheus's start left the staging area: %v", staging)
	}
	open()
	r := <-done
	prom.stop()
	if r.err != nil {
		t.Fatalf("recover with Prometheus started mid-run: %v\n%s\n%s", r.err, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "the staging directory was removed") {
		t.Errorf("the log does not name the removal:\n%s", r.stderr)
	}
	got, err := blocks.ReadSeries(out, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if err := extract.Compare(extract.Clip(data, from.UnixMilli(), to.UnixMilli()), got); err != nil {
		t.Fatalf("the blocks differ from the source: %v", err)
	}
	list, err := blocks.List(out)
	if err != nil {
		t.Fatal(err)
	}
	if dups, err := blocks.Duplicates(out, blocks.Overlaps(list)); err != nil || len(dups) > 0 {
		t.Fatalf("samples stored twice: %v, %v", dups, err)
	}
}
