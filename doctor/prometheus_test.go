package doctor

import (
	"context"
	"testing"
	"time"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/servers"
)

// Debian's Prometheus 2.42, started on a block of known data, opens both
// direct doors: its HTTP API, and remote read with streamed chunks, the
// best door. No Grafana is given: its rows are not tried.
func TestRealPrometheus(t *testing.T) {
	dir := t.TempDir()
	writeBlock(t, dir, gen.DemoSeries(start, start.Add(time.Hour), 1))
	prom := servers.Prometheus(t, servers.V2, dir)
	rep := probe(t, Config{Source: Source{URL: prom.URL}})
	check(t, rep, map[Door]want{
		Health:     {state: NotTried, fix: FixGrafanaURLMissing},
		Prometheus: {state: Works, message: "samples of", samples: true},
		RemoteRead: {state: Works, message: "as streamed chunks", samples: true},
	})
	if rep.Best != RemoteRead {
		t.Fatalf("best %q, want remote-read", rep.Best)
	}
	// Both doors read the same minute of the same data.
	if p, r := rep.Row(Prometheus), rep.Row(RemoteRead); p.Samples != r.Samples || p.Series != r.Series {
		t.Fatalf("the HTTP API gave %d samples of %d series, remote read %d of %d", p.Samples, p.Series, r.Samples, r.Series)
	}
}

// writeBlock installs the series, all inside the 2h window at start, as
// one block in dir.
func writeBlock(t *testing.T, dir string, ss []extract.Series) {
	t.Helper()
	sink, err := blocks.NewSink(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := extract.Window{Start: start.UnixMilli(), End: start.UnixMilli() + extract.WindowMs}
	ctx := context.Background()
	if err := sink.Add(ctx, w, ss); err != nil {
		t.Fatal(err)
	}
	if err := sink.Done(ctx, w, nil); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
}
