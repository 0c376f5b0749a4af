package sim

import (
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/promrecover/promrecover/internal/gen"
)

// TestDemoRoundTrip recovers raw samples the way the tool does, with an
// instant range selector per window, decodes the answer with the plugin
// SDK, and gets every sample of the data set back.
func TestDemoRoundTrip(t *testing.T) {
	start := time.UnixMilli(t0)
	series := gen.DemoSeries(start, start.Add(4*time.Hour), 7)
	s, _ := newTestServer(t, Config{Series: series})
	want := map[string][]sample{}
	to := t0 + 3*3600000
	for _, ser := range series {
		for _, smp := range ser.Samples {
			if smp.T > to-7200000 && smp.T <= to {
				want[ser.Labels.String()] = append(want[ser.Labels.String()], sample{smp.T, smp.V})
			}
		}
	}
	code, qdr, _ := query(t, s, dsq(to-7200000, to, map[string]any{
		"expr": `{__name__=~".+"}[7200000ms]`, "instant": true, "range": false, "interval": "15s", "maxDataPoints": 11000,
	}))
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	frames := qdr.Responses["A"].Frames
	if len(frames) != len(want) {
		t.Fatalf("%d frames for %d series", len(frames), len(want))
	}
	for i, f := range frames {
		lset := labels.FromMap(f.Fields[1].Labels)
		if got := frameSamples(t, qdr, "A", i); !sameSamples(got, want[lset.String()]) {
			t.Fatalf("%s: %d samples back, want %d", lset, len(got), len(want[lset.String()]))
		}
	}
}
