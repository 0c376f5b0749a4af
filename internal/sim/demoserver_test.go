package sim

import (
	"net/http"
	"testing"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
)

func TestStartDemo(t *testing.T) {
	now := time.UnixMilli(t0 + 10*3600000)
	for _, histograms := range []bool{false, true} {
		d, err := StartDemo(now, 7, histograms)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		want := gen.DemoSeries(now.Add(-10*time.Hour), now, 7)
		if histograms {
			want = append(want, gen.NativeHistogramSeries(now.Add(-10*time.Hour), now, 7)...)
		}
		if err := extract.Compare(want, d.Data); err != nil {
			t.Errorf("histograms %v: the server holds other data than the demo's data set: %v", histograms, err)
		}
		var hist int
		for _, s := range d.Data {
			hist += len(s.Histograms)
		}
		if (hist > 0) != histograms {
			t.Errorf("histograms %v: %d native histogram samples", histograms, hist)
		}
		for token, status := range map[string]int{DemoToken: http.StatusOK, "wrong": http.StatusUnauthorized} {
			req, _ := http.NewRequest("GET", d.URL+"/api/datasources", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != status {
				t.Errorf("token %q: status %d, want %d", token, resp.StatusCode, status)
			}
		}
	}
}
