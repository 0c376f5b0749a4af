package recovery

import (
	"context"
	"path/filepath"
	"slices"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/relabel"
	"github.com/promrecover/promrecover/extract/state"
)

// DirError is a failure to read the data directory the blocks go to.
type DirError struct {
	Dir string
	Err error
}

func (e *DirError) Error() string { return e.Dir + ": " + e.Err.Error() }
func (e *DirError) Unwrap() error { return e.Err }

// settle opens the resume state, takes over what earlier runs recorded into
// o, and sets onInstall, the hook of the sink, to record what it installs:
// everything before the source is reached.
func (j *Job) settle(onInstall *func(blocks.Block) error, o *Outcome) (*state.File, error) {
	st, err := j.openState()
	if err != nil {
		return nil, err
	}
	o.State = st.Path()
	if old, ok := st.Replaced(); ok {
		j.replacing(old, st.Path())
	}
	if o.Earlier, err = j.resume(st); err != nil {
		return nil, err
	}
	if j.State.Opened != nil {
		j.State.Opened(st)
	}
	*onInstall = func(b blocks.Block) error {
		return st.Record(state.Window{Start: b.Window.Start, End: b.Window.End, ULID: b.ULID, Series: b.Series, Samples: b.Samples, Gaps: b.Gaps})
	}
	return st, nil
}

// replacing tells that the state of an earlier, complete recovery makes way
// for this one. Where both cover the same time, what the earlier one wrote
// is in Out's blocks and is not written again (see blocks.Present).
func (j *Job) replacing(old state.Plan, path string) {
	j.Log.Info("the recovery recorded in the resume state was complete; this one keeps its own there", "state", path, "earlier", old.From+".."+old.To, "earlier_selectors", old.Selectors)
}

// openState opens the resume state of the job's plan. Unless it restarts,
// it writes nothing, so that a plan can read it too.
func (j *Job) openState() (*state.File, error) {
	path := j.State.Path
	if path == "" {
		path = filepath.Join(j.Out, blocks.StateFileName)
	}
	fingerprint := state.NewPlan(j.State.URL, j.State.Datasource, j.Plan)
	// How the source is read is not part of the plan: both of Grafana's
	// transports ask Prometheus the same queries and get the same float
	// samples, and a window holding native histograms fails whole over
	// /api/ds/query, so it is never recorded as done. Running again
	// through the proxy then fetches exactly the windows that failed.
	fingerprint.Relabel, fingerprint.OnlyGaps, fingerprint.Shard = relabelKey(j.Relabel), j.OnlyGaps != nil, j.Shard.String()
	return state.Open(path, fingerprint, j.State.Restart)
}

// relabelKey is the rules as the resume state's plan records them. The
// first states recorded them in the words of the command line that gave
// them, and a state written so must keep matching the same rules, or
// resuming it would look like another recovery: so the form stays, although
// nothing else here speaks of the command line.
func relabelKey(r relabel.Rules) string {
	return r.Describe("--drop-label ", "--set-label ", " ")
}

// installed splits the windows st records into those whose blocks are still
// in Out (as themselves, or compacted by Prometheus into others) and those
// whose blocks are not. It only reads.
func (j *Job) installed(st *state.File) (done, lost []state.Window, err error) {
	recorded := st.Windows()
	if len(recorded) == 0 {
		// Nothing to look for: Out need not even exist yet (plan).
		return nil, nil, nil
	}
	ids := make([]string, len(recorded))
	for i, w := range recorded {
		ids[i] = w.ULID
	}
	var present map[string]bool
	if j.inBucket != nil {
		present = j.inBucket.Installed(ids)
	} else if present, err = blocks.Installed(j.Out, ids); err != nil {
		return nil, nil, &DirError{Dir: j.Out, Err: err}
	}
	for _, w := range recorded {
		if present[w.ULID] {
			done = append(done, w)
		} else {
			lost = append(lost, w)
		}
	}
	return done, lost, nil
}

// Done is what an earlier run of the same plan recovered whose blocks are
// still there, and the state file that says so.
type Done struct {
	Windows []state.Window
	State   string
}

