package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/exitcode"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/servers"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

// listing is every file under dir with its size.
func listing(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		out = append(out, fmt.Sprintf("%s %d", p, fi.Size()))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fsConfig is objstore's FILESYSTEM bucket in dir.
func fsConfig(dir string) string {
	return fmt.Sprintf("type: FILESYSTEM\nconfig:\n  directory: %s\n", dir)
}

// recoverArgs are the flags of a recovery of [from, to) from url.
func recoverArgs(url string, from, to time.Time, extra ...string) []string {
	return append([]string{"recover", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339)}, extra...)
}

// thanosLabels reads the thanos.labels of every block in a filesystem bucket.
func thanosLabels(t *testing.T, root string) []map[string]string {
	t.Helper()
	metas, _ := filepath.Glob(filepath.Join(root, "*", "meta.json"))
	var out []map[string]string
	for _, m := range metas {
		raw, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Thanos struct {
				Labels map[string]string `json:"labels"`
				Source string            `json:"source"`
			} `json:"thanos"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		out = append(out, doc.Thanos.Labels)
	}
	return out
}

func TestRecoverIntoFilesystemBucket(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 3)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	root := t.TempDir()
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(7*time.Hour)
	state := filepath.Join(t.TempDir(), "state.json")
	args := recoverArgs(url, from, to, "--objstore.config", fsConfig(root), "--external-label", "cluster=eu1", "--state", state, "--tmp-dir", t.TempDir())
	plan, stderr, err := runCLI(t, append(args, "--dry-run")...)
	if err != nil || !strings.Contains(plan, "3 windows") || len(listing(t, root)) > 0 {
		t.Fatalf("--dry-run into a bucket: %v, %d files written\n%s\n%s", err, len(listing(t, root)), plan, stderr)
	}
	stdout, stderr, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("recover: %v\n%s\n%s", err, stdout, stderr)
	}
	want := expected(data, from, to, 0, nil)
	got, err := blocks.ReadSeries(root, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if err := extract.Compare(want, got); err != nil {
		t.Fatalf("the bucket holds other data than the source: %v", err)
	}
	n := blockCount(t, root)
	if n != 3 {
		t.Fatalf("%d blocks in the bucket, want one a window (3)", n)
	}
	for _, ls := range thanosLabels(t, root) {
		if len(ls) != 1 || ls["cluster"] != "eu1" {
			t.Errorf("thanos.labels %v, want cluster=eu1", ls)
		}
	}
	// verify reads the stream's blocks from the bucket, and compares them
	// with an export of the same range.
	file := filepath.Join(t.TempDir(), "export.json")
	exportArgs := append([]string{"export"}, recoverArgs(url, from, to, "--out", file)[1:]...)
	if _, stderr, err := runCLI(t, exportArgs...); err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	listed, stderr, err := runCLI(t, "verify", "--objstore.config", fsConfig(root), "--external-label", "cluster=eu1", "--against", file)
	if err != nil || strings.Count(listed, "\n01") != 3 {
		t.Fatalf("verify against the bucket: %v\n%s\n%s", err, listed, stderr)
	}
	_, _, err = runCLI(t, "verify", "--objstore.config", fsConfig(root), "--external-label", "cluster=us1")
	if err == nil || !strings.Contains(err.Error(), "holds no TSDB blocks") || !strings.Contains(err.Error(), "filesystem://") {
		t.Errorf("verify of a stream the bucket does not hold: %v", err)
	}
	// The same command again uploads nothing.
	stdout, stderr, err = runCLI(t, args...)
	if err != nil {
		t.Fatalf("rerun: %v\n%s\n%s", err, stdout, stderr)
	}
	if blockCount(t, root) != n {
		t.Errorf("the rerun uploaded again: %d blocks", blockCount(t, root))
	}
	if !strings.Contains(stderr, "resuming") {
		t.Errorf("the rerun does not say it resumes:\n%s", stderr)
	}
}

// TestBucketRerunWithoutStateUploadsNothingTwice loses the resume state
// (another machine, a cleaned home) and runs a wider range: the windows the
// stream's blocks already hold are not uploaded again, only the new one is.
func TestBucketRerunWithoutStateUploadsNothingTwice(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 3)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	root := t.TempDir()
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(6*time.Hour)
	flags := []string{"--objstore.config", fsConfig(root), "--external-label", "cluster=eu1", "--tmp-dir", t.TempDir()}
	if _, _, err := runCLI(t, recoverArgs(url, from, to, append(flags, "--state", filepath.Join(t.TempDir(), "a.json"))...)...); err != nil {
		t.Fatal(err)
	}
	wider := to.Add(2 * time.Hour)
	summary := filepath.Join(t.TempDir(), "summary.json")
	stdout, stderr, err := runCLI(t, recoverArgs(url, from, wider, append(flags, "--state", filepath.Join(t.TempDir(), "b.json"), "--summary-json", summary)...)...)
	if err != nil {
		t.Fatalf("rerun: %v\n%s\n%s", err, stdout, stderr)
	}
	if n := blockCount(t, root); n != 3 {
		t.Errorf("%d blocks after the rerun, want the 2 of the first run and 1 new", n)
	}
	noSampleTwice(t, root)
	got, err := blocks.ReadSeries(root, from.UnixMilli(), wider.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if err := extract.Compare(expected(data, from, wider, 0, nil), got); err != nil {
		t.Fatalf("the bucket holds other data than the source: %v", err)
	}
	raw, _ := os.ReadFile(summary)
	var sum rerunSamples
	if err := json.Unmarshal(raw, &sum); err != nil || sum.Windows.InOut != 2 {
		t.Errorf("the summary does not count the 2 windows the bucket held (%v):\n%s", err, raw)
	}
}

// TestOnlyGapsAgainstABucket recovers a stream with an hour missing into a
// bucket; gaps reads the bucket (and only reads) and finds the hour; then
// the whole range again with --only-gaps and no --data uploads only the
// hour, read from the stream's blocks in the bucket.
func TestOnlyGapsAgainstABucket(t *testing.T) {
	full := gen.DemoSeries(dataStart, dataEnd, 3)
	holeFrom, holeTo := dataStart.Add(3*time.Hour).UnixMilli(), dataStart.Add(4*time.Hour).UnixMilli()
	var holed []extract.Series
	for _, s := range full {
		h := extract.Series{Labels: s.Labels}
		for _, smp := range s.Samples {
			if smp.T < holeFrom || smp.T >= holeTo {
				h.Samples = append(h.Samples, smp)
			}
		}
		holed = append(holed, h)
	}
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(6*time.Hour)
	root := t.TempDir()
	flags := []string{"--objstore.config", fsConfig(root), "--external-label", "cluster=eu1"}
	first, _ := simtest.Start(t, sim.Config{Series: holed, Tokens: []string{testToken}})
	if _, _, err := runCLI(t, recoverArgs(first, from, to, append(flags, "--state", filepath.Join(t.TempDir(), "a.json"))...)...); err != nil {
		t.Fatal(err)
	}
	before := listing(t, root)
	holes, stderr, err := runCLI(t, "gaps", "--objstore.config", fsConfig(root), "--external-label", "cluster=eu1",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339))
	if err != nil {
		t.Fatalf("gaps: %v\n%s", err, stderr)
	}
	for _, w := range []string{"2025-08-03T02:59:45.388Z  2025-08-03T04:00:14.640Z", "330 of 330 local series have holes", "--only-gaps", "--objstore.config-file FILE", "--external-label cluster=eu1"} {
		if !strings.Contains(holes, w) {
			t.Errorf("gaps does not say %q:\n%s", w, holes)
		}
	}
	if after := listing(t, root); !slices.Equal(before, after) {
		t.Errorf("gaps changed the bucket:\n%v\n%v", before, after)
	}
	url, _ := simtest.Start(t, sim.Config{Series: full, Tokens: []string{testToken}})
	summary := filepath.Join(t.TempDir(), "summary.json")
	stdout, stderr, err := runCLI(t, recoverArgs(url, from, to, append(flags, "--only-gaps", "--state", filepath.Join(t.TempDir(), "b.json"), "--summary-json", summary)...)...)
	if err != nil {
		t.Fatalf("--only-gaps: %v\n%s\n%s", err, stdout, stderr)
	}
	var sum rerunSamples
	raw, _ := os.ReadFile(summary)
	hole := extract.CountSamples(extract.Clip(full, holeFrom, holeTo))
	if err := json.Unmarshal(raw, &sum); err != nil || sum.Samples.Written != int64(hole) || sum.Samples.InOut != 0 {
		t.Errorf("written %d samples (%v), want the hole's %d and none found already there:\n%s", sum.Samples.Written, err, hole, raw)
	}
	noSampleTwice(t, root)
	got, err := blocks.ReadSeries(root, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if err := extract.Compare(expected(full, from, to, 0, nil), got); err != nil {
		t.Fatalf("the bucket holds other data than the source: %v", err)
	}
}

// TestImportIntoABucket imports an export into a bucket twice: the second
// import uploads nothing, the bucket holds the export's samples.
func TestImportIntoABucket(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 3)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(6*time.Hour)
	file := filepath.Join(t.TempDir(), "export.json")
	if _, stderr, err := runCLI(t, append([]string{"export"}, recoverArgs(url, from, to, "--out", file)[1:]...)...); err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	root := t.TempDir()
	for i := range 2 {
		stdout, stderr, err := runCLI(t, "import", file, "--objstore.config", fsConfig(root), "--external-label", "cluster=eu1")
		if err != nil {
			t.Fatalf("import %d: %v\n%s\n%s", i+1, err, stdout, stderr)
		}
		if n := blockCount(t, root); n != 2 {
			t.Fatalf("after import %d: %d blocks, want one a window, 2", i+1, n)
		}
	}
	got, err := blocks.ReadSeries(root, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if err := extract.Compare(expected(data, from, to, 0, nil), got); err != nil {
		t.Fatalf("the bucket holds other data than the export: %v", err)
	}
}

func TestBucketFlagsRefusedBeforeAnything(t *testing.T) {
	url, _ := simtest.Start(t, sim.Config{Series: gen.DemoSeries(dataStart, dataEnd, 1), Tokens: []string{testToken}})
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(4*time.Hour)
	labelled := t.TempDir()
	if _, _, err := runCLI(t, recoverArgs(url, from, to, "--objstore.config", fsConfig(labelled), "--external-label", "cluster=eu1", "--external-label", "replica=a", "--state", filepath.Join(t.TempDir(), "s.json"))...); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"both --out and a bucket", []string{"--out", t.TempDir(), "--objstore.config", fsConfig(t.TempDir())}, "not both"},
		{"a label without a bucket", []string{"--out", t.TempDir(), "--external-label", "cluster=eu1"}, "are for a bucket"},
		{"config and its file", []string{"--objstore.config", fsConfig(t.TempDir()), "--objstore.config-file", "x.yml"}, "not both"},
		{"no type", []string{"--objstore.config", "config: {}"}, "has no type"},
		{"unknown key", []string{"--objstore.config", "type: FILESYSTEM\nconfg: {}"}, "does not parse"},
		{"unknown type", []string{"--objstore.config", "type: FLOPPY"}, "not supported"},
		{"bad label", []string{"--objstore.config", fsConfig(t.TempDir()), "--external-label", "cluster"}, "--external-label \"cluster\": write NAME=VALUE"},
		{"no such --tmp-dir", []string{"--objstore.config", fsConfig(t.TempDir()), "--tmp-dir", filepath.Join(t.TempDir(), "nope")}, "give --tmp-dir a writable directory"},
		{"a shard past the count", []string{"--objstore.config", fsConfig(t.TempDir()), "--shard", "4/3"}, "--shard \"4/3\": write I/N"},
		{"a shard without a window", []string{"--objstore.config", fsConfig(t.TempDir()), "--shard", "1/3"}, "none of them this shard's"},
		{"labelled bucket, no labels", []string{"--objstore.config", fsConfig(labelled)}, `{cluster="eu1", replica="a"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := blockCount(t, labelled)
			_, stderr, err := runCLI(t, recoverArgs(url, from, to, c.args...)...)
			if err == nil || exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v (exit %d), want exit 2 saying %q\n%s", err, exitcode.Of(err), c.want, stderr)
			}
			if blockCount(t, labelled) != before {
				t.Error("a refused run uploaded")
			}
		})
	}
}

