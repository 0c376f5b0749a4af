// Package bucket installs recovered blocks into an object-storage bucket
// (S3, GCS, Azure, a filesystem... through github.com/thanos-io/objstore),
// where Thanos, Cortex or Mimir serve them. Each window's block is built and
// verified by the blocks package in a local staging directory, given
// Thanos's meta.json section, uploaded as Thanos's shipper does (chunks and
// index first, meta.json last, so that a half-uploaded block is never
// visible), checked in the bucket, and only then removed locally. Nothing in
// the bucket is overwritten or deleted.
package bucket

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/thanos-io/objstore"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
)

// Options say where a Sink puts its blocks.
type Options struct {
	Bucket objstore.Bucket
	// Location names the bucket (and prefix) in messages and in the
	// blocks' Dir, e.g. s3://name/prefix.
	Location string
	// Labels are the external labels of the stream the blocks join.
	Labels Labels
	// TmpDir is where blocks are staged before the upload; "" is the
	// system's temporary directory.
	TmpDir string
	Log    *slog.Logger
}

// Sink is an extract.Sink whose windows end up as blocks in a bucket.
type Sink struct {
	o     Options
	stage string // the local staging directory, all of it ours
	local *blocks.Sink

	// OnInstall, when set (before the first Add), is called with each
	// verified block before any of it is uploaded; an error keeps it
	// out. A resumable run records the block there: a crash during the
	// upload then costs a refetch (the block is not in the bucket), never
	// a second block.
	OnInstall func(blocks.Block) error

	metas []Meta // the bucket's blocks when the sink was opened

	mu       sync.Mutex
	staged   map[extract.Window]blocks.Block
	uploaded []blocks.Block
}

var _ extract.Sink = (*Sink)(nil)

// NewSink checks the bucket (it must be readable, and blocks of another
// stream there must not be joined without external labels) and makes the
// staging directory.
func NewSink(ctx context.Context, o Options) (*Sink, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	metas, err := ReadMetas(ctx, o.Bucket)
	if err != nil {
		return nil, readError(o, err)
	}
	if err := checkLabels(o.Labels, metas, o.Location); err != nil {
		return nil, err
	}
	if sets := newStream(o.Labels, metas); len(o.Labels) > 0 && sets != nil {
		o.Log.Warn("no block in the bucket has these external labels: the recovered blocks start a stream of their own, deduplicated and compacted with none there; check the labels against the bucket's", "labels", o.Labels.String(), "bucket_streams", strings.Join(sets, " "))
	}
	stage, err := MakeStage(o.TmpDir, "promrecover-upload-")
	if err != nil {
		return nil, err
	}
	// The local sink's "installed" is only a step here: Done says when a
	// block is in the bucket.
	local, err := blocks.NewSink(stage, slog.New(demoted{o.Log.Handler()}))
	if err != nil {
		return nil, errors.Join(err, os.RemoveAll(stage))
	}
	s := &Sink{o: o, stage: stage, local: local, metas: metas, staged: map[extract.Window]blocks.Block{}}
	local.OnInstall = s.onStaged
	return s, nil
}

// MakeStage makes a directory of its own in tmp ("" the system's temporary
// directory), named after pattern as os.MkdirTemp names it.
func MakeStage(tmp, pattern string) (string, error) {
	if tmp == "" {
		tmp = os.TempDir()
	}
	dir, err := os.MkdirTemp(tmp, pattern)
	if err != nil {
		return "", extract.Usage(extract.ParamErrorf("the staging directory %s: %w; give a writable directory with room for the blocks being written at once", tmp, err))
	}
	return dir, nil
}

