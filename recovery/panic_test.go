package recovery

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/promrecover/promrecover/extract"
)

// panicking panics in every Stream.
type panicking struct{ fakeSource }

func (p *panicking) Stream(context.Context, extract.Unit, func([]extract.Series) error) error {
	panic("the source went wrong")
}

// A panic, in the run's own goroutine or in a worker, ends the run with an
// error naming a bug and the staging directory removed, so the command
// still prints and writes its summary: it used to end the process.
func TestRunSurvivesPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		job  func(j *Job)
	}{
		{"connecting", func(j *Job) {
			j.Connect = func(context.Context) (Conn, error) { panic("connect went wrong") }
		}},
		{"fetching", func(j *Job) {
			src := &panicking{}
			j.Connect = func(context.Context) (Conn, error) { return Conn{Source: src, Origin: Origin{Name: "fake"}}, nil }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var log bytes.Buffer
			j := newJob(t, dir, scraped(up("a")), &log)
			tc.job(j)
			o, err := j.Run(context.Background())
			var pe *extract.PanicError
			switch {
			case o == nil:
				t.Fatal("no outcome")
			case o.Result == nil && !errors.As(err, &pe):
				t.Fatalf("err %v, want a *extract.PanicError", err)
			case o.Result != nil && (len(o.Result.Failed()) != 2 || !errors.As(o.Result.Failed()[0].Err, &pe)):
				t.Fatalf("failed %+v, want both windows failed by the panic", o.Result.Failed())
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if strings.HasSuffix(e.Name(), ".tmp-for-creation") {
					t.Errorf("the staging directory %s is left behind", e.Name())
				}
			}
		})
	}
}
