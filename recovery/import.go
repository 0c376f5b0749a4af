package recovery

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/promrecover/promrecover/blocks"
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
	Open    func() (io.Reader, error)
	Out     string // the Prometheus data directory
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
	sink, closeSink, err := openBlocks(im.Out, im.Log)
	if err != nil {
		return nil, err
	}
	defer closeSink()
	// The file's range is known only once it is read: what Out holds of
	// any time an import can write is looked in.
	present, err := openPresent(im.Out, importer.MinTime, importer.MaxTime, sink, im.Log)
	if err != nil {
		return nil, err
	}
	defer present.Close()
	in, err := im.Open()
	if err != nil {
		return nil, err
	}
	wrapped, stop := relabel.Wrap(present, im.Relabel), func() {}
	if im.Progress != nil {
		show := im.Progress()
		in, wrapped, stop = show.Reader(in), show.Wrap(ctx, wrapped), show.Stop
	}
	res, err := importer.Import(ctx, in, importer.Options{Format: im.Format}, wrapped)
	stop()
	if err != nil {
		if ctx.Err() != nil {
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
	}
	if n := len(out.Installed); n > 0 && out.Installed[n-1].MaxTime > time.Now().Add(-HeadSpan).UnixMilli() {
		im.Log.Warn("the data reaches into the last 3h, which a running Prometheus still holds in its head block; the imported samples there overlap it")
	}
	return out, nil
}

// openPresent has sink given only what the blocks in dir lack of [from,
// to) (epoch ms), reading them before anything is written. A window they
// hold whole is recorded as sink records a block it installs: a resume
// state then skips it next time.
func openPresent(dir string, from, to int64, sink *blocks.Sink, log *slog.Logger) (*blocks.Present, error) {
	p, err := blocks.OpenPresent(dir, from, to, sink, log)
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