func (s *Sink) onStaged(b blocks.Block) error {
	if s.OnInstall != nil {
		if err := s.OnInstall(b); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.staged[b.Window] = b
	s.mu.Unlock()
	return nil
}

// Installed says which of the blocks ids the bucket held when the sink was
// opened, as themselves or compacted into others.
func (s *Sink) Installed(ids []string) map[string]bool { return Installed(s.metas, ids) }

// Held downloads the blocks of the sink's stream (the same external
// labels) that overlap windows into a local directory and returns it,
// for blocks.OpenPresent to pass on only what they lack: a rerun whose
// resume state is lost, or that runs on another machine, then uploads no
// sample twice. Blocks of other streams are left alone: Thanos never merges
// them with this one's.
func (s *Sink) Held(ctx context.Context, windows []extract.Window) (string, error) {
	dir := filepath.Join(s.stage, "held")
	overlaps := func(m Meta) bool {
		return slices.ContainsFunc(windows, func(w extract.Window) bool { return m.MaxTime > w.Start && m.MinTime < w.End })
	}
	return dir, fetchStream(ctx, s.o, s.metas, overlaps, dir)
}

// Add appends series to w's block.
func (s *Sink) Add(ctx context.Context, w extract.Window, series []extract.Series) error {
	return s.local.Add(ctx, w, series)
}

// Discard drops everything added for w.
func (s *Sink) Discard(w extract.Window) { s.local.Discard(w) }

// Done builds and verifies w's block locally, uploads it and checks it in
// the bucket. A window that got no samples gives no block and no error. A
// bucket refusing the upload stops the run: every other window would be
// fetched to be refused the same way.
func (s *Sink) Done(ctx context.Context, w extract.Window, gaps []extract.Gap) error {
	if err := s.local.Done(ctx, w, gaps); err != nil {
		return err
	}
	s.mu.Lock()
	b, ok := s.staged[w]
	delete(s.staged, w)
	s.mu.Unlock()
	if !ok {
		return nil
	}
	if err := upload(ctx, s.o.Bucket, b.Dir, s.o.Labels); err != nil {
		return fmt.Errorf("window %s: block %s: %w", w, b.ULID, uploadError(s.o, err))
	}
	if err := os.RemoveAll(b.Dir); err != nil {
		s.o.Log.Warn("block uploaded; removing its local copy", "window", w.String(), "err", err)
	}
	b.Dir = s.o.Location + "/" + b.ULID
	s.mu.Lock()
	s.uploaded = append(s.uploaded, b)
	s.mu.Unlock()
	s.o.Log.Info("uploaded", "window", w.String(), "samples", b.Samples, "block", b.Dir)
	return nil
}

// Blocks lists the blocks uploaded so far, oldest first.
func (s *Sink) Blocks() []blocks.Block {
	s.mu.Lock()
	out := slices.Clone(s.uploaded)
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b blocks.Block) int {
		return cmp.Or(cmp.Compare(a.MinTime, b.MinTime), cmp.Compare(a.ULID, b.ULID))
	})
	return out
}

// HeldBack lists what the windows held back: samples stamped after the time
// of the run.
func (s *Sink) HeldBack() []blocks.HeldBack { return s.local.HeldBack() }

// Close drops the windows still open and removes the staging directory,
// with any block whose upload failed. What is in the bucket stays.
func (s *Sink) Close() error {
	return errors.Join(s.local.Close(), os.RemoveAll(s.stage))
}

// StageDir is the local staging directory.
func (s *Sink) StageDir() string { return filepath.Clean(s.stage) }

// demoted logs the local sink's Info records at Debug.
type demoted struct{ slog.Handler }

func (h demoted) Enabled(ctx context.Context, l slog.Level) bool {
	if l == slog.LevelInfo {
		l = slog.LevelDebug
	}
	return h.Handler.Enabled(ctx, l)
}

func (h demoted) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo {
		r.Level = slog.LevelDebug
	}
	return h.Handler.Handle(ctx, r)
}

func (h demoted) WithAttrs(as []slog.Attr) slog.Handler { return demoted{h.Handler.WithAttrs(as)} }
func (h demoted) WithGroup(name string) slog.Handler    { return demoted{h.Handler.WithGroup(name)} }
