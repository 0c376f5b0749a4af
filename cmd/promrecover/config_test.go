package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// writeConfig writes a config file named promrecover.yaml, as the README
// calls it, so that error messages can be checked word for word.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "promrecover.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// flagsAfter runs the command line with every command's work replaced by
// keeping its flags, and returns them as they were when the work would have
// started.
func flagsAfter(args ...string) (*pflag.FlagSet, error) {
	root := newRoot(io.Discard, io.Discard)
	var got *pflag.FlagSet
	for _, sub := range root.Commands() {
		sub.RunE = func(cmd *cobra.Command, _ []string) error { got = cmd.Flags(); return nil }
	}
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return got, err
}

func TestConfigPrecedence(t *testing.T) {
	const file = `grafana-url: https://from-config.example
datasource: top
concurrency: 8
out: /top
match: ['up', '{job="api", code=~"5.."}']
drop-label: cluster
memory-limit: "0"
recover: &recover
  datasource: recover-section
  restart: true
  step: 30s
export:
  format: jsonl
plan: *recover
`
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want map[string]string // flag name -> value as pflag prints it; lists joined by commas
	}{
		{name: "top level, and the command's section over it",
			args: []string{"recover", "--config", "CFG"},
			want: map[string]string{"grafana-url": "https://from-config.example", "datasource": "recover-section", "concurrency": "8",
				"out": "/top", "restart": "true", "step": "30s", "match": `[up,{job="api", code=~"5.."}]`, "drop-label": "[cluster]", "memory-limit": "0"}},
		{name: "the environment wins over the config file",
			env:  map[string]string{"GRAFANA_URL": "https://from-env.example"},
			args: []string{"recover", "--config", "CFG"},
			// connFlags.options fills the empty flag from GRAFANA_URL.
			want: map[string]string{"grafana-url": ""}},
		{name: "the command line wins over the environment and the config file",
			env:  map[string]string{"GRAFANA_URL": "https://from-env.example"},
			args: []string{"recover", "--config", "CFG", "--grafana-url", "https://from-cli.example"},
			want: map[string]string{"grafana-url": "https://from-cli.example"}},
		{name: "PROMRECOVER_CONFIG names the file",
			env:  map[string]string{"PROMRECOVER_CONFIG": "CFG"},
			args: []string{"recover"},
			want: map[string]string{"datasource": "recover-section"}},
		{name: "--config wins over PROMRECOVER_CONFIG",
			env:  map[string]string{"PROMRECOVER_CONFIG": "/nonexistent.yaml"},
			args: []string{"recover", "--config", "CFG"},
			want: map[string]string{"datasource": "recover-section"}},
	}
	path := writeConfig(t, file)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"GRAFANA_URL", "PROMRECOVER_CONFIG"} {
				t.Setenv(k, strings.ReplaceAll(tc.env[k], "CFG", path))
			}
			args := slices.Clone(tc.args)
			for i := range args {
				args[i] = strings.ReplaceAll(args[i], "CFG", path)
			}
			fs, err := flagsAfter(args...)
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tc.want {
				got := "<no such flag>"
				if f := fs.Lookup(name); f != nil {
					got = f.Value.String()
					if sv, ok := f.Value.(pflag.SliceValue); ok { // unquoted, unlike String
						got = "[" + strings.Join(sv.GetSlice(), ",") + "]"
					}
				}
				if got != want {
					t.Errorf("--%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name, file string
		cmd        string
		want       []string
	}{
		{name: "a token is refused, naming the environment variables",
			file: "datasource: x\ntoken: glsa_abc\n",
			want: []string{"promrecover.yaml:2: token is refused in a config file", "set GRAFANA_TOKEN in the environment", "GRAFANA_SESSION", "GRAFANA_PASSWORD"}},
		{name: "a password in a section is refused",
			file: "recover:\n  out: /x\n  password: hunter2\n",
			want: []string{"promrecover.yaml:3: password is refused", "set GRAFANA_PASSWORD"}},
		{name: "a session is refused",
			file: "session: abc\n",
			want: []string{"promrecover.yaml:1: session is refused", "set GRAFANA_SESSION"}},
		{name: "an inline bucket configuration is refused, the file of its own is not",
			file: "objstore.config-file: bucket.yml\nobjstore.config: |\n  type: S3\n  config: {secret_key: hunter2}\n",
			want: []string{"promrecover.yaml:2: objstore.config is refused", "objstore.config-file"}},
		{name: "a synonym names the flag meant",
			file: "selectors: [up]\n",
			want: []string{`promrecover.yaml:1: "selectors" is not a flag of any command; the closest is --match`}},
		{name: "a config file naming another",
			file: "config: other.yaml\n",
			want: []string{"promrecover.yaml:1: config cannot be set in a config file: a config file cannot name another one"}},
		{name: "the version is asked for on the command line",
			file: "version: true\n",
			want: []string{"promrecover.yaml:1: version cannot be set in a config file: the version is asked for on the command line"}},
		{name: "not a map",
			file: "- out\n",
			want: []string{"promrecover.yaml:1: want a map of flag names to values, e.g. 'grafana-url: https://example.grafana.net'"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := tc.cmd
			if cmd == "" {
				cmd = "recover"
			}
			_, err := flagsAfter(cmd, "--config", writeConfig(t, tc.file))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "glsa_abc") {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
	if _, err := flagsAfter("recover", "--config", filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "--config: open") {
		t.Errorf("a missing file: %v", err)
	}
	if _, err := flagsAfter("recover", "--config", writeConfig(t, "")); err != nil {
		t.Errorf("an empty file: %v", err)
	}
}

// TestConfigRecoverBinary runs the real binary with the connection and
// selection from a config file named by PROMRECOVER_CONFIG. The file's
// grafana-url and --to are wrong on purpose: GRAFANA_URL and the command
// line must win, or the run fails.
func TestConfigRecoverBinary(t *testing.T) {
	bin := buildBinary(t)
	data := gen.DemoSeries(dataStart, dataEnd, 3)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(6*time.Hour)
	out := t.TempDir()
	path := writeConfig(t, `grafana-url: http://127.0.0.1:1
datasource: grafanacloud-prom
match:
  - up
concurrency: 2
recover:
  out: `+out+`
  from: `+from.Format(time.RFC3339)+`
  to: `+from.Format(time.RFC3339)+`
`)
	cmd := exec.Command(bin, "recover", "--to", to.Format(time.RFC3339))
	cmd.Env = append(os.Environ(), "PROMRECOVER_CONFIG="+path, "GRAFANA_URL="+url, "GRAFANA_TOKEN="+testToken)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	got, err := blocks.ReadSeries(out, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	want := slices.DeleteFunc(extract.Clip(data, from.UnixMilli(), to.UnixMilli()), func(s extract.Series) bool { return s.Labels.Get("__name__") != "up" })
	if len(want) == 0 {
		t.Fatal("the data set has no series named up")
	}
	if err := extract.Compare(want, got); err != nil {
		t.Fatal(err)
	}
}
