package recovery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/bucket"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/relabel"
	"github.com/promrecover/promrecover/importer"
	"github.com/promrecover/promrecover/progress"
)

// Import is one import of a file into a Prometheus data directory: the
// blocks sink of a Job, fed by importer.Import instead of extract.Run. As in
// a Job, only the samples the directory's blocks lack are written: importing
// a file again, or one a recovery covered, writes nothing twice.
type Import struct {
	// Open opens the input, once the data directory has taken the sink.
	Open func() (*importer.Input, error)
	Out  string // the Prometheus data directory
	// Bucket, when set, is where the blocks go instead of Out.
	Bucket  *bucket.Options
	Format  importer.Format
	Relabel relabel.Rules
	// Progress starts showing the import; nil shows none.
	Progress func() *progress.Run
	Log      *slog.Logger
}

// Imported is what an import read and installed. A window whose block
// does not hold every sample read for it that Out did not hold already has
// its Err set.
type Imported struct {
	*importer.Result
	Read      int64 // samples read, failed windows included
	Installed []blocks.Block
	Held      blocks.Held // what Out's blocks already held of what was read, and so was not written
	// HeldBack is what installed windows left out: samples stamped after
	// the time of the import.
	HeldBack []blocks.HeldBack
	// Err is a *DiskFullError when the disk filled: the windows after the
	// one it stopped were not written.
	Err error
}

// ReadError is an input that could not be read whole: nothing of it was
// installed.
type ReadError struct{ Err error }

func (e *ReadError) Error() string { return e.Err.Error() }
func (e *ReadError) Unwrap() error { return e.Err }

// Run imports im.In into im.Out. A panic is returned as an
// *extract.PanicError once the staging directory is removed.
func (im *Import) Run(ctx context.Context) (_ *Imported, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = extract.Caught(im.Log, r)
		}
	}()
	sink, present, closeSink, err := im.open(ctx)
	if err != nil {
		return nil, err
	}
	defer closeSink()
	input, err := im.Open()
	if err != nil {
		return nil, err
	}
	// Every window's head is open until the input is read: all of them
	// have their chunks in the temporary directory at once.
	need := importBlockBytes(input.Size)
	if err := im.checkFree(input, need); err != nil {
		return nil, err
	}
	var in io.Reader = input
	wrapped, stop := relabel.Wrap(stopWhenFull{present}, im.Relabel), func() {}
	if im.Progress != nil {
		show := im.Progress()
		in, wrapped, stop = show.Reader(in), show.Wrap(ctx, wrapped), show.Stop
	}
	res, err := importer.Import(ctx, in, importer.Options{Format: im.Format}, wrapped)
	stop()
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, syscall.ENOSPC) {
			return nil, &ReadError{err}
		}
		// Nothing was installed, and the same input fails the same way.
		return nil, extract.Usage(&ReadError{err})
	}
	out := &Imported{Result: res, Installed: sink.Blocks(), Held: present.Held(), HeldBack: sink.HeldBack()}
	// The sink verifies each block against what it was given; this checks
	// that it was given everything read that Out lacked, but what it held
	// back.
	byWindow := map[int64]blocks.Block{}
	for _, b := range out.Installed {
		byWindow[b.Window.Start] = b
	}
	future := map[int64]int64{}
	for _, h := range out.HeldBack {
		future[h.Window.Start] = h.Samples
	}
	for i, w := range res.Windows {
		b, h := byWindow[w.Window.Start], present.HeldIn(w.Window)
		if w.Err == nil && b.Samples+uint64(h.Samples+h.Conflicts) != uint64(w.Samples-future[w.Window.Start]) {
			res.Windows[i].Err = fmt.Errorf("%d samples were read for the window but its block %s holds %d", w.Samples, b.ULID, b.Samples)
		}
		out.Read += w.Samples
		if errors.Is(w.Err, syscall.ENOSPC) && out.Err == nil {
			out.Err = fullDisk(im.Out, len(out.Installed), len(res.Windows), perWindow(out.Installed, need/int64(len(res.Windows))), w.Err)
		}
	}
	if n := len(out.Installed); n > 0 && out.Installed[n-1].MaxTime > time.Now().Add(-HeadSpan).UnixMilli() {
		im.Log.Warn("the data reaches into the last 3h, which a running Prometheus still holds in its head block; the imported samples there overlap it")
	}
	return out, nil
}

