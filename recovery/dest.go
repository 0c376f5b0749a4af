package recovery

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/bucket"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/gaps"
	"github.com/promrecover/promrecover/extract/state"
)

// dest is where a job installs verified blocks, once opened: a data
// directory (Out) or a bucket.
type dest struct {
	sink extract.Sink // what the run feeds
	out  interface {
		Blocks() []blocks.Block
		HeldBack() []blocks.HeldBack
	}
	dir     *blocks.Sink // a data directory's; nil for a bucket
	present *blocks.Present
	st      *state.File
	closers []func()
}

func (d *dest) close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
}

// finish takes what the run installed into o, and waits until the
// Prometheus serving a data directory serves it.
func (d *dest) finish(ctx context.Context, j *Job, o *Outcome) {
	o.Installed, o.HeldBack, o.Held = d.out.Blocks(), d.out.HeldBack(), d.present.Held()
	if d.dir == nil {
		return
	}
	j.warnRetention(o.Installed)
	if errors.Is(o.Err, syscall.ENOSPC) {
		o.Err = j.diskFull(o, o.Err)
	}
	j.waitServed(ctx, o)
}

// BucketGaps is OnlyGaps for a job into a bucket: the holes in the blocks
// of the stream there, as Run reads them before anything is uploaded.
func (j *Job) BucketGaps(minGap time.Duration) func(context.Context, *extract.Plan) (*gaps.Index, error) {
	return func(_ context.Context, p *extract.Plan) (*gaps.Index, error) {
		return BlocksIndex(j.held, p, minGap)
	}
}

// dest names where the blocks go, for the log.
func (j *Job) dest() string {
	if j.Bucket != nil {
		return j.Bucket.Location
	}
	return j.Out
}

// openDest opens the job's destination and settles its resume state.
func (j *Job) openDest(ctx context.Context, o *Outcome) (*dest, error) {
	d := &dest{}
	err := j.openDir(ctx, o, d)
	if j.Bucket != nil {
		err = j.openBucket(ctx, o, d)
	}
	if err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

func (j *Job) openDir(ctx context.Context, o *Outcome, d *dest) error {
	if j.Bucket != nil {
		return nil
	}
	if err := j.checkEnd(); err != nil {
		return err
	}
	bs, closeSink, err := openBlocks(j.Out, j.Log)
	if err != nil {
		return err
	}
	d.closers, d.dir, d.out = append(d.closers, closeSink), bs, bs
	if err := j.keyState(ctx); err != nil {
		return err
	}
	if d.st, err = j.settle(&bs.OnInstall, o); err != nil {
		return err
	}
	// What Out holds is read before anything is written, as the holes
	// are: only what it lacks is written, whatever the state says.
	var written extract.Sink = bs
	if j.Served != nil {
		written = j.Served.Wrap(bs)
	}
	if d.present, err = openPresent(j.Out, j.Plan.From, j.Plan.To, bs, written, j.Log); err != nil {
		return err
	}
	d.closers = append(d.closers, func() { d.present.Close() })
	d.sink = stopWhenFull{d.present}
	return nil
}

// openBucket opens the bucket sink, which reads the bucket's blocks, and
// settles the resume state against them.
func (j *Job) openBucket(ctx context.Context, o *Outcome, d *dest) error {
	bs, err := bucket.NewSink(ctx, *j.Bucket)
	if err != nil {
		return err
	}
	d.closers = append(d.closers, func() {
		if err := bs.Close(); err != nil {
			j.Log.Error("removing the staging directory", "err", err)
		}
	})
	j.inBucket, d.out = bs, bs
	if err := j.keyState(ctx); err != nil {
		return err
	}
	if d.st, err = j.settle(&bs.OnInstall, o); err != nil {
		return err
	}
	// As for a data directory: only what the stream's blocks lack is
	// uploaded, whatever the state says.
	held, err := bs.Held(ctx, remaining(j.Plan, o.Earlier).Windows)
	if err != nil {
		return err
	}
	j.held = held
	if d.present, err = blocks.OpenPresent(held, j.Plan.From, j.Plan.To, bs, j.Log); err != nil {
		return err
	}
	d.present.OnWhole = bs.OnInstall
	d.closers = append(d.closers, func() { d.present.Close() })
	d.sink = stopWhenFull{d.present}
	return nil
}
