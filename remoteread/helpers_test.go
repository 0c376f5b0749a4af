package remoteread

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/storage/remote"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/servers"
)

// t0 is where the test data starts: three 2h windows of it.
var t0 = time.Date(2025, 8, 3, 0, 0, 0, 0, time.UTC)

// testData is the demo set (counters, gauges, NaN and +Inf samples) and
// the native histograms (integer counts) over [from, to), with stale
// markers: a float series and a histogram series go stale halfway and come
// back a scrape later. floats adds float-count histograms, which
// Prometheus reads from a block from 2.47 on only.
func testData(from, to time.Time, floats bool) []extract.Series {
	ss := append(gen.DemoSeries(from, to, 7), gen.NativeHistogramSeries(from, to, 7)...)
	gen.StaleMarkers(ss, from.Add(to.Sub(from)/2).UnixMilli())
	if floats {
		for _, s := range gen.NativeHistogramSeries(from, to, 8) {
			fs := extract.Series{Labels: labels.NewBuilder(s.Labels).Set("__name__", s.Labels.Get("__name__")+"_float").Labels()}
			for _, h := range s.Histograms {
				fs.Histograms = append(fs.Histograms, extract.HistogramSample{T: h.T, FH: h.H.ToFloat(nil)})
			}
			ss = append(ss, fs)
		}
	}
	return ss
}

// cut is the part of the series in [from, to).
func cut(ss []extract.Series, from, to int64) []extract.Series {
	var out []extract.Series
	for _, s := range ss {
		c := extract.Series{Labels: s.Labels}
		c.Samples = s.Samples[extract.Before(s.Samples, from):extract.Before(s.Samples, to)]
		c.Histograms = s.Histograms[extract.Before(s.Histograms, from):extract.Before(s.Histograms, to)]
		if c.Len() > 0 {
			out = append(out, c)
		}
	}
	return out
}

// openTSDB opens a TSDB on dir with the series appended to its head, for
// Prometheus's own read handler to serve.
func openTSDB(t testing.TB, dir string, ss []extract.Series) *tsdb.DB {
	t.Helper()
	db := openDB(t, dir)
	appendAll(t, db.Appender(context.Background()), ss)
	return db
}

// openDB opens the TSDB on dir, which may hold blocks.
func openDB(t testing.TB, dir string) *tsdb.DB {
	t.Helper()
	opts := tsdb.DefaultOptions()
	opts.RetentionDuration = 0
	db, err := tsdb.Open(dir, slog.New(slog.DiscardHandler), nil, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// appendAll appends the series and commits them.
func appendAll(t testing.TB, app storage.Appender, ss []extract.Series) {
	t.Helper()
	for _, s := range ss {
		var (
			ref storage.SeriesRef
			err error
		)
		for _, smp := range s.Samples {
			if ref, err = app.Append(ref, s.Labels, smp.T, smp.V); err != nil {
				t.Fatal(err)
			}
		}
		for _, h := range s.Histograms {
			if ref, err = app.AppendHistogram(ref, s.Labels, h.T, h.H, h.FH); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

// serveHandler serves Prometheus's own remote read handler (the module's,
// 3.x) over db on 127.0.0.1, behind wrap when it is not nil.
func serveHandler(t testing.TB, db *tsdb.DB, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = remote.NewReadHandler(slog.New(slog.DiscardHandler), nil, db, func() config.Config { return config.Config{} }, 0, 1, 1048576)
	if wrap != nil {
		h = wrap(h)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/read", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// eachPrometheus runs f with the URL of each real Prometheus in turn
// (2.42, then 3.x) on the data directory, bound to 127.0.0.1, and stops it
// after: two would lock the same directory.
func eachPrometheus(t *testing.T, dataDir string, f func(t *testing.T, url string)) {
	for _, v := range servers.Versions {
		t.Run("Prometheus "+string(v), func(t *testing.T) {
			p := servers.Prometheus(t, v, dataDir)
			defer p.Stop()
			f(t, p.URL)
		})
	}
}

// readUnits streams every unit through src and joins each series' pieces
// in order, keeping any sample that comes twice, so that a check sees it.
func readUnits(t testing.TB, src *Source, units []extract.Unit) []extract.Series {
	t.Helper()
	var out []extract.Series
	at := map[string]int{}
	for _, u := range units {
		err := src.Stream(context.Background(), u, func(ss []extract.Series) error {
			for _, s := range ss {
				key := s.Labels.String()
				i, ok := at[key]
				if !ok {
					i, at[key] = len(out), len(out)
					out = append(out, extract.Series{Labels: s.Labels})
				}
				out[i].Samples = append(out[i].Samples, s.Samples...)
				out[i].Histograms = append(out[i].Histograms, s.Histograms...)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("unit %s %s: %v", u.Selector, u.Window, err)
		}
	}
	return out
}

// sameOnce fails t unless got is want, sample for sample and bit for bit,
// with no sample twice (a chunk read in two units) and none lost.
func sameOnce(t testing.TB, want, got []extract.Series) {
	t.Helper()
	for _, s := range got {
		for i := 1; i < len(s.Samples); i++ {
			if s.Samples[i].T <= s.Samples[i-1].T {
				t.Fatalf("%s: sample at %d comes after %d", s.Labels, s.Samples[i].T, s.Samples[i-1].T)
			}
		}
		for i := 1; i < len(s.Histograms); i++ {
			if s.Histograms[i].T <= s.Histograms[i-1].T {
				t.Fatalf("%s: histogram at %d comes after %d", s.Labels, s.Histograms[i].T, s.Histograms[i-1].T)
			}
		}
	}
	if err := extract.Compare(want, got); err != nil {
		t.Fatal(err)
	}
}

func newSource(t testing.TB, url string, opts Options) *Source {
	t.Helper()
	if opts.RetryWait == 0 {
		opts.RetryWait = time.Millisecond
	}
	src, err := New(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// units are the plan's units over [from, to) for the selectors.
func units(t testing.TB, from, to time.Time, selectors ...string) []extract.Unit {
	t.Helper()
	plan, err := extract.NewPlan(from, to, 0, selectors)
	if err != nil {
		t.Fatal(err)
	}
	return plan.Units()
}
