package recovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/diskspace"
)

// tooLittle is how far below the estimate free space must be for a run to be
// refused: the estimate counts a sample every scrape interval for every
// series and assumes jittered scrapes of busy values, so a disk of a third
// of it may still take a steadier recovery; a run that does not fit stops
// at the full disk and resumes.
const tooLittle = 3

// checkSpace compares the free space of Out, and of the temporary
// directory where the windows' heads keep their chunks while written, with
// the blocks of todo's windows, for series series scraped every j.Scrape
// (series < 0 or no interval: unknown, and nothing is checked), as
// checkFree does. It keeps the estimate of a window for the full-disk
// message.
func (j *Job) checkSpace(todo *extract.Plan, series int) error {
	if series < 0 || j.Scrape <= 0 || len(todo.Windows) == 0 {
		return nil
	}
	need := extract.BlockBytes(samplesLeft(todo, series, j.Scrape))
	j.perWindow = need / int64(len(todo.Windows))
	// Each window being written has its head's chunks in the temporary
	// directory when it is closed: as many as run at once.
	inFlight := j.perWindow * int64(min(max(j.Concurrency, 1), len(todo.Windows)))
	return checkFree(j.Log, j.Out, need, inFlight, func(need, free extract.Size) error {
		return extract.ParamErrorf("the output directory %s: the blocks of %d windows need about %s free, and its disk has %s; free space there, or recover a shorter range at a time",
			j.Out, len(todo.Windows), need, free)
	})
}

// checkFree compares the free space of out with need bytes of blocks, and
// that of the temporary directory with the inFlight bytes of them whose
// heads' chunks are there at once. Clearly too little is a ParamError
// naming the space needed and where (outTooSmall words it for out); a
// little too little a warning.
func checkFree(log *slog.Logger, out string, need, inFlight int64, outTooSmall func(need, free extract.Size) error) error {
	o, err := diskspace.Of(out)
	if err != nil {
		log.Debug("free space unknown", "dir", out, "err", err)
		return nil
	}
	tmp, err := diskspace.Of(os.TempDir())
	switch {
	case err != nil:
		log.Debug("free space unknown", "dir", os.TempDir(), "err", err)
	case tmp.Dev == o.Dev:
		need += inFlight
	case tmp.Free < inFlight/tooLittle:
		return extract.ParamErrorf("the blocks being written at once need about %s free at %s (the temporary directory), which has %s free; free space there, or point TMPDIR at a larger disk",
			extract.Size(inFlight), os.TempDir(), extract.Size(tmp.Free))
	}
	switch {
	case o.Free < need/tooLittle:
		return outTooSmall(extract.Size(need), extract.Size(o.Free))
	case o.Free < need:
		log.Warn("the blocks may not fit: a run that fills the disk stops, and the same command again resumes it", "dir", out, "need", extract.Size(need).String(), "free", extract.Size(o.Free).String())
	}
	return nil
}

// DiskFullError is a run stopped by a full disk: no other window could be
// written either, so none was fetched after it.
type DiskFullError struct {
	Dir                string
	Installed, Windows int          // the plan's windows, and those recovered so far
	Free               extract.Size // about what the windows left need beyond what is free; 0: unknown
	Err                error
}

func (e *DiskFullError) Error() string {
	free := "space"
	if e.Free > 0 {
		free = "about " + e.Free.String()
	}
	return fmt.Sprintf("the disk at %s is full: %d of %d windows installed; free %s there and run the same command again", e.Dir, e.Installed, e.Windows, free)
}

func (e *DiskFullError) Unwrap() error { return e.Err }

// diskFull says what freeing space would take, once a run stopped at a full
// disk: a window as large as those installed, or as estimated, for each
// window left.
func (j *Job) diskFull(o *Outcome, err error) *DiskFullError {
	return fullDisk(j.Out, o.Recovered(), len(j.Plan.Windows), perWindow(o.Installed, j.perWindow), err)
}

// perWindow is the mean size of the blocks installed, or estimate when
// there are none.
func perWindow(installed []blocks.Block, estimate int64) int64 {
	if len(installed) == 0 {
		return estimate
	}
	var sum int64
	for _, b := range installed {
		sum += b.Size
	}
	return sum / int64(len(installed))
}

// fullDisk is the DiskFullError of dir, with windows windows of which
// installed are, and about per bytes (0: unknown) for each of the others.
func fullDisk(dir string, installed, windows int, per int64, err error) *DiskFullError {
	e := &DiskFullError{Dir: dir, Installed: installed, Windows: windows, Err: err}
	if fs, err := diskspace.Of(dir); err == nil && per > 0 {
		e.Free = extract.Size(max(per*int64(windows-installed)-fs.Free, per))
	}
	return e
}

// stopWhenFull is a sink whose writes fail on a full disk as an abort: every
// other window would fail the same way after being fetched for nothing.
type stopWhenFull struct{ extract.Sink }

func (s stopWhenFull) Add(ctx context.Context, w extract.Window, series []extract.Series) error {
	return abortWhenFull(s.Sink.Add(ctx, w, series))
}

func (s stopWhenFull) Done(ctx context.Context, w extract.Window, gaps []extract.Gap) error {
	return abortWhenFull(s.Sink.Done(ctx, w, gaps))
}

func abortWhenFull(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return &extract.AbortError{Err: err}
	}
	return err
}
