// Package blocks turns each finished window of recovered series into a
// Prometheus TSDB block, verifies it by reading it back, and moves it into
// the output directory, which may be the data directory of a running
// Prometheus.
package blocks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/dirowner"
	"github.com/promrecover/promrecover/internal/logattr"
)

// Block is one installed block.
type Block struct {
	ULID             string
	Window           extract.Window
	MinTime, MaxTime int64 // from meta.json: [MinTime, MaxTime) in ms
	Series, Samples  uint64
	// Stale counts the stale markers among Samples: a query counts the
	// others only.
	Stale  uint64
	Chunks uint64
	Size   int64 // bytes of the block's files, as 'promtool tsdb list' shows
	// Duplicates counts series that arrived again for the window with
	// identical samples (overlapping selectors) and were written once.
	Duplicates uint64
	// Gaps are the parts of the window the source could not give.
	Gaps []extract.Gap
	Dir  string
}

// MaxSkew is how far after the time of the run a sample may be stamped and
// still be written: a sender's clock a little fast. Prometheus starts its
// head after the newest block, and drops every scrape before that as out of
// bounds, so a block reaching into the future would stop it ingesting until
// then.
const MaxSkew = time.Minute

// HeldBack is what a window held back: samples stamped after the sink's
// limit (NotAfter).
type HeldBack struct {
	Window   extract.Window
	Samples  int64
	NotAfter int64 // epoch ms
}

// ErrWindowClosed is returned for a window that was already installed,
// discarded or failed: writing it again would add a second, overlapping block
// or resurrect a window that must leave no trace.
var ErrWindowClosed = errors.New("window already finished")

// Sink is an extract.Sink writing TSDB blocks. Windows are independent: each
// has its own BlockWriter, lock and staging directory.
type Sink struct {
	dir     string
	staging string
	logger  *slog.Logger
	tsdbLog *slog.Logger
	owner   *dirowner.Owner

	// OnInstall, when set (before the first Add), is called with each
	// verified block just before it is renamed into the directory; an error
	// keeps it out. A resumable run records the block there, so that a crash
	// right after the rename cannot lead to the window being written twice.
	OnInstall func(Block) error

	// beforeVerify lets tests tamper with what Done expects to read back.
	beforeVerify func(*ledger)
	dirLock      *dirLock // held from NewSink to Close
	lock         *os.File // held while the staging area is in use

	mu         sync.Mutex
	open       map[extract.Window]*window
	finished   map[extract.Window]string // why the window is closed
	installed  []Block
	duplicates uint64
	heldBack   []HeldBack
	closed     bool
	// notAfter is the newest timestamp written (epoch ms): the time the
	// sink was opened, at the start of the run, plus MaxSkew.
	notAfter int64
}

var _ extract.Sink = (*Sink)(nil)

// NewSink checks dir and makes the staging area inside it. dir must exist and
// be empty or look like a Prometheus data directory; nothing in it is changed
// apart from the staging area and the blocks the sink installs.
func NewSink(dir string, logger *slog.Logger) (*Sink, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := checkOutDir(dir); err != nil {
		return nil, extract.Usage(err)
	}
	dl, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s, err := newSink(dir, dl, logger)
	if err != nil {
		return nil, errors.Join(err, dl.unlock())
	}
	return s, nil
}

// newSink is NewSink under the directory's lock.
func newSink(dir string, dl *dirLock, logger *slog.Logger) (*Sink, error) {
	o, err := chownTarget(dir)
	if err != nil {
		return nil, err
	}
	if err := o.ChownTree(dl.path); err != nil {
		return nil, err
	}
	if err := removeStaleStaging(dir, logger); err != nil {
		return nil, err
	}
	staging := filepath.Join(dir, ulid.Make().String()+tmpForCreation)
	if err := os.Mkdir(staging, 0o777); err != nil {
		return nil, writableError(dir, err)
	}
	lock, err := lockStaging(staging)
	if err != nil {
		return nil, errors.Join(err, os.RemoveAll(staging))
	}
	// A staging area left by a crash is removed by Prometheus at its next
	// start; running as 65534 it can only do that if it owns the directory.
	if err := o.ChownTree(staging); err != nil {
		return nil, errors.Join(err, lock.Close(), os.RemoveAll(staging))
	}
	return &Sink{
		dirLock:  dl,
		lock:     lock,
		dir:      dir,
		staging:  staging,
		logger:   logger,
		tsdbLog:  slog.New(quietHandler{logger.Handler()}),
		owner:    o,
		open:     map[extract.Window]*window{},
		finished: map[extract.Window]string{},
		notAfter: time.Now().Add(MaxSkew).UnixMilli(),
	}, nil
}

