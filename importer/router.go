package importer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// batchSamples is how many samples the reader collects before handing them
// to the writer goroutine: large enough that each sink.Add (one appender
// and a commit per window) is amortised over thousands of samples, small
// enough that the batches in flight stay a few MiB.
const batchSamples = 64 << 10

// batchesInFlight bounds the memory between reader and writer: one batch
// being filled, the others queued or being written.
const batchesInFlight = 3

// location says where in the input a series was read, for error messages.
type location struct {
	line int64 // OpenMetrics: the line the series' run started on
	item int   // JSON: the index in data.result
}

func (l location) String() string {
	if l.line > 0 {
		return fmt.Sprintf("line %d", l.line)
	}
	return fmt.Sprintf("data.result[%d]", l.item)
}

// router cuts each series into its windows and passes the parts to the sink
// from a writer goroutine, so that parsing (on the caller's goroutine) and
// appending to the blocks' heads run side by side.
type router struct {
	ctx      context.Context
	sink     extract.Sink
	windows  map[int64]*windowInfo // by window start
	distinct map[uint64]struct{}

	cur       *batch
	allocated int
	free      chan *batch
	work      chan *batch
	done      chan struct{} // closed when the writer has stopped
	failed    chan struct{} // closed when an Add failed
	addErr    error         // the first failed Add; read after done
}

// windowInfo is what was routed to one window.
type windowInfo struct {
	w       extract.Window
	seen    map[uint64]struct{} // label hashes of the series added
	series  int
	samples int64
}

// batch is a set of series parts on their way to the sink. Their samples
// live in one arena, reused from batch to batch, their histogram samples in
// another.
type batch struct {
	arena      []extract.Sample
	histograms []extract.HistogramSample
	parts      []part
}

type part struct {
	w extract.Window
	s extract.Series
}

// errSinkFailed stops the reader once the writer has failed; the writer's
// own error is what gets reported.
var errSinkFailed = errors.New("the sink failed")

func newRouter(ctx context.Context, sink extract.Sink) *router {
	r := &router{
		ctx:      ctx,
		sink:     sink,
		windows:  map[int64]*windowInfo{},
		distinct: map[uint64]struct{}{},
		free:     make(chan *batch, batchesInFlight),
		work:     make(chan *batch, batchesInFlight-1),
		done:     make(chan struct{}),
		failed:   make(chan struct{}),
	}
	go r.write()
	return r
}

// add routes one series. samples and histograms must hold every sample of
// the series that this stretch of the input gives; they are sorted (and
// exact repeats dropped) in place, and copied, so the caller may reuse the
// slices.
func (r *router) add(lset labels.Labels, samples []extract.Sample, histograms []extract.HistogramSample, at location) error {
	if len(samples)+len(histograms) == 0 {
		return nil
	}
	// The TSDB head drops empty-valued labels; a{x=""} and a are one series.
	lset = lset.WithoutEmpty()
	if lset.IsEmpty() {
		return fmt.Errorf("%s: a series without labels", at)
	}
	if err := extract.LabelSetError(lset); err != nil {
		return fmt.Errorf("%s: %w", at, err)
	}
	samples, err := normalize(samples)
	if err != nil {
		return fmt.Errorf("%s: series %s: %w", at, lset, err)
	}
	if len(histograms) > 0 {
		hs := extract.Series{Histograms: histograms}
		if hs.Normalize(math.MinInt64, math.MaxInt64) > 0 {
			return fmt.Errorf("%s: series %s: two different histograms at one timestamp", at, lset)
		}
		histograms = hs.Histograms
	}
	h := lset.Hash()
	r.distinct[h] = struct{}{}
	for len(samples) > 0 || len(histograms) > 0 {
		first := int64(math.MaxInt64)
		if len(samples) > 0 {
			first = samples[0].T
		}
		if len(histograms) > 0 {
			first = min(first, histograms[0].T)
		}
		start := floorDiv(first, extract.WindowMs) * extract.WindowMs
		end := start + extract.WindowMs
		n, m := extract.Before(samples, end), extract.Before(histograms, end)
		wi := r.windows[start]
		if wi == nil {
			wi = &windowInfo{w: extract.Window{Start: start, End: end}, seen: map[uint64]struct{}{}}
			r.windows[start] = wi
		}
		// seen holds label hashes: two series with one 64-bit hash (not
		// seen in practice) would be refused as a repeat, never merged.
		if _, dup := wi.seen[h]; dup {
			return fmt.Errorf("%s: series %s comes again, with samples in window %s that it already had samples in earlier in the input; "+
				"import needs each series' samples for a 2h window together (grouped by series, as exporters and promtool-style generators write them, "+
				"or grouped by time range and then by series); group the lines of each series together and import again", at, lset, wi.w)
		}
		wi.seen[h] = struct{}{}
		wi.series++
		wi.samples += int64(n + m)
		if err := r.push(wi.w, lset, samples[:n], histograms[:m]); err != nil {
			return err
		}
		samples, histograms = samples[n:], histograms[m:]
	}
	return nil
}

