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
// blocks sink of a Job, fed by importer.Import instead of extract.Run.
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
// does not hold every sample read for it has its Err set.
type Imported struct {
	*importer.Result
	Read      int64 // samples read, failed windows included
	Installed []blocks.Block
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
	in, err := im.Open()
	if err != nil {
		return nil, err
	}
	wrapped, stop := relabel.Wrap(sink, im.Relabel), func() {}
	if im.Progress != nil {
		show := im.Progress()
		in, wrapped, stop = show.Reader(in), show.Wrap(ctx, wrapped), show.Stop
	}
	res, err := importer.Import(ctx, in, importer.Options{Format: im.Format}, wrapped)
	stop()
	if err != nil {
		return nil, &ReadError{err}
	}
	out := &Imported{Result: res, Installed: sink.Blocks()}
	// The sink verifies each block against what it was given; this checks
	// that it was given everything read.
	byWindow := map[int64]blocks.Block{}
	for _, b := range out.Installed {
		byWindow[b.Window.Start] = b
	}
	for i, w := range res.Windows {
		if b := byWindow[w.Window.Start]; w.Err == nil && b.Samples != uint64(w.Samples) {
			res.Windows[i].Err = fmt.Errorf("%d samples were read for the window but its block %s holds %d", w.Samples, b.ULID, b.Samples)
		}
		out.Read += w.Samples
	}
	if n := len(out.Installed); n > 0 && out.Installed[n-1].MaxTime > time.Now().Add(-HeadSpan).UnixMilli() {
		im.Log.Warn("the data reaches into the last 3h, which a running Prometheus still holds in its head block; the imported samples there overlap it")
	}
	return out, nil
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