// open opens the sink the import installs into, and has it given only what
// the blocks already there lack. The file's range is known only once it is
// read: what the destination holds of any time an import can write is
// looked in (in a bucket, every block of the stream).
func (im *Import) open(ctx context.Context) (sink interface {
	extract.Sink
	Blocks() []blocks.Block
	HeldBack() []blocks.HeldBack
}, present *blocks.Present, closeAll func(), err error) {
	if im.Bucket == nil {
		bs, closeSink, err := openBlocks(im.Out, im.Log)
		if err != nil {
			return nil, nil, nil, err
		}
		if present, err = openPresent(im.Out, importer.MinTime, importer.MaxTime, bs, bs, im.Log); err != nil {
			closeSink()
			return nil, nil, nil, err
		}
		return bs, present, func() { present.Close(); closeSink() }, nil
	}
	bs, err := bucket.NewSink(ctx, *im.Bucket)
	if err != nil {
		return nil, nil, nil, err
	}
	closeSink := func() {
		if err := bs.Close(); err != nil {
			im.Log.Error("removing the staging directory", "err", err)
		}
	}
	held, err := bs.Held(ctx, []extract.Window{{Start: importer.MinTime, End: importer.MaxTime}})
	if err == nil {
		present, err = blocks.OpenPresent(held, importer.MinTime, importer.MaxTime, bs, im.Log)
	}
	if err != nil {
		closeSink()
		return nil, nil, nil, err
	}
	return bs, present, func() { present.Close(); closeSink() }, nil
}

// checkFree compares the free space of Out, or of a bucket's staging
// directory, with what the blocks of input need, about need bytes.
func (im *Import) checkFree(input *importer.Input, need int64) error {
	if im.Bucket == nil {
		return checkFree(im.Log, im.Out, need, need, func(need, free extract.Size) error {
			return extract.ParamErrorf("the output directory %s: the blocks of %s (%s) need about %s free, and its disk has %s; free space there, or import the file in parts",
				im.Out, input.Name, extract.Size(input.Size), need, free)
		})
	}
	stage := cmp.Or(im.Bucket.TmpDir, os.TempDir())
	return checkFree(im.Log, stage, need, need, func(need, free extract.Size) error {
		return extract.ParamErrorf("the staging directory %s: the blocks of %s (%s) need about %s free there before their upload, and its disk has %s; give a staging directory on a larger disk, or import the file in parts",
			stage, input.Name, extract.Size(input.Size), need, free)
	})
}

// importInputBytesPerSample is about the fewest bytes a sample takes in an
// input file: export's JSON pair [1754186400.001,"1"], (an OpenMetrics line
// or a longer value takes more: the demo set's export takes 27). The blocks
// of a file are estimated from its size as if every sample were that
// short, so the estimate errs on the large side, which checkFree allows for.
const importInputBytesPerSample = 20

// importBlockBytes is about what the blocks of an input of size bytes (0:
// unknown, and so is the estimate) take.
func importBlockBytes(size int64) int64 {
	return extract.BlockBytes(size / importInputBytesPerSample)
}

// openPresent has written (sink, or a wrapper of it) given only what the
// blocks in dir lack of [from, to) (epoch ms), reading them before anything
// is written. A window they hold whole is recorded as sink records a block
// it installs: a resume state then skips it next time.
func openPresent(dir string, from, to int64, sink *blocks.Sink, written extract.Sink, log *slog.Logger) (*blocks.Present, error) {
	p, err := blocks.OpenPresent(dir, from, to, written, log)
	if err != nil {
		return nil, &DirError{Dir: dir, Err: err}
	}
	p.OnWhole = sink.OnInstall
	return p, nil
}

// openBlocks opens the sink that installs verified blocks into dir; close
// removes its staging directory.
func openBlocks(dir string, log *slog.Logger) (sink *blocks.Sink, close func(), err error) {
	if sink, err = blocks.NewSink(dir, log); err != nil {
		return nil, nil, err
	}
	return sink, func() {
		if err := sink.Close(); err != nil {
			log.Error("removing the staging directory", "err", err)
		}
	}, nil
}
