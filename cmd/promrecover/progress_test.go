package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// csi matches a control sequence: ESC [ parameter final-byte.
var csi = regexp.MustCompile("^\x1b\\[([0-9;]*)([A-Za-z])")

// screen replays what was written to a terminal and returns its lines as the
// terminal shows them in the end: text overwrites, carriage return, newline,
// and the two sequences the bars are redrawn with, cursor up (ESC[nA) and
// erase below (ESC[J). A line written over by a redraw is gone, as it is on
// the user's screen.
func screen(raw string) []string {
	lines := []string{""}
	row, col := 0, 0
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '\r':
			col = 0
		case '\n':
			row, col = row+1, 0
			if row == len(lines) {
				lines = append(lines, "")
			}
		case 0x1b:
			m := csi.FindStringSubmatch(raw[i:])
			if m == nil {
				continue
			}
			i += len(m[0]) - 1
			switch m[2] {
			case "A":
				n, _ := strconv.Atoi(m[1])
				row = max(row-max(n, 1), 0)
			case "J":
				lines = lines[:row+1]
				lines[row] = lines[row][:min(col, len(lines[row]))]
			}
		default:
			l := lines[row] + strings.Repeat(" ", max(col-len(lines[row]), 0))
			lines[row] = l[:col] + string(c) + l[min(col+1, len(l)):]
			col++
		}
	}
	return lines
}

// ptyOutput collects what a process writes to its terminal.
type ptyOutput struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	grew   chan struct{} // signalled after each read
	closed chan struct{}
}

func (o *ptyOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor waits until the output contains s, failing if the process ends
// first; the deadline only keeps a broken run from hanging the suite.
func (o *ptyOutput) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for !strings.Contains(o.String(), s) {
		select {
		case <-o.grew:
		case <-o.closed:
			t.Fatalf("the run ended without printing %q:\n%q", s, o.String())
		case <-deadline:
			t.Fatalf("no %q after 60s:\n%q", s, o.String())
		}
	}
}

// startInTerminal runs the binary with stdout and stderr on a new
// pseudo-terminal, as a user at a shell would.
func startInTerminal(t *testing.T, cmd *exec.Cmd) *ptyOutput {
	t.Helper()
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 160})
	if err != nil {
		t.Fatalf("no pseudo-terminal (/dev/ptmx), which this test needs: %v", err)
	}
	o := &ptyOutput{grew: make(chan struct{}, 1), closed: make(chan struct{})}
	go func() {
		defer close(o.closed)
		defer ptmx.Close()
		b := make([]byte, 4096)
		for {
			n, err := ptmx.Read(b) // EIO once the process has exited
			o.mu.Lock()
			o.buf.Write(b[:n])
			o.mu.Unlock()
			select {
			case o.grew <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return o
}

// TestProgressInTerminal runs recover on a pseudo-terminal. The server holds
// the second window until a bar frame showing the first one done is on the
// screen, so the bars are redrawn at least once whatever the machine's speed.
func TestProgressInTerminal(t *testing.T) {
	bin := buildBinary(t)
	data := gen.DemoSeries(dataStart, dataEnd, 3)
	cases := []struct {
		name  string
		flags []string
		term  string
		show  string // bars, records or nothing
	}{
		{"bars", nil, "xterm", "bars"},
		{"json logs above the bars", []string{"--log-format", "json"}, "xterm", "bars"},
		{"quiet", []string{"--quiet"}, "xterm", "nothing"},
		{"a terminal that cannot move its cursor", nil, "dumb", "records"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, open := gate(1)
			url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}}, g)
			cmd := exec.Command(bin, append([]string{"recover", "--grafana-url", url, "--datasource", "grafanacloud-prom", "--concurrency", "1",
				"--from", dataStart.Add(2 * time.Hour).Format(time.RFC3339), "--to", dataStart.Add(6 * time.Hour).Format(time.RFC3339), "--out", t.TempDir()}, tc.flags...)...)
			cmd.Env = append(os.Environ(), "GRAFANA_TOKEN="+testToken, "TERM="+tc.term)
			out := startInTerminal(t, cmd)
			if tc.show == "bars" {
				out.waitFor(t, "] 1/2")
			}
			open()
			<-out.closed
			if err := cmd.Wait(); err != nil {
				t.Fatalf("recover: %v\n%q", err, out)
			}
			raw := out.String()
			text := strings.Join(screen(raw), "\n")
			final := strings.LastIndex(text, "] 2/2")
			summary := strings.Index(text, "recovered 2 of 2 windows")
			if summary < 0 {
				t.Fatalf("no summary:\n%s", text)
			}
			if after := raw[strings.Index(raw, "recovered 2 of 2 windows"):]; strings.Contains(after, "\x1b[") || !strings.Contains(after, "SAMPLES") {
				t.Errorf("the output does not end with the summary, untouched:\n%q", after)
			}
			if tc.show != "bars" {
				bars := strings.Contains(raw, "\x1b[") || regexp.MustCompile(`windows +\[`).MatchString(text)
				records := regexp.MustCompile(`(?m)^time=\S+ level=INFO msg=progress windows=2/2 `).MatchString(text)
				if bars || records != (tc.show == "records") || (tc.show == "nothing" && strings.Contains(text, "level=INFO")) {
					t.Errorf("want %s, got bars %v, final progress record %v:\n%q", tc.show, bars, records, raw)
				}
				return
			}
			if !strings.Contains(raw, "\x1b[") {
				t.Errorf("the bars were not redrawn in place:\n%q", raw)
			}
			if final < 0 || final > summary {
				t.Errorf("no final frame with 2/2 windows above the summary:\n%s", text)
			}
			for _, want := range []string{"samples", "requests", "retries", "received"} {
				if !strings.Contains(text[:summary], want) {
					t.Errorf("the bars lack %q:\n%s", want, text)
				}
			}
			// Records logged while the bars were live are whole lines.
			installed := 0
			for _, l := range strings.Split(text, "\n") {
				if !strings.Contains(l, "msg=installed ") && !strings.Contains(l, `"msg":"installed"`) {
					continue
				}
				installed++
				if tc.flags == nil && !regexp.MustCompile(`^time=\d\d:\d\d:\d\d level=INFO msg=installed window=\S+ samples=\d+$`).MatchString(l) {
					t.Errorf("torn log line: %q", l)
				}
				if tc.flags != nil && !json.Valid([]byte(l)) {
					t.Errorf("torn JSON record: %q", l)
				}
			}
			if installed != 2 {
				t.Errorf("%d installed-block records, want 2:\n%s", installed, text)
			}
		})
	}
}

