package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/fstest"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

const mib = 1 << 20

// diskFrom and diskTo are 22 windows of the demo set, about 3.5 million
// samples: what the reliability probe recovered into tmpfs of 3, 64 and 520
// MiB, and got nothing from, each block's chunk segment being preallocated
// at 512 MiB.
var (
	diskFrom = dataStart
	diskTo   = dataStart.Add(44 * time.Hour)
)

// recoverOnDisk recovers the 22 windows into out and returns the command's
// output, the /api/ds/query requests it made and its error.
func recoverOnDisk(t *testing.T, url string, fetches *faults.Rule, out string) (stdout string, queries int64, err error) {
	t.Helper()
	before := int64(fetches.Count())
	stdout, stderr, err := runCLI(t, "recover", "--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", diskFrom.Format(time.RFC3339), "--to", diskTo.Format(time.RFC3339), "--out", out)
	return stdout + stderr, int64(fetches.Count()) - before, err
}

// TestRecoverOnASmallDisk recovers onto real filesystems too small for the
// chunk writer's default segment: a disk that holds the blocks gets them
// all; one clearly too small is refused before anything is fetched, with
// the space needed; one that holds some stops at the first full disk,
// fetching hardly anything after it, and once space is freed the same
// command recovers exactly the rest.
func TestRecoverOnASmallDisk(t *testing.T) {
	data := gen.DemoSeries(diskFrom, diskTo, 3)
	fetches := faults.On(faults.Fetch)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}}, fetches)

	t.Run("64 MiB holds every window", func(t *testing.T) {
		out := fstest.SmallDisk(t, 64*mib)
		stdout, _, err := recoverOnDisk(t, url, fetches, out)
		if err != nil {
			t.Fatalf("%v\n%s", err, stdout)
		}
		if n := blockCount(t, out); n != 22 {
			t.Fatalf("%d blocks, want 22:\n%s", n, stdout)
		}
		sameAsSource(t, out, data, diskFrom, diskTo)
	})

	t.Run("3 MiB is refused up front", func(t *testing.T) {
		out := fstest.SmallDisk(t, 3*mib)
		stdout, queries, err := recoverOnDisk(t, url, fetches, out)
		if err == nil {
			t.Fatalf("recover into 3 MiB succeeded:\n%s", stdout)
		}
		want := regexp.MustCompile(`^--out ` + regexp.QuoteMeta(out) + `: the blocks of 22 windows need about \d+\.\d MiB free, and its disk has \d\.\d MiB; free space there`)
		if !want.MatchString(err.Error()) {
			t.Errorf("error %q does not say how much is needed where", err)
		}
		if queries != 0 {
			t.Errorf("%d queries before refusing, want 0", queries)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("the refused run left %d entries in --out (%s, ...)", len(entries), entries[0].Name())
		}
	})

	t.Run("a disk that holds some stops at the first full one", func(t *testing.T) {
		out := fstest.SmallDisk(t, 6*mib)
		stdout, queries, err := recoverOnDisk(t, url, fetches, out)
		if err == nil {
			t.Fatalf("recover into 6 MiB succeeded:\n%s", stdout)
		}
		installed := blockCount(t, out)
		m := regexp.MustCompile(`the disk at ` + regexp.QuoteMeta(out) + ` is full: (\d+) of 22 windows installed; free about \d+(\.\d+)? MiB there and run the same command again`).FindStringSubmatch(err.Error())
		if m == nil || m[1] != strconv.Itoa(installed) {
			t.Fatalf("error %q does not say the disk is full with the %d windows installed", err, installed)
		}
		if installed == 0 || installed >= 22 {
			t.Fatalf("%d windows installed on 10 MiB: the test needs a disk that holds some", installed)
		}
		// Every window is one request; the workers (4) may each have one in
		// flight when the disk fills, and none starts after.
		if limit := int64(installed + 1 + 4); queries > limit {
			t.Errorf("%d queries for %d windows installed, want at most %d: the run went on fetching after the disk was full", queries, installed, limit)
		}

		if out, err := exec.Command("mount", "-o", "remount,size=64m", out).CombinedOutput(); err != nil {
			t.Fatalf("remount: %v: %s", err, out)
		}
		stdout, queries, err = recoverOnDisk(t, url, fetches, out)
		if err != nil {
			t.Fatalf("rerun after freeing space: %v\n%s", err, stdout)
		}
		if want := int64(22 - installed); queries != want {
			t.Errorf("the rerun made %d queries, want one for each of the %d windows left", queries, want)
		}
		if n := blockCount(t, out); n != 22 {
			t.Fatalf("%d blocks after the rerun, want 22", n)
		}
		sameAsSource(t, out, data, diskFrom, diskTo)
	})
}