func TestBucketSecretsStayOutOfOutput(t *testing.T) {
	url, _ := simtest.Start(t, sim.Config{Series: gen.DemoSeries(dataStart, dataEnd, 1), Tokens: []string{testToken}})
	const secret = "S3CRET-key-0123456789abcdef"
	conf := fmt.Sprintf("type: S3\nconfig:\n  bucket: b\n  endpoint: %s\n  insecure: true\n  access_key: ak\n  secret_key: %s\n", servers.FreeAddr(t), secret)
	summary := filepath.Join(t.TempDir(), "summary.json")
	stdout, stderr, err := runCLI(t, recoverArgs(url, dataStart.Add(2*time.Hour), dataStart.Add(4*time.Hour),
		"-v", "--objstore.config", conf, "--summary-json", summary, "--state", filepath.Join(t.TempDir(), "s.json"))...)
	if err == nil {
		t.Fatal("a bucket nothing answers for was accepted")
	}
	written, _ := os.ReadFile(summary)
	all := stdout + stderr + err.Error() + string(written)
	if strings.Contains(all, secret) {
		t.Fatalf("the bucket's secret key was printed:\n%s", all)
	}
	if got := secrets.String("key " + secret); strings.Contains(got, secret) {
		t.Errorf("the secret key is not among the redacted values: %s", got)
	}
}
