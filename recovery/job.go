// Package recovery is the orchestration of one run: it settles what an
// earlier run of the same plan left (resume), connects to the source, shards
// the selectors and fetches the plan into a sink, and says how it ended as a
// value, which the command turns into its messages and exit code. recover,
// export and demo run a Job; plan reports on one without running it.
package recovery

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/bucket"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/crosscheck"
	"github.com/promrecover/promrecover/extract/gaps"
	"github.com/promrecover/promrecover/extract/relabel"
	"github.com/promrecover/promrecover/extract/state"
	"github.com/promrecover/promrecover/progress"
	"github.com/promrecover/promrecover/served"
)

// HeadSpan is how far back a running Prometheus's head block reaches: blocks
// written there overlap data Prometheus still holds in memory.
const HeadSpan = 3 * time.Hour

// Source is a door to the data, with what sharding asks of it before
// anything is fetched. Any source that can count its series by label values
// can shard; one that cannot returns the selectors as they are.
type Source interface {
	extract.Source
	// Shard also returns the series it counted, -1 where it could not.
	Shard(ctx context.Context, selectors []string, from, to int64, maxSeries int) (shards []string, series int)
}

// Origin names a source in the log and the summary.
type Origin struct {
	Name, UID string
	Via       string // the API it is read through
}

// Census is what series discovery found of a selection.
type Census struct {
	Via  string          // which API answered, as the plan words it
	Sets []labels.Labels // the series' label sets; nil when the API gives none
	// Counter counts the series by label values: split.Sets of the sets
	// where the API listed them; where it did not, the source's own way.
	Counter
}

// Counter counts series by their value of each of names (a map a name);
// the series without it count under "". split.Census is one.
type Counter interface {
	Count(ctx context.Context, names ...string) ([]map[string]int, error)
}

// Conn is a job's source once reached.
type Conn struct {
	Source Source
	Origin Origin
	// Census looks up the series selectors match in [from, to] (epoch ms,
	// both inclusive), for the plan's counts.
	Census func(ctx context.Context, selectors []string, from, to int64) (*Census, error)
}

// Job is one run of a plan from a source into a sink.
type Job struct {
	Plan *extract.Plan
	// Connect reaches the source. Run calls it once the resume state is
	// settled, so that a state that does not fit fails before any request;
	// unless the state is keyed by what Connect finds (State.Datasource "").
	Connect func(context.Context) (Conn, error)
	conn    *Conn // what Connect gave
	// Sink receives the series. When nil, verified TSDB blocks are
	// installed into Out, and a resume state records them.
	Sink extract.Sink
	Out  string // the Prometheus data directory; "" when not given
	// Bucket, when set, is where the blocks go instead of Out; the
	// resume state is then at State.Path, which must be given.
	Bucket *bucket.Options
	// Shard is the share of the windows the Plan holds, when several
	// processes recover one range together; it keys the resume state.
	Shard       extract.Shard
	inBucket    *bucket.Sink // once opened
	held        string       // the local copy of the stream's blocks a bucket holds
	State       StateOptions
	Relabel     relabel.Rules
	Concurrency int
	// Crosscheck compares each raw-mode unit with the source's count of
	// its samples (see package crosscheck), where the source can count.
	Crosscheck bool
	MaxSeries  int // shard selectors matching more series; 0: never
	// Scrape is the typical scrape interval, for the estimate of the
	// blocks' size that the free space of Out is checked against.
	Scrape time.Duration
	// OnlyGaps, when set, reads the surviving data: only samples in its
	// holes are written.
	OnlyGaps  func(context.Context, *extract.Plan) (*gaps.Index, error)
	Now       time.Time
	Retention time.Duration // of the Prometheus that loads the blocks; 0: unknown
	// Served, when set, learns what each window writes; once everything
	// is installed, Run waits up to Wait until its Prometheus serves it.
	Served *served.Watch
	Wait   time.Duration
	// Progress starts showing a run of this many windows; nil shows none.
	Progress func(windows int) *progress.Run
	Log      *slog.Logger

	perWindow int64 // the estimated bytes of a window's block; 0: unknown
}

// StateOptions say where a job's resume state is and what it is keyed by.
type StateOptions struct {
	Path    string // "" means blocks.StateFileName in Out
	Restart bool   // drop a state left by another plan instead of failing
	// URL and Datasource name the source in the state's fingerprint. An
	// empty Datasource is the uid of the one the source connects to, so
	// that naming that datasource later resumes the same recovery.
	URL, Datasource string
	// Opened, when set, is called with the state before anything is
	// fetched (Grafana keeps its rotating session cookie there).
	Opened func(*state.File)
}