// TestImportOnASmallDisk imports the 22 windows into real filesystems too
// small for them: a file whose blocks clearly do not fit is refused before
// anything is written, with the space needed and where; a disk that holds
// some stops at the first full one, leaves no window half-installed, and
// once space is freed the same command imports exactly the rest.
func TestImportOnASmallDisk(t *testing.T) {
	data := gen.DemoSeries(diskFrom, diskTo, 3)
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}})
	file := exportFile(t, url, diskFrom, diskTo)
	importOnDisk := func(out string) (string, error) {
		stdout, stderr, err := runCLI(t, "import", file, "--out", out)
		return stdout + stderr, err
	}

	t.Run("1 MiB is refused up front", func(t *testing.T) {
		out := fstest.SmallDisk(t, 1*mib)
		stdout, err := importOnDisk(out)
		if err == nil {
			t.Fatalf("import into 1 MiB succeeded:\n%s", stdout)
		}
		want := regexp.MustCompile(`^--out ` + regexp.QuoteMeta(out) + `: the blocks of ` + regexp.QuoteMeta(file) + ` \(\d+\.\d MiB\) need about \d+\.\d MiB free, and its disk has \d+(\.\d)? KiB; free space there, or import the file in parts$`)
		if !want.MatchString(err.Error()) {
			t.Errorf("error %q does not say how much is needed where", err)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("the refused import left %d entries in --out (%s, ...)", len(entries), entries[0].Name())
		}
	})

	t.Run("a disk that holds some stops at the first full one", func(t *testing.T) {
		out := fstest.SmallDisk(t, 10*mib)
		stdout, err := importOnDisk(out)
		if err == nil {
			t.Fatalf("import into 10 MiB succeeded:\n%s", stdout)
		}
		installed := blockCount(t, out)
		m := regexp.MustCompile(`^(\d+) of 22 windows were not imported: the disk at ` + regexp.QuoteMeta(out) + ` is full: (\d+) of 22 windows installed; free about \d+(\.\d+)? MiB there and run the same command again$`).FindStringSubmatch(err.Error())
		if m == nil || m[2] != strconv.Itoa(installed) || m[1] != strconv.Itoa(22-installed) {
			t.Fatalf("error %q does not say the disk is full with the %d windows installed\n%s", err, installed, stdout)
		}
		if installed == 0 || installed >= 22 {
			t.Fatalf("%d windows installed on 10 MiB: the test needs a disk that holds some", installed)
		}
		// Only the window that met the full disk tried to write: the
		// others say the run stopped.
		if n := strings.Count(stdout, "no space left on device"); n > 0 {
			t.Errorf("%d windows report the full disk, want it only in the error:\n%s", n, stdout)
		}
		if n := strings.Count(stdout, "NOT IMPORTED"); n != 22-installed {
			t.Errorf("%d NOT IMPORTED lines for %d windows not imported:\n%s", n, 22-installed, stdout)
		}
		if left, _ := filepath.Glob(filepath.Join(out, "*.tmp-for-creation")); len(left) > 0 {
			t.Errorf("staging left behind: %v", left)
		}

		if out, err := exec.Command("mount", "-o", "remount,size=64m", out).CombinedOutput(); err != nil {
			t.Fatalf("remount: %v: %s", err, out)
		}
		if stdout, err = importOnDisk(out); err != nil {
			t.Fatalf("rerun after freeing space: %v\n%s", err, stdout)
		}
		if !strings.Contains(stdout, fmt.Sprintf("imported %d of %d windows", 22, 22)) {
			t.Errorf("the rerun does not say every window is imported:\n%s", stdout)
		}
		if n := blockCount(t, out); n != 22 {
			t.Fatalf("%d blocks after the rerun, want 22", n)
		}
		sameAsSource(t, out, data, diskFrom, diskTo)
	})
}
