package extract

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// panicSink panics in the method named, for the window starting at at.
type panicSink struct {
	recordingSink
	in string
	at int64
}

func (p *panicSink) Add(ctx context.Context, w Window, s []Series) error {
	if p.in == "Add" && w.Start == p.at {
		panic("add went wrong")
	}
	return p.recordingSink.Add(ctx, w, s)
}

func (p *panicSink) Done(ctx context.Context, w Window, g []Gap) error {
	if p.in == "Done" && w.Start == p.at {
		panic("done went wrong")
	}
	return p.recordingSink.Done(ctx, w, g)
}

type panicSource struct {
	fakeSource
	at int64
}

func (p *panicSource) Stream(ctx context.Context, u Unit, add func([]Series) error) error {
	if u.Window.Start == p.at {
		var rows []int
		rows[int(u.Window.Start-p.at)]++ // a runtime error, as a bug would be
	}
	return p.fakeSource.Stream(ctx, u, add)
}

// A panic of the source or the sink fails its window, named as a bug with
// its stack in the debug log, and the other windows finish: it used to end
// the process without a summary, leaving the staging directory behind.
func TestRunSurvivesPanics(t *testing.T) {
	p, err := NewPlan(t0, t0.Add(6*time.Hour), 0, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	at := p.Windows[1].Start
	for _, tc := range []struct {
		name, want string
		src        Source
		sink       *panicSink
	}{
		{"in the source", "index out of range [0] with length 0", &panicSource{at: at}, &panicSink{}},
		{"in Add", "add went wrong", &fakeSource{}, &panicSink{in: "Add", at: at}},
		{"in Done", "done went wrong", &fakeSource{}, &panicSink{in: "Done", at: at}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.sink.added = map[Window]int{}
			var log bytes.Buffer
			res, err := Run(context.Background(), p, tc.src, tc.sink, 2, slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})))
			if err != nil {
				t.Fatal(err)
			}
			failed := res.Failed()
			var pe *PanicError
			if len(failed) != 1 || failed[0].Window.Start != at || !errors.As(failed[0].Err, &pe) {
				t.Fatalf("failed %+v, want window %d failed by a panic", failed, at)
			}
			if msg := failed[0].Err.Error(); !strings.Contains(msg, "internal error, a bug in promrecover") || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q", msg)
			}
			if len(tc.sink.done) != 2 || len(tc.sink.discarded) != 1 || tc.sink.discarded[0].Start != at {
				t.Errorf("done %v, discarded %v", tc.sink.done, tc.sink.discarded)
			}
			if !strings.Contains(log.String(), "level=DEBUG msg=panic") || !strings.Contains(log.String(), "panic_test.go") {
				t.Errorf("the debug log lacks the stack:\n%.2000s", log.String())
			}
		})
	}
}