// normalize sorts samples by time if they are not, and drops a repeated
// timestamp with the same value; two values for one timestamp are an error.
func normalize(samples []extract.Sample) ([]extract.Sample, error) {
	if slices.IsSortedFunc(samples, extract.ByTime) {
		// The common case: check for repeats without copying.
		for i := 1; i < len(samples); i++ {
			if samples[i].T == samples[i-1].T {
				return dedupe(samples)
			}
		}
		return samples, nil
	}
	slices.SortStableFunc(samples, extract.ByTime)
	return dedupe(samples)
}

func dedupe(samples []extract.Sample) ([]extract.Sample, error) {
	out := samples[:1]
	for _, s := range samples[1:] {
		last := out[len(out)-1]
		if s.T != last.T {
			out = append(out, s)
			continue
		}
		if math.Float64bits(s.V) != math.Float64bits(last.V) {
			return nil, fmt.Errorf("two values at %s: %v and %v", time.UnixMilli(s.T).UTC().Format(time.RFC3339Nano), last.V, s.V)
		}
	}
	return out, nil
}

// push copies one part into the batch being filled, handing the batch to
// the writer once it is full.
func (r *router) push(w extract.Window, lset labels.Labels, samples []extract.Sample, histograms []extract.HistogramSample) error {
	if r.cur != nil && len(r.cur.parts) > 0 && len(r.cur.arena)+len(samples) > cap(r.cur.arena) {
		if err := r.send(); err != nil {
			return err
		}
	}
	if r.cur == nil {
		if err := r.take(); err != nil {
			return err
		}
	}
	b := r.cur
	if len(samples) > cap(b.arena)-len(b.arena) {
		// A part bigger than an arena (a very long series) gets its own.
		b.arena = make([]extract.Sample, 0, len(samples))
	}
	from := len(b.arena)
	b.arena = append(b.arena, samples...)
	p := part{w: w, s: extract.Series{Labels: lset, Samples: b.arena[from:len(b.arena):len(b.arena)]}}
	if len(histograms) > 0 {
		// A part keeps its histograms even if the arena grows: growing
		// leaves the old array as it was.
		from := len(b.histograms)
		b.histograms = append(b.histograms, histograms...)
		p.s.Histograms = b.histograms[from:len(b.histograms):len(b.histograms)]
	}
	b.parts = append(b.parts, p)
	if len(b.arena)+len(b.histograms) >= batchSamples {
		return r.send()
	}
	return nil
}

// take gets an empty batch, allocating up to batchesInFlight of them.
func (r *router) take() error {
	if r.allocated < batchesInFlight {
		r.allocated++
		r.cur = &batch{arena: make([]extract.Sample, 0, batchSamples)}
		return nil
	}
	select {
	case r.cur = <-r.free:
		return nil
	case <-r.failed:
		return errSinkFailed
	}
}

