package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/exitcode"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// The round trip tests export from the simulated Grafana in each format,
// import the file into an empty directory and check that the blocks hold
// what recover writes for the same range, and that the real Prometheus
// serves the source from them; then verify checks the blocks against the
// file, and catches an edited one.

var (
	rtFrom = dataStart.Add(time.Hour)
	rtTo   = dataStart.Add(5*time.Hour + 30*time.Minute) // three windows, two partial
)

func TestRoundTripExportImportEqualsRecover(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 3)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	conn := []string{"--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", rtFrom.Format(time.RFC3339), "--to", rtTo.Format(time.RFC3339)}

	recovered := t.TempDir()
	if stdout, stderr, err := runCLI(t, append([]string{"recover", "--out", recovered}, conn...)...); err != nil {
		t.Fatalf("recover: %v\n%s\n%s", err, stdout, stderr)
	}
	want, err := blocks.ReadSeries(recovered, math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	source := extract.Clip(data, rtFrom.UnixMilli(), rtTo.UnixMilli())
	if err := extract.Compare(source, want); err != nil {
		t.Fatalf("recover: %v", err)
	}

	cases := []struct {
		format, ext string
		first       string // how the file starts
	}{
		{"json", ".json", `{"status":"success"`},
		{"jsonl", ".jsonl", `{"metric":{`},
		{"openmetrics", ".om", "# TYPE "},
	}
	for _, tc := range cases {
		t.Run(tc.format, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "lost"+tc.ext)
			if _, stderr, err := runCLI(t, append([]string{"export", "--format", tc.format, "--out", file}, conn...)...); err != nil {
				t.Fatalf("export: %v\n%s", err, stderr)
			}
			text, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(text, []byte(tc.first)) {
				t.Fatalf("the file starts %q, want %q", text[:min(len(text), 40)], tc.first)
			}

			out := t.TempDir()
			stdout, stderr, err := runCLI(t, "import", file, "--out", out)
			if err != nil {
				t.Fatalf("import: %v\n%s\n%s", err, stdout, stderr)
			}
			if !strings.Contains(stdout, "("+tc.format) {
				t.Errorf("import did not read the file as %s:\n%s", tc.format, stdout)
			}
			got, err := blocks.ReadSeries(out, math.MinInt64, math.MaxInt64)
			if err != nil {
				t.Fatal(err)
			}
			if err := extract.Compare(want, got); err != nil {
				t.Fatalf("export then import differs from recover: %v", err)
			}
			// The real Prometheus serves the source from the import; then
			// verify reads a directory Prometheus has run on.
			servesExactly(t, out, rtFrom, rtTo, source)

			// verify passes on the import, and on what recover wrote, and
			// changes nothing in either.
			for _, dir := range []string{out, recovered} {
				before := snapshot(t, dir)
				stdout, stderr, err = runCLI(t, "verify", "--data", dir, "--against", file)
				if after := snapshot(t, dir); after != before {
					t.Errorf("verify changed %s:\n%s\n%s", dir, before, after)
				}
				if err != nil {
					t.Fatalf("verify %s: %v\n%s\n%s", dir, err, stdout, stderr)
				}
				for _, w := range []string{"BLOCK ULID", "SAMPLES", " chunks  ", "SIZE", "no overlapping blocks", "OK: the blocks hold exactly the file's"} {
					if !strings.Contains(stdout, w) {
						t.Errorf("verify's output lacks %q:\n%s", w, stdout)
					}
				}
			}

			// One value changed in the file: verify names the series and time.
			edited, series, at := editOneValue(t, tc.format, text)
			if err := os.WriteFile(file, edited, 0o644); err != nil {
				t.Fatal(err)
			}
			stdout, stderr, err = runCLI(t, "verify", "--data", out, "--against", file)
			if err == nil {
				t.Fatalf("verify passed an edited file:\n%s", stdout)
			}
			if code := exitcode.Of(err); code != exitcode.Failed {
				t.Errorf("verify's error exits %d, want 1: %v", code, err)
			}
			for _, w := range []string{"FIRST DIFFERENCE", series, at, "1 with another value, 0 missing from the blocks, 0 not in the file"} {
				if !strings.Contains(stdout, w) {
					t.Errorf("verify's output lacks %q:\n%s\n%s", w, stdout, stderr)
				}
			}
		})
	}
}