// TestProgressPiped runs commands with stderr on a pipe: progress is log
// records, one at the end at least, in the log's format, with no escape
// codes.
func TestProgressPiped(t *testing.T) {
	bin := buildBinary(t)
	url, _ := simtest.Start(t, sim.Config{Series: gen.DemoSeries(dataStart, dataEnd, 4), Tokens: []string{testToken}})
	dir := t.TempDir()
	exported := filepath.Join(dir, "up.json")
	imported := filepath.Join(dir, "import")
	if err := os.Mkdir(imported, 0o755); err != nil {
		t.Fatal(err)
	}
	query := []string{"--grafana-url", url, "--datasource", "grafanacloud-prom",
		"--from", dataStart.Add(2 * time.Hour).Format(time.RFC3339), "--to", dataStart.Add(6 * time.Hour).Format(time.RFC3339)}
	fast := []string{"--progress-interval", "1ms"}
	cases := []struct {
		name string
		args []string
		// the last progress record holds these; nil: there is none
		last map[string]any
		json bool
		read bool // the last record says the whole input was read
	}{
		{"demo", append([]string{"demo", "--out", filepath.Join(dir, "demo")}, fast...), map[string]any{"windows": "2/2", "requests": "5"}, false, false}, // 3 fetch, 2 count (the check)
		{"demo, json", append([]string{"demo", "--out", filepath.Join(dir, "demo-json"), "--log-format", "json"}, fast...), map[string]any{"windows": 2.0, "windows_total": 2.0, "requests": 5.0}, true, false},
		{"demo, quiet", append([]string{"demo", "--out", filepath.Join(dir, "demo-quiet"), "-q"}, fast...), nil, false, false},
		{"export", append(append([]string{"export", "--match", "up", "--out", exported}, query...), fast...), map[string]any{"windows": "2/2"}, false, false},
		{"import, json", append([]string{"import", exported, "--out", imported, "--log-format", "json"}, fast...), map[string]any{"windows": 2.0}, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			cmd.Env = append(os.Environ(), "GRAFANA_TOKEN="+testToken)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			if strings.Contains(stdout.String()+stderr.String(), "\x1b") {
				t.Errorf("escape codes in piped output:\n%q", stderr.String())
			}
			var last map[string]any
			for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
				if l == "" {
					continue
				}
				rec, err := parseRecord(l, tc.json)
				if err != nil {
					t.Fatalf("%v: %q", err, l)
				}
				if tc.last == nil && rec["level"] == "INFO" {
					t.Errorf("--quiet logs info: %q", l)
				}
				if rec["msg"] == "progress" {
					last = rec
				}
			}
			if tc.last == nil {
				if last != nil {
					t.Errorf("--quiet logs progress:\n%s", stderr.String())
				}
				return
			}
			if last == nil {
				t.Fatalf("no progress record:\n%s", stderr.String())
			}
			for k, v := range tc.last {
				if last[k] != v {
					t.Errorf("last progress record: %s = %#v, want %#v (%v)", k, last[k], v, last)
				}
			}
			if _, ok := last["samples"]; !ok {
				t.Errorf("no sample count in %v", last)
			}
			// JSON has the bytes read and the input's size.
			if n, size := last["read_bytes"], last["read_total_bytes"]; tc.json && tc.read != (n != nil) || n != size {
				t.Errorf("last progress record: read %v of %v bytes, want it %v", n, size, tc.read)
			}
			if read, _ := last["read"].(string); !tc.json && tc.read != (read != "") {
				t.Errorf("last progress record: read = %q, want it %v", read, tc.read)
			} else if n, size, _ := strings.Cut(read, " of "); n != size {
				t.Errorf("last progress record: read %s", read)
			}
		})
	}
}

// parseRecord reads one log line, which must be a whole record: JSON with
// level and msg, or slog's text format.
func parseRecord(line string, isJSON bool) (map[string]any, error) {
	rec := map[string]any{}
	if isJSON {
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return nil, err
		}
	} else {
		for _, m := range regexp.MustCompile(`(\w+)=("(?:[^"\\]|\\.)*"|\S*)`).FindAllStringSubmatch(line, -1) {
			rec[m[1]] = strings.Trim(m[2], `"`)
		}
	}
	if rec["level"] == nil || rec["msg"] == nil {
		return nil, errors.New("not a log record")
	}
	return rec, nil
}

func TestLogFormatRefused(t *testing.T) {
	_, _, err := runCLI(t, "demo", "--out", t.TempDir(), "--log-format", "xml")
	if err == nil || !strings.Contains(err.Error(), `"xml"`) || !strings.Contains(err.Error(), "text or json") {
		t.Fatalf("--log-format xml: %v", err)
	}
}