// Add appends series to w's block. Series with no samples are ignored, and
// so are samples stamped after NotAfter, which Done reports.
func (s *Sink) Add(ctx context.Context, w extract.Window, series []extract.Series) error {
	if err := checkWindow(w); err != nil {
		return err
	}
	win, err := s.window(w)
	if err != nil {
		return err
	}
	win.mu.Lock()
	defer win.mu.Unlock()
	if win.closed {
		// Done or Discard got the window between our lookup and our lock.
		return fmt.Errorf("window %s: %w", w, ErrWindowClosed)
	}
	return win.add(ctx, series)
}

// Done flushes w's block, verifies it and installs it; gaps are the parts of
// w that could not be fetched, kept with the block. A window that got no
// samples gives no block and no error.
func (s *Sink) Done(ctx context.Context, w extract.Window, gaps []extract.Gap) error {
	win, err := s.take(w, "done")
	if err != nil || win == nil {
		return err
	}
	win.mu.Lock()
	defer win.mu.Unlock()
	b, err := s.finish(ctx, win, gaps)
	if err != nil {
		s.markFinished(w, "failed")
		return err
	}
	s.holdBack(win)
	if b == nil {
		return nil
	}
	s.mu.Lock()
	s.installed = append(s.installed, *b)
	s.duplicates += b.Duplicates
	s.mu.Unlock()
	// The end's table has the rest. A person reading along needs the
	// window (by its start, to the minute, as the record fits 80 columns)
	// and its samples; the ULID only a program or someone debugging; the
	// directory, the ULID again under the data directory, only the latter.
	start := logattr.New(time.UnixMilli(w.Start).UTC().Format("2006-01-02T15:04Z07:00"), logattr.Num("", w.String()))
	attrs := []any{"window", start, "samples", b.Samples, "ulid", logattr.JSONOnly(b.ULID)}
	if s.logger.Enabled(ctx, slog.LevelDebug) {
		attrs = append(attrs[:len(attrs)-1], b.ULID, "dir", b.Dir)
	}
	s.logger.Info("installed", attrs...)
	return nil
}

// redoTimes bounds how often one window's block is written again after its
// staging directory vanished: once per Prometheus restart during the write.
const redoTimes = 3

// finish does Done's work for a window already taken out of s.open. It always
// leaves the window's staging directory gone.
//
// Prometheus deletes every *.tmp-for-creation directory when it starts, and
// so our staging area with the blocks being written in it. The window's
// samples are still in its head, outside the staging area: the block is
// written again from them, nothing is fetched twice.
func (s *Sink) finish(ctx context.Context, win *window, gaps []extract.Gap) (*Block, error) {
	win.closed = true
	defer func() {
		if err := win.release(); err != nil {
			s.logger.Warn("cleaning up staging", "window", win.w.String(), "err", err)
		}
	}()
	if win.broken != nil {
		return nil, fmt.Errorf("window %s: not installed: an earlier add failed: %w", win.w, win.broken)
	}
	if win.bw == nil || win.ledger.samples == 0 {
		return nil, nil
	}
	for n := 1; ; n++ {
		b, err := s.write(ctx, win, gaps)
		if _, serr := os.Stat(win.dir); err == nil || n == redoTimes || !errors.Is(serr, fs.ErrNotExist) {
			return b, err
		}
		s.logger.Warn("Prometheus restarted and removed the staging directory; the windows written then are redone", "window", win.w.String(), "err", err)
	}
}