// editOneValue changes the value of the first sample of the second series
// in an export's text, and returns the series as extract names it and the
// sample's time as verify prints it.
func editOneValue(t *testing.T, format string, text []byte) ([]byte, string, string) {
	t.Helper()
	s := string(text)
	switch format {
	case "openmetrics":
		lines := strings.Split(s, "\n")
		for i, ln := range lines {
			if strings.HasPrefix(ln, "#") || ln == "" {
				continue
			}
			f := strings.Fields(ln)
			if len(f) != 3 {
				t.Fatalf("unexpected line %q", ln)
			}
			f[1] = "123456.5"
			lines[i] = strings.Join(f, " ")
			sec, ms, _ := strings.Cut(f[2], ".")
			return []byte(strings.Join(lines, "\n")), strings.SplitN(f[0], "{", 2)[0], secondsString(sec, ms)
		}
	default:
		// The first value of the first series: [<seconds>,"<value>"].
		i := strings.Index(s, `"values":[[`)
		if i < 0 {
			t.Fatal("no values in the file")
		}
		rest := s[i+len(`"values":[[`):]
		comma := strings.IndexByte(rest, ',')
		end := strings.Index(rest, `"]`)
		ts := rest[:comma]
		sec, ms, _ := strings.Cut(ts, ".")
		edited := s[:i+len(`"values":[[`)] + ts + `,"123456.5` + rest[end:]
		name := s[strings.Index(s, `"__name__":"`)+len(`"__name__":"`):]
		return []byte(edited), name[:strings.IndexByte(name, '"')], secondsString(sec, ms)
	}
	t.Fatal("no sample in the file")
	return nil, "", ""
}

// secondsString is seconds and a fraction as verify prints the time.
func secondsString(sec, frac string) string {
	n := int64(0)
	for _, c := range sec {
		n = n*10 + int64(c-'0')
	}
	frac = (frac + "000")[:3]
	ms := int64(0)
	for _, c := range frac {
		ms = ms*10 + int64(c-'0')
	}
	return extract.FormatTime(n*1000 + ms)
}

// exportJobs exports the series of each job into a JSON Lines file of its
// own, and returns the files and one file holding them all.
func exportJobs(t *testing.T, jobs ...string) (each []string, all string) {
	t.Helper()
	data := gen.DemoSeries(dataStart, dataEnd, 1)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	dir := t.TempDir()
	var whole []byte
	for _, job := range jobs {
		file := filepath.Join(dir, job+".jsonl")
		if _, stderr, err := runCLI(t, "export", "--format", "jsonl", "--out", file, "--grafana-url", url, "--token", testToken, "--match", `{job="`+job+`"}`,
			"--datasource", "grafanacloud-prom", "--from", rtFrom.Format(time.RFC3339), "--to", rtTo.Format(time.RFC3339)); err != nil {
			t.Fatalf("export: %v\n%s", err, stderr)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		each, whole = append(each, file), append(whole, b...)
	}
	all = filepath.Join(dir, "all.jsonl")
	if err := os.WriteFile(all, whole, 0o644); err != nil {
		t.Fatal(err)
	}
	return each, all
}

func importAll(t *testing.T, out string, files ...string) {
	t.Helper()
	for _, f := range files {
		importInto(t, f, out)
	}
}

// TestVerifyReportsOverlaps: blocks of other series over the same windows
// overlap and hold nothing twice, and verify says so, also after one of
// the files is imported again.
func TestVerifyReportsOverlaps(t *testing.T) {
	jobs, file := exportJobs(t, "api", "node")
	out := t.TempDir()
	importAll(t, out, jobs...)
	stdout, stderr, err := runCLI(t, "verify", "--data", out, "--against", file)
	if err != nil {
		t.Fatalf("verify: %v\n%s\n%s", err, stdout, stderr)
	}
	list, err := blocks.List(out)
	if err != nil || len(list) != 6 {
		t.Fatalf("%d blocks, %v", len(list), err)
	}
	for _, w := range []string{"3 overlapping block pairs", "Prometheus >= 2.39", "OVERLAP " + list[0].ULID, extract.FormatTime(list[0].MinTime), "6 blocks", "OK: the blocks hold exactly"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("verify's output lacks %q:\n%s", w, stdout)
		}
	}
	if strings.Contains(stdout, "DUPLICATE") {
		t.Errorf("blocks of other series reported as duplicates:\n%s", stdout)
	}
	// --from/--to narrow the comparison.
	stdout, stderr, err = runCLI(t, "verify", "--data", out, "--against", file, "--from", dataStart.Add(2*time.Hour).Format(time.RFC3339), "--to", dataStart.Add(4*time.Hour).Format(time.RFC3339))
	if err != nil || !strings.Contains(stdout, "over "+extract.FormatTime(dataStart.Add(2*time.Hour).UnixMilli())+"..") {
		t.Fatalf("verify --from --to: %v\n%s\n%s", err, stdout, stderr)
	}

	// Importing one of the files again writes nothing (what --out holds
	// is not written twice), so verify still finds nothing twice; a block
	// installed twice is TestVerifyFailsOnABlockInstalledTwice.
	importAll(t, out, jobs[0])
	stdout, _, err = runCLI(t, "verify", "--data", out, "--against", file)
	if err != nil || strings.Contains(stdout, "DUPLICATE") {
		t.Fatalf("verify after importing the api series again: %v\n%s", err, stdout)
	}
}

