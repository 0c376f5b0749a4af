package grafana

// Helpers shared by the client, fault and decoder tests: the data set the
// built-in server serves and a client with fast retries.

import (
	"net/http"
	"testing"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/gen"
)

var (
	simStart = time.Date(2025, 8, 3, 0, 0, 0, 0, time.UTC)
	simData  = gen.DemoSeries(simStart, simStart.Add(4*time.Hour), 1)
	promDS   = Datasource{UID: "grafanacloud-prom", Name: "grafanacloud-prom", Type: "prometheus"}
)

const (
	token    = "glsa_secret_token_value"
	password = "secret-password-value"
)

func newTestClient(t *testing.T, url string, auth Auth) *Client {
	t.Helper()
	c, err := NewClient(Options{URL: url, Auth: auth, RetryInitial: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond, MaxRetries: 4})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func unit() extract.Unit {
	w := extract.Window{Start: simStart.UnixMilli(), End: simStart.UnixMilli() + extract.WindowMs}
	return extract.Unit{Window: w, From: w.Start, To: w.End, Selector: `{__name__=~".+"}`}
}

// checkUnit checks that series, as Fetch returned them for unit(), hold
// exactly the source's samples of the unit once trimmed to it.
func checkUnit(t *testing.T, series []extract.Series) {
	t.Helper()
	u := unit()
	for i := range series {
		if c := series[i].Normalize(u.From, u.To); c != 0 {
			t.Fatalf("series %s: %d conflicting samples", series[i].Labels, c)
		}
	}
	want := extract.Clip(simData, u.From, u.To)
	if len(want) == 0 {
		t.Fatal("the unit selects no data")
	}
	if err := extract.Compare(want, series); err != nil {
		t.Fatalf("Fetch returned other data than the source: %v", err)
	}
}

// grafanaHealth answers /api/health as Grafana does, for the tests whose
// server answers nothing else as Grafana would.
func grafanaHealth() *faults.Rule {
	return faults.On(faults.Path("/api/health")).Do(faults.Answer(http.StatusOK, `{"commit":"test","database":"ok","version":"12.0.0"}`, "Content-Type", "application/json"))
}
