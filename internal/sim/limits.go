package sim

import (
	"context"
	"fmt"
	"sync"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// Mimir's query limits, as far as a bulk reader meets them. The samples
// limit is the engine's own (Config.MaxSamplesPerQuery sets its
// MaxSamples); the series limit is the querier's: every series a query
// fetches from storage counts once, and the one past the limit fails the
// query. The engine wraps that failure in "expanding series: ", exactly as
// Mimir's answer reads, and Prometheus's API gives it 422 execution.

// queryable is the storage one query runs on: the store itself, or a view
// of it that counts the series this query fetches.
func (s *Server) queryable() storage.Queryable {
	if s.cfg.MaxSeriesPerQuery <= 0 {
		return s.store
	}
	return &seriesLimit{st: s.store, max: s.cfg.MaxSeriesPerQuery, seen: map[int]struct{}{}}
}

// errMaxSeries is Mimir's limiter error (pkg/util/limiter, globalerror
// MaxSeriesPerQuery with its per-tenant flag).
func errMaxSeries(limit int) error {
	//lint:ignore ST1005 Mimir's own text, verbatim: clients match on it
	return fmt.Errorf("the query exceeded the maximum number of series (limit: %d series) (err-mimir-max-series-per-query). To adjust the related per-tenant limit, configure -querier.max-fetched-series-per-query, or contact your service administrator.", limit)
}

// seriesLimit is one query's view of the store.
type seriesLimit struct {
	st   *store
	max  int
	mu   sync.Mutex
	seen map[int]struct{} // store indexes fetched so far
}

func (l *seriesLimit) Querier(mint, maxt int64) (storage.Querier, error) {
	return &limitQuerier{querier: querier{st: l.st, mint: mint, maxt: maxt}, l: l}, nil
}

type limitQuerier struct {
	querier
	l *seriesLimit
}

func (q *limitQuerier) Select(_ context.Context, _ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	var list []storage.Series
	q.l.mu.Lock()
	q.matching(ms, func(i int) {
		q.l.seen[i] = struct{}{}
		list = append(list, q.st.src.series(i, q.mint, q.maxt))
	})
	over := len(q.l.seen) > q.l.max
	q.l.mu.Unlock()
	if over {
		return storage.ErrSeriesSet(errMaxSeries(q.l.max))
	}
	return &seriesSet{list: list, i: -1}
}