// TestVerifyFailsOnABlockInstalledTwice copies a block under a new ULID, as
// a second install of the same window leaves it: every sample of the block
// is stored twice, and verify, with --against and without, fails naming
// both blocks and the count.
func TestVerifyFailsOnABlockInstalledTwice(t *testing.T) {
	_, file := exportJobs(t, "api", "node")
	out := t.TempDir()
	importAll(t, out, file)
	list, err := blocks.List(out)
	if err != nil || len(list) != 3 {
		t.Fatalf("%d blocks, %v", len(list), err)
	}
	orig := list[1]
	copied := copyBlock(t, out, orig.ULID)
	for _, args := range [][]string{{"verify", "--data", out, "--against", file}, {"verify", "--data", out}} {
		stdout, _, err := runCLI(t, args...)
		want := fmt.Sprintf("hold %d samples twice (%s and %s: %d)", orig.Samples, orig.ULID, copied, orig.Samples)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(stdout, "OK:") {
			t.Errorf("%v: %v, want %q\n%s", args, err, want, stdout)
		}
		if line := fmt.Sprintf("DUPLICATE %s and %s: %d samples are in both", orig.ULID, copied, orig.Samples); !strings.Contains(stdout, line) {
			t.Errorf("%v: no %q in\n%s", args, line, stdout)
		}
	}
}

// copyBlock copies the block id in dir under a new ULID greater than id's,
// its meta.json saying so, and returns the new ULID.
func copyBlock(t *testing.T, dir, id string) string {
	t.Helper()
	newID := ulid.Make().String()
	err := filepath.WalkDir(filepath.Join(dir, id), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join(dir, id), path)
		dst := filepath.Join(dir, newID, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if rel == "meta.json" {
			b = bytes.ReplaceAll(b, []byte(id), []byte(newID))
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return newID
}

func TestVerifyBadInput(t *testing.T) {
	empty := t.TempDir()
	file := filepath.Join(t.TempDir(), "a.jsonl")
	if err := os.WriteFile(file, []byte(`{"metric":{"__name__":"a"},"values":[[1754179200,"1"]]}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"a directory that does not exist", []string{"verify", "--data", filepath.Join(empty, "nope")}, "does not exist"},
		{"an empty directory", []string{"verify", "--data", empty}, "holds no TSDB blocks"},
		{"an empty directory against a file", []string{"verify", "--data", empty, "--against", file}, "holds no TSDB blocks"},
		{"--from without --against", []string{"verify", "--data", empty, "--from", "now-1h"}, "only apply with --against"},
		{"a bad format", []string{"verify", "--data", empty, "--against", file, "--format", "csv"}, `unknown format "csv"`},
		{"no directory", []string{"verify"}, "--data is required: the directory of the blocks"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCLI(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("verify wrote into the directory: %v", entries)
	}
}

func TestExportBadFormat(t *testing.T) {
	_, _, err := runCLI(t, "export", "--format", "csv", "--out", "-", "--grafana-url", "http://127.0.0.1:1", "--datasource", "x", "--from", "now-1h")
	if err == nil || !strings.Contains(err.Error(), `--format "csv": use json, jsonl or openmetrics`) {
		t.Fatalf("err = %v", err)
	}
}

// snapshot lists every file under dir with its size and modification time.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %s %s\n", path, fi.Size(), fi.Mode(), fi.ModTime())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