// Status is how a run ended.
type Status int

const (
	Complete    Status = iota
	Interrupted        // cancelled: the same job again finishes it
	Incomplete         // windows failed, or parts of them could not be fetched
	Empty              // nothing matched, and nothing was recovered earlier
)

// Outcome is what a run did. Run fills it as it goes, so that a run that
// fails partway still says what it got to.
type Outcome struct {
	Origin    Origin
	State     string         // the resume state's path; "" without one
	Earlier   []state.Window // recovered by earlier runs of the plan, skipped
	Result    *extract.Result
	Err       error // what stopped extract.Run early, if anything
	Installed []blocks.Block
	Covered   int64 // with OnlyGaps: fetched samples where surviving data has samples, not written
	// Held is what Out's blocks already held of what was fetched, and so
	// was not written again.
	Held blocks.Held
	// HeldBack is what installed windows left out: samples stamped after
	// the time of the run.
	HeldBack []blocks.HeldBack
	// Served is how the wait for the Prometheus ended; nil without one.
	Served *served.Result
	// Crosscheck is what the check with the source's counts did; nil when
	// it was not done (off, step mode, a source that cannot count).
	Crosscheck *crosscheck.Stats
}

// Status classifies the outcome of a run that fetched.
func (o *Outcome) Status() Status {
	switch {
	case errors.Is(o.Err, context.Canceled):
		return Interrupted
	case len(o.Result.Failed()) > 0 || o.Gaps() > 0 || o.Err != nil:
		return Incomplete
	}
	if _, samples := o.Result.Totals(); samples == 0 && len(o.Earlier) == 0 {
		return Empty
	}
	return Complete
}

// Partial says whether the plan was recovered in part: some windows (by
// this run or earlier ones) but not all, or not all of them whole.
func (o *Outcome) Partial() bool {
	s := o.Status()
	return (s == Interrupted || s == Incomplete) && o.Recovered() > 0
}

// Gaps counts the parts of recovered windows that could not be fetched, by
// this run and earlier ones.
func (o *Outcome) Gaps() int {
	n := len(o.Result.Gaps())
	for _, w := range o.Earlier {
		n += len(w.Gaps)
	}
	return n
}

// PartialWindows counts the windows written with parts that could not be
// fetched, by this run and earlier ones.
func (o *Outcome) PartialWindows() int {
	_, n := Whole(o.Result)
	for _, w := range o.Earlier {
		if len(w.Gaps) > 0 {
			n++
		}
	}
	return n
}

// Whole counts the windows of res recovered whole, and those recovered
// with parts that could not be fetched.
func Whole(res *extract.Result) (whole, partial int) {
	for _, w := range res.Windows {
		switch {
		case w.Err != nil:
		case len(w.Gaps) > 0:
			partial++
		default:
			whole++
		}
	}
	return whole, partial
}

// Recovered counts the windows recovered, by this run and earlier ones.
func (o *Outcome) Recovered() int {
	return len(o.Earlier) + o.Result.Recovered()
}

// Collided says whether a window failed because relabelling merged series:
// the same job would merge them again.
func (o *Outcome) Collided() bool {
	for _, f := range o.Result.Failed() {
		var c *relabel.CollisionError
		if errors.As(f.Err, &c) {
			return true
		}
	}
	return false
}

