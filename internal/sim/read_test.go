package sim

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage/remote"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/promapi"
	"github.com/promrecover/promrecover/remoteread"
)

var readStart = time.UnixMilli(t0).UTC()

// readData is floats, integer native histograms and stale markers over
// three 2h windows.
func readData() []extract.Series {
	from, to := readStart, readStart.Add(6*time.Hour)
	ss := append(gen.DemoSeries(from, to, 3), gen.NativeHistogramSeries(from, to, 3)...)
	gen.StaleMarkers(ss, from.Add(3*time.Hour).UnixMilli())
	return ss
}

// The cloud endpoint's remote read, read by the remoteread package a
// window at a time: every sample of every kind comes back once, through
// its auth, its limits (which the reader meets by splitting) and its
// Intercept (a 429 the reader retries).
func TestRemoteRead(t *testing.T) {
	data := readData()
	cloud := &Cloud{Instance: "123456", Tokens: map[string][]string{"glc_read": {"metrics:read"}, "glc_write": {"metrics:write"}}}
	var throttled atomic.Int32
	throttle := func(c PromCall) *PromReply {
		if c.Path == "/api/v1/read" && throttled.Add(1) == 1 {
			return &PromReply{Status: http.StatusTooManyRequests, Body: "too many outstanding requests"}
		}
		return nil
	}
	for _, tc := range []struct {
		name     string
		cfg      Config
		password string
		want     string // "" reads every sample
	}{
		{name: "every sample", password: "glc_read"},
		{name: "series limit", cfg: Config{MaxSeriesPerQuery: 4}, password: "glc_read"},
		{name: "chunk limit, met while streaming", cfg: Config{MaxChunksPerQuery: 10}, password: "glc_read"},
		{name: "intercepted", cfg: Config{Intercept: throttle}, password: "glc_read"},
		{name: "no metrics:read", password: "glc_write", want: "authentication error: invalid scope requested"},
		{name: "unknown token", password: "glc_x", want: "authentication error: invalid token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Series, cfg.Cloud = data, cloud
			srv := New(cfg)
			hs := httptest.NewServer(srv)
			t.Cleanup(hs.Close)
			// The label lookups splitting by series asks for, through
			// the same endpoint's API.
			api := &promapi.Source{Client: promapi.New(hs.URL+CloudPrefix, promapi.Options{Auth: promapi.Auth{User: "123456", Password: tc.password}})}
			src, err := remoteread.New(hs.URL+CloudPrefix, remoteread.Options{User: "123456", Password: tc.password, RetryWait: time.Millisecond, Discovery: api})
			if err != nil {
				t.Fatal(err)
			}
			plan, err := extract.NewPlan(readStart, readStart.Add(6*time.Hour), 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []extract.Series
			for _, u := range plan.Units() {
				var unit []extract.Series
				err = src.Stream(context.Background(), u, func(ss []extract.Series) error { unit = append(unit, ss...); return nil })
				if err != nil {
					break
				}
				got = append(got, once(t, unit)...)
			}
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := extract.Compare(data, joined(got)); err != nil {
				t.Fatal(err)
			}
			if streamed, _ := src.Streamed(); !streamed {
				t.Error("the answers were not streamed")
			}
			if (cfg.MaxSeriesPerQuery > 0 || cfg.MaxChunksPerQuery > 0) && srv.Counters().RemoteReads <= int64(len(plan.Units())) {
				t.Errorf("%d reads for %d units: no limit was met", srv.Counters().RemoteReads, len(plan.Units()))
			}
		})
	}
}

// once is the series of one unit with the repeats left out: a read over a
// limit met while streaming has handed on some series before it is split,
// and its parts hand them on again, as they were.
func once(t *testing.T, ss []extract.Series) []extract.Series {
	t.Helper()
	seen := map[string]extract.Series{}
	var out []extract.Series
	for _, s := range ss {
		if first, ok := seen[s.Labels.String()]; ok {
			if err := extract.Compare([]extract.Series{first}, []extract.Series{s}); err != nil {
				t.Fatalf("a series came again, changed: %v", err)
			}
			continue
		}
		seen[s.Labels.String()] = s
		out = append(out, s)
	}
	return out
}

// joined is each series' pieces (a window each) as one series.
func joined(ss []extract.Series) []extract.Series {
	at := map[string]int{}
	var out []extract.Series
	for _, s := range ss {
		i, ok := at[s.Labels.String()]
		if !ok {
			i, at[s.Labels.String()] = len(out), len(out)
			out = append(out, extract.Series{Labels: s.Labels})
		}
		out[i].Samples = append(out[i].Samples, s.Samples...)
		out[i].Histograms = append(out[i].Histograms, s.Histograms...)
	}
	return out
}

// The chunks are cut in 24h blocks, not at the asked range: a read of
// the middle window gets chunks that begin before it or end after it.
func TestRemoteReadChunksCrossTheRange(t *testing.T) {
	cloud := &Cloud{Instance: "1", Tokens: map[string][]string{"t": {"metrics:read"}}}
	hs := httptest.NewServer(New(Config{Series: readData(), Cloud: cloud}))
	t.Cleanup(hs.Close)
	from, to := readStart.Add(2*time.Hour).UnixMilli(), readStart.Add(4*time.Hour).UnixMilli()-1
	rr := &prompb.ReadRequest{
		Queries:               []*prompb.Query{{StartTimestampMs: from, EndTimestampMs: to, Matchers: []*prompb.LabelMatcher{{Type: prompb.LabelMatcher_RE, Name: "__name__", Value: ".+"}}}},
		AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS},
	}
	raw, err := rr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, hs.URL+CloudPrefix+"/api/v1/read", bytes.NewReader(snappy.Encode(nil, raw)))
	req.SetBasicAuth("1", "t")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	cr := remote.NewChunkedReader(resp.Body, remoteread.DefaultFrameLimit, nil)
	var chunks, across int
	for {
		var msg prompb.ChunkedReadResponse
		if err := cr.NextProto(&msg); err != nil {
			break
		}
		for _, cs := range msg.ChunkedSeries {
			for _, c := range cs.Chunks {
				chunks++
				if c.MinTimeMs < from || c.MaxTimeMs > to {
					across++
				}
				if c.MaxTimeMs < from || c.MinTimeMs > to {
					t.Fatalf("a chunk of [%d, %d] outside the range [%d, %d]", c.MinTimeMs, c.MaxTimeMs, from, to)
				}
			}
		}
	}
	if chunks == 0 || across == 0 {
		t.Fatalf("%d chunks, %d of them across the range's edges; want some of each", chunks, across)
	}
}
