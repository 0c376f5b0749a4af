package recovery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/grafana"
	"github.com/promrecover/promrecover/promapi"
	"github.com/promrecover/promrecover/remoteread"
)

// RemoteReadConn reads through the remote read API at the address client
// asks, with opts (their Discovery is client's API): the source of a Job
// with --via remote-read. Remote read lists no series, so the census,
// label lookups and sharding go through the Prometheus API at the same
// address and credentials. Connecting proves both with the smallest
// request each: client's query, then a read of no series, so that an
// address that serves the API but not remote read is refused before the
// run starts (a usage error: another --via does it). made is handed the
// remote read source once it is built, for its counters.
func RemoteReadConn(client *promapi.Client, opts remoteread.Options, made func(*remoteread.Source)) func(context.Context) (Conn, error) {
	return func(ctx context.Context) (Conn, error) {
		if err := client.Check(ctx); err != nil {
			return Conn{}, err
		}
		disc := &promapi.Source{Client: client, Split: opts.Split}
		opts.Discovery = disc
		src, err := remoteread.New(client.URL(), opts)
		if err != nil {
			return Conn{}, extract.Usage(err)
		}
		made(src)
		if err := src.Check(ctx, time.Now().UnixMilli()); err != nil {
			var se *remoteread.StatusError
			if errors.As(err, &se) && se.Status == http.StatusNotFound {
				err = extract.Usage(err)
			}
			return Conn{}, fmt.Errorf("asking the source's remote read: %w", err)
		}
		var source Source = src
		if closed, known := client.ClosedRanges(ctx); known {
			source = &countedRead{Source: src, api: disc, closed: closed}
		}
		return Conn{Source: source, Origin: Origin{Name: client.URL(), UID: "prometheus", Via: "remote-read"}, Census: seriesCensus(disc)}, nil
	}
}

// countedRead is remote read that its source's Prometheus API counts
// (extract.Counter), for the check with the source's counts. Remote read
// hands over [From, To) of a unit, which no range selector asked at the
// unit's end holds; one asked 1ms before it does, as long as it reaches
// back to From and no further, which depends on the server's ends: where
// the server does not say, remote read is not a Counter, never a guess.
type countedRead struct {
	*remoteread.Source
	api    *promapi.Source
	closed bool // the server's range selectors include their start
}

func (r *countedRead) Points(ctx context.Context, expr string, start, end int64, step time.Duration, add func(labels.Labels, int64, float64)) error {
	return r.api.Points(ctx, expr, start, end, step, add)
}

func (r *countedRead) CountRange(u extract.Unit) extract.Counted {
	c := extract.Counted{Lo: u.From, Hi: u.To - 1, Range: u.To - u.From}
	if r.closed {
		c.Range--
	}
	return c
}

// seriesCensus is the census of the Prometheus API's series lookup.
func seriesCensus(src *promapi.Source) func(ctx context.Context, selectors []string, from, to int64) (*Census, error) {
	return func(ctx context.Context, selectors []string, from, to int64) (*Census, error) {
		sets, err := src.Series(ctx, selectors, from, to)
		if err != nil {
			return nil, err
		}
		return &Census{Via: "via the series API", Sets: sets, Counter: sets}, nil
	}
}

// RemoteReadDoor reads through remote read at client's address; see
// RemoteReadConn. Its traffic is both APIs'.
func RemoteReadDoor(client *promapi.Client, opts remoteread.Options) *Door {
	var src atomic.Pointer[remoteread.Source]
	api := apiStats(client)
	stats := func() grafana.Stats {
		st := api()
		if s := src.Load(); s != nil {
			rs := s.Stats()
			st.Requests += rs.Requests
			st.Retries += rs.Retries
			st.WireBytes += rs.WireBytes
			st.Bytes += rs.WireBytes
		}
		return st
	}
	streamed := func() (streamed, known bool) {
		if s := src.Load(); s != nil {
			return s.Streamed()
		}
		return false, false
	}
	return &Door{Connect: RemoteReadConn(client, opts, src.Store), URL: client.URL(), Stats: stats, Streamed: streamed}
}