// EarlierDone is what running the job would skip. It writes nothing. With
// no Out there is nothing to resume into, and a restart drops the state:
// then nothing is done.
func (j *Job) EarlierDone(ctx context.Context) (Done, error) {
	if j.Out == "" || j.State.Restart {
		return Done{}, nil
	}
	if err := j.keyState(ctx); err != nil {
		return Done{}, err
	}
	st, err := j.openState()
	if err != nil {
		return Done{}, err
	}
	done, _, err := j.installed(st)
	return Done{Windows: done, State: st.Path()}, err
}

// remaining is the part of p that the earlier windows do not cover.
func remaining(p *extract.Plan, earlier []state.Window) extract.Plan {
	todo := *p
	todo.Windows = slices.DeleteFunc(slices.Clone(p.Windows), func(w extract.Window) bool {
		return slices.ContainsFunc(earlier, func(e state.Window) bool { return e.Start == w.Start })
	})
	return todo
}

// resume returns the windows earlier runs of this plan installed whose blocks
// are still there. A recorded block that is not there was recorded by a run
// that died before the rename: it is forgotten, and its window fetched again.
func (j *Job) resume(st *state.File) ([]state.Window, error) {
	done, lost, err := j.installed(st)
	if err != nil {
		return nil, err
	}
	missing := make([]int64, len(lost))
	for i, w := range lost {
		missing[i] = w.Start
		j.Log.Info("a block recorded by an earlier run is not in the output directory; its window is fetched again", "ulid", w.ULID)
	}
	if len(missing) > 0 {
		if err := st.Forget(missing); err != nil {
			return nil, err
		}
	}
	if len(done) > 0 {
		j.Log.Info("resuming: windows recovered by an earlier run are skipped", "windows", len(done), "state", st.Path())
	}
	return done, nil
}

// warn says, before anything is fetched, what Prometheus will do with the
// blocks of todo's windows that overlap its head or fall outside its
// retention: the latter once, for all of them.
func (j *Job) warn(todo *extract.Plan) {
	if j.Plan.To > j.Now.Add(-HeadSpan).UnixMilli() {
		j.Log.Warn("the range reaches into the last 3h, which a running Prometheus still holds in its head block; recovered samples there overlap it. End the range 3h ago unless Prometheus was down for that time too")
	}
	cutoff, ok := j.retentionCutoff(windowEnds(todo))
	if !ok {
		return
	}
	var past []extract.Window
	for _, w := range todo.Windows {
		if w.End <= cutoff {
			past = append(past, w)
		}
	}
	if len(past) > 0 {
		j.Log.Warn("windows are older than the retention, counted as Prometheus counts it from the newest block (in the output directory or of this run): Prometheus will delete their blocks at the next reload",
			"windows", len(past), "first", past[0].String(), "last", past[len(past)-1].String(), "retention", j.Retention)
	}
}

// warnRetention names the blocks this run installed that Prometheus's time
// retention deletes at its next reload. Only they are named: a window that
// failed or was skipped wrote nothing to lose.
func (j *Job) warnRetention(installed []blocks.Block) {
	ends := make([]int64, len(installed))
	for i, b := range installed {
		ends[i] = b.MaxTime
	}
	cutoff, ok := j.retentionCutoff(ends)
	if !ok {
		return
	}
	for _, b := range installed {
		if b.MaxTime <= cutoff {
			j.Log.Warn("the block is older than the retention, counted from the newest block: Prometheus will delete it at the next reload", "window", b.Window.String(), "block", b.ULID, "retention", j.Retention)
		}
	}
}

// retentionCutoff is the maxTime (epoch ms) at or before which Prometheus
// deletes a block from Out once blocks ending at ends are there too; ok is
// false when the retention is unknown. Of the blocks already in Out only the
// newest counts.
func (j *Job) retentionCutoff(ends []int64) (cutoff int64, ok bool) {
	if j.Retention <= 0 {
		return 0, false
	}
	if j.Out != "" {
		if t, found, err := blocks.NewestMaxTime(j.Out); err == nil && found {
			ends = append(slices.Clip(ends), t)
		}
	}
	return blocks.RetentionCutoff(ends, j.Retention)
}

// windowEnds is where the blocks of p's windows end at the latest: what the
// retention is counted from before they are written.
func windowEnds(p *extract.Plan) []int64 {
	ends := make([]int64, len(p.Windows))
	for i, w := range p.Windows {
		ends[i] = w.End
	}
	return ends
}