// Run runs the job. Its error is one that stopped it before anything was
// fetched, or the failure to record a complete recovery; how the fetch went
// is in the Outcome, which is never nil. A panic is returned as an
// *extract.PanicError once the staging directory is removed, so that the
// run still ends with its summary.
func (j *Job) Run(ctx context.Context) (out *Outcome, err error) {
	o := &Outcome{}
	defer func() {
		if r := recover(); r != nil {
			out, err = o, extract.Caught(j.Log, r)
		}
	}()
	todo := *j.Plan
	sink := j.Sink
	var d *dest
	if sink == nil {
		var err error
		if d, err = j.openDest(ctx, o); err != nil {
			return o, err
		}
		defer d.close()
		todo, sink = remaining(j.Plan, o.Earlier), d.sink
		if d.dir != nil {
			j.warn(&todo)
		}
	}
	conn, err := j.connect(ctx)
	if err != nil {
		return o, err
	}
	o.Origin = conn.Origin
	if d != nil {
		j.Log.Info("recovering", "datasource", o.Origin.Name, "uid", o.Origin.UID, "via", o.Origin.Via, "windows", len(todo.Windows), "done_earlier", len(o.Earlier), "selectors", len(j.Plan.Selectors), "out", j.dest())
	}
	// The holes are read before anything is written: blocks this run
	// installs must not count as surviving data.
	var filter *gaps.Filter
	if j.OnlyGaps != nil {
		ix, err := j.OnlyGaps(ctx, j.Plan)
		if err != nil {
			return o, err
		}
		filter = gaps.NewFilter(sink, ix)
		sink = filter
	}
	if j.MaxSeries > 0 && len(todo.Windows) > 0 {
		var series int
		todo.Selectors, series = conn.Source.Shard(ctx, todo.Selectors, todo.From, todo.To, j.MaxSeries)
		if d != nil && d.dir != nil {
			if err := j.checkSpace(&todo, series); err != nil {
				return o, err
			}
		}
	}
	o.Result, o.Err = j.fetch(ctx, &todo, conn.Source, sink, o)
	if d != nil {
		d.finish(ctx, j, o)
	}
	if filter != nil {
		o.Covered = filter.Dropped()
	}
	if d != nil && o.Status() == Complete {
		return o, d.st.Complete()
	}
	return o, nil
}

// Ahead is how far the plan's range ends after the time of the run, beyond
// the skew a data directory allows (blocks.MaxSkew); 0 when it does not,
// or when the time of the run is not known.
func (j *Job) Ahead() time.Duration {
	if j.Now.IsZero() {
		return 0
	}
	if d := time.UnixMilli(j.Plan.To).Sub(j.Now); d > blocks.MaxSkew {
		return d
	}
	return 0
}

// checkEnd refuses a range that ends in the future for a data directory:
// what the source holds there can only be stamped by a clock that runs fast,
// and a block reaching into the future stops Prometheus ingesting until then.
func (j *Job) checkEnd() error {
	if d := j.Ahead(); d > 0 {
		return extract.ParamErrorf("the range ends at %s, %s after the time of the run (%s): a block reaching past now would make Prometheus drop every scrape as out of bounds until then; end the range at the time of the run or earlier",
			extract.FormatTime(j.Plan.To), d.Round(time.Second), extract.FormatTime(j.Now.UnixMilli()))
	}
	return nil
}

// connect reaches the source once: plan and Run may both need it.
func (j *Job) connect(ctx context.Context) (Conn, error) {
	if j.conn == nil {
		c, err := j.Connect(ctx)
		if err != nil {
			return Conn{}, err
		}
		j.conn = &c
	}
	return *j.conn, nil
}

// keyState names the resume state's datasource by the uid of the one the
// source connects to, where none was given.
func (j *Job) keyState(ctx context.Context) error {
	if j.State.Datasource != "" {
		return nil
	}
	c, err := j.connect(ctx)
	j.State.Datasource = c.Origin.UID
	return err
}

// fetch runs the plan through relabelling and the progress display into
// sink, checked with the source's counts where that is asked and possible.
func (j *Job) fetch(ctx context.Context, p *extract.Plan, src extract.Source, sink extract.Sink, o *Outcome) (*extract.Result, error) {
	if c, ok := src.(extract.Counter); ok && j.Crosscheck && p.Step == 0 {
		cc := crosscheck.Wrap(src, c, p, j.Log)
		src = cc
		defer func() { st := cc.Stats(); o.Crosscheck = &st }()
	} else if j.Crosscheck && p.Step == 0 {
		j.Log.Info("this source cannot count its samples, so what it answers is not checked with its counts", "via", o.Origin.Via)
	}
	sink = relabel.Wrap(sink, j.Relabel)
	if j.Progress != nil {
		show := j.Progress(len(p.Windows))
		defer show.Stop()
		sink = show.Wrap(ctx, sink)
	}
	return extract.Run(ctx, p, src, sink, j.Concurrency, j.Log)
}

// waitServed waits until the Prometheus of j.Served serves what the run
// installed, when there is one to ask.
func (j *Job) waitServed(ctx context.Context, o *Outcome) {
	if j.Served == nil || j.Wait <= 0 || len(o.Installed) == 0 || ctx.Err() != nil {
		return
	}
	j.Log.Info("waiting until Prometheus serves the installed windows", "windows", len(o.Installed), "wait", j.Wait)
	res := j.Served.Wait(ctx, o.Installed, j.Wait, time.Second)
	o.Served = &res
}