// write writes win's block from its head into the staging area, verifies it
// and installs it.
func (s *Sink) write(ctx context.Context, win *window, gaps []extract.Gap) (*Block, error) {
	if err := win.stage(win.dir); err != nil {
		return nil, fmt.Errorf("window %s: staging: %w", win.w, err)
	}
	id, err := win.bw.Flush(ctx)
	if err != nil {
		return nil, fmt.Errorf("window %s: flush block: %w", win.w, err)
	}
	if id == (ulid.ULID{}) {
		return nil, fmt.Errorf("window %s: %d samples of %d series were appended but the flush wrote no block", win.w, win.ledger.samples, win.ledger.series)
	}
	src := filepath.Join(win.dir, id.String())
	if s.beforeVerify != nil {
		s.beforeVerify(win.ledger)
	}
	meta, err := verifyBlock(ctx, s.tsdbLog, src, win.w, win.ledger)
	if err != nil {
		return nil, fmt.Errorf("window %s: not installed: %w", win.w, err)
	}
	if err := s.owner.ChownTree(src); err != nil {
		return nil, fmt.Errorf("window %s: %w", win.w, err)
	}
	size, err := dirSize(src)
	if err != nil {
		return nil, fmt.Errorf("window %s: %w", win.w, err)
	}
	dst := filepath.Join(s.dir, id.String())
	b := &Block{
		ULID:       id.String(),
		Window:     win.w,
		MinTime:    meta.MinTime,
		MaxTime:    meta.MaxTime,
		Series:     meta.Stats.NumSeries,
		Samples:    meta.Stats.NumSamples,
		Chunks:     meta.Stats.NumChunks,
		Size:       size,
		Stale:      win.stale,
		Duplicates: win.duplicates,
		Gaps:       gaps,
		Dir:        dst,
	}
	if s.OnInstall != nil {
		if err := s.OnInstall(*b); err != nil {
			return nil, fmt.Errorf("window %s: not installed: %w", win.w, err)
		}
	}
	if err := install(src, dst); err != nil {
		return nil, fmt.Errorf("window %s: %w", win.w, err)
	}
	// The block is in place and Prometheus may already have loaded it, so
	// from here on it counts as installed whatever else goes wrong.
	if err := syncDir(s.dir); err != nil {
		s.logger.Warn("block installed but the directory entry may not survive a crash", "window", win.w.String(), "err", err)
	}
	// The head holds the whole window in memory: give it back before the
	// next window opens rather than at cleanup. Until the block is in place
	// it may have to be written again.
	if err := win.closeWriter(); err != nil {
		s.logger.Warn("block installed; closing its head", "window", win.w.String(), "err", err)
	}
	return b, nil
}

// stage makes dir, a window's staging directory, if it is not there, and
// the staging area with it if Prometheus removed that at its start.
func (s *Sink) stage(dir string) error {
	err := os.Mkdir(dir, 0o777)
	if errors.Is(err, fs.ErrNotExist) {
		if err = s.restage(); err == nil {
			err = os.Mkdir(dir, 0o777)
		}
	}
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.owner.ChownTree(dir)
}

// restage makes the staging area again, with its lock, if it is gone.
func (s *Sink) restage() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := os.Stat(s.staging); err == nil {
		return nil // another window did
	}
	if err := os.Mkdir(s.staging, 0o777); err != nil {
		return err
	}
	lock, err := lockStaging(s.staging)
	if err != nil {
		return err
	}
	s.lock.Close() // the lock of a file Prometheus deleted
	s.lock = lock
	s.logger.Warn("the staging directory was removed (by a Prometheus starting on the output directory); made it again", "dir", s.staging)
	return s.owner.ChownTree(s.staging)
}

// Discard drops everything added for w. Later Adds and Dones for w fail with
// ErrWindowClosed rather than building a block from part of the window.
func (s *Sink) Discard(w extract.Window) {
	win, err := s.take(w, "discarded")
	if err != nil {
		// extract.Run discards a window whose Done failed; that one is
		// already gone.
		s.logger.Debug("discard", "window", w.String(), "err", err)
		return
	}
	if win == nil {
		return
	}
	win.mu.Lock()
	defer win.mu.Unlock()
	win.closed = true
	if err := win.release(); err != nil {
		s.logger.Warn("discarding window", "window", w.String(), "err", err)
	}
}