func (r *router) send() error {
	b := r.cur
	r.cur = nil
	select {
	case r.work <- b:
		return nil
	case <-r.failed:
		return errSinkFailed
	}
}

// write is the writer goroutine: it adds each batch's parts to the sink, one
// Add per window, and recycles the batch.
func (r *router) write() {
	defer close(r.done)
	byWindow := map[extract.Window][]extract.Series{}
	var order []extract.Window
	for b := range r.work {
		if r.addErr == nil {
			for _, p := range b.parts {
				if len(byWindow[p.w]) == 0 {
					order = append(order, p.w)
				}
				byWindow[p.w] = append(byWindow[p.w], p.s)
			}
			for _, w := range order {
				// This goroutine's panic would end the process, summary,
				// staging removal and all.
				if err := extract.Catch(nil, func() error { return r.sink.Add(r.ctx, w, byWindow[w]) }); err != nil {
					r.addErr = err
					close(r.failed)
					break
				}
			}
			for _, w := range order {
				clear(byWindow[w])
				byWindow[w] = byWindow[w][:0]
			}
			order = order[:0]
		}
		clear(b.parts) // drop the label references
		clear(b.histograms)
		b.parts, b.arena, b.histograms = b.parts[:0], b.arena[:0], b.histograms[:0]
		select {
		case r.free <- b:
		default:
		}
	}
}

// close sends what is left (unless the input failed, and it would only be
// discarded) and waits for the writer; it returns the error of a failed Add.
func (r *router) close(send bool) error {
	if send && r.cur != nil && len(r.cur.parts) > 0 {
		_ = r.send() // a failure is r.addErr, returned below
	}
	close(r.work)
	<-r.done
	return r.addErr
}

// discard drops every window: the input was bad, so none of it is kept.
func (r *router) discard() {
	for _, wi := range r.windows {
		r.sink.Discard(wi.w)
	}
}

// finish completes every window, oldest first, one at a time, until the
// sink fails one with an *extract.AbortError (a full disk): the windows
// after it are discarded unwritten. Flushing a
// block allocates some 35 MiB of write buffers (the index and chunk
// writers', fixed sizes in Prometheus's tsdb) that are garbage once it is
// written; they are returned to the OS before the next window's flush, or
// each flush would take fresh pages and the peak would grow with every
// window. Measured on bench/import.sh's default input: 95-106 MiB peak RSS
// without, 67-70 MiB with, no slower. Two flushes at once would save about
// 0.1s of 1s there and cost those 35 MiB again, so there is one at a time.
func (r *router) finish(ctx context.Context) extract.Result {
	infos := make([]*windowInfo, 0, len(r.windows))
	for _, wi := range r.windows {
		infos = append(infos, wi)
	}
	slices.SortFunc(infos, func(a, b *windowInfo) int { return cmp.Compare(a.w.Start, b.w.Start) })
	res := extract.Result{Windows: make([]extract.WindowResult, len(infos)), DistinctSeries: len(r.distinct)}
	var abort *extract.AbortError
	for i, wi := range infos {
		res.Windows[i] = extract.WindowResult{Window: wi.w, Series: wi.series, Samples: wi.samples}
		if abort != nil {
			// As Run does: every other window would fail the same way.
			r.sink.Discard(wi.w)
			res.Windows[i].Err = fmt.Errorf("not written: %w", abort)
			continue
		}
		debug.FreeOSMemory()
		// As in a recovery, a window whose data is all here is finished
		// even if the run is being interrupted.
		if err := r.sink.Done(context.WithoutCancel(ctx), wi.w, nil); err != nil {
			r.sink.Discard(wi.w)
			res.Windows[i].Err = err
			errors.As(err, &abort)
		}
	}
	return res
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