// holdBack records and says what the installed window win held back.
func (s *Sink) holdBack(win *window) {
	if win.future == 0 {
		return
	}
	s.mu.Lock()
	s.heldBack = append(s.heldBack, HeldBack{Window: win.w, Samples: win.future, NotAfter: s.notAfter})
	s.mu.Unlock()
	s.logger.Warn("samples stamped after the time of the run were held back: a block holding them would make Prometheus drop every scrape until then; the clock of the source (or of this machine) is off",
		"window", win.w.String(), "samples", win.future, "after", extract.FormatTime(s.notAfter))
}

// NotAfter is the newest timestamp the sink writes (epoch ms): the time it
// was opened plus MaxSkew.
func (s *Sink) NotAfter() int64 { return s.notAfter }

// HeldBack lists what the installed windows held back, oldest first.
func (s *Sink) HeldBack() []HeldBack {
	s.mu.Lock()
	out := slices.Clone(s.heldBack)
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b HeldBack) int { return cmp.Compare(a.Window.Start, b.Window.Start) })
	return out
}

// Blocks lists the blocks installed so far, oldest first.
func (s *Sink) Blocks() []Block {
	s.mu.Lock()
	out := slices.Clone(s.installed)
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Block) int {
		return cmp.Or(cmp.Compare(a.MinTime, b.MinTime), cmp.Compare(a.ULID, b.ULID))
	})
	return out
}

// Duplicates is the number of identical repeated series skipped in installed
// windows.
func (s *Sink) Duplicates() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.duplicates
}

// Close drops every window still open and removes the staging area. Installed
// blocks stay.
func (s *Sink) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	open := s.open
	s.open = nil
	s.mu.Unlock()

	var errs []error
	for _, win := range open {
		win.mu.Lock()
		win.closed = true
		errs = append(errs, win.release())
		win.mu.Unlock()
	}
	if err := os.RemoveAll(s.staging); err != nil {
		errs = append(errs, fmt.Errorf("remove staging area: %w", err))
	}
	s.mu.Lock()
	errs = append(errs, s.lock.Close(), s.dirLock.unlock())
	s.mu.Unlock()
	return errors.Join(errs...)
}

// window returns w's state, opening it on first use.
func (s *Sink) window(w extract.Window) (*window, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("window %s: sink is closed", w)
	}
	if why, ok := s.finished[w]; ok {
		return nil, fmt.Errorf("window %s: %w (%s)", w, ErrWindowClosed, why)
	}
	win := s.open[w]
	if win == nil {
		win = newWindow(w, filepath.Join(s.staging, fmt.Sprintf("%d-%d", w.Start, w.End)), s.tsdbLog, s.stage, s.notAfter)
		s.open[w] = win
	}
	return win, nil
}

// take removes w from the open windows and marks it finished for why; nil
// without error means nothing was ever added for w.
func (s *Sink) take(w extract.Window, why string) (*window, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("window %s: sink is closed", w)
	}
	if prev, ok := s.finished[w]; ok {
		return nil, fmt.Errorf("window %s: %w (%s)", w, ErrWindowClosed, prev)
	}
	s.finished[w] = why
	win := s.open[w]
	delete(s.open, w)
	return win, nil
}

func (s *Sink) markFinished(w extract.Window, why string) {
	s.mu.Lock()
	s.finished[w] = why
	s.mu.Unlock()
}

func checkWindow(w extract.Window) error {
	if w.Start%extract.WindowMs != 0 || w.End != w.Start+extract.WindowMs {
		return fmt.Errorf("window [%d, %d): a block window must be %d ms long and aligned to a multiple of it", w.Start, w.End, extract.WindowMs)
	}
	return nil
}

// quietHandler keeps the BlockWriter's per-flush Info lines (three a window)
// out of the user's log; its warnings and errors still get through.
type quietHandler struct{ slog.Handler }

func (h quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h quietHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(as)}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{h.Handler.WithGroup(name)}
}
