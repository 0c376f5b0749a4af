package recovery

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/bucket"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/gaps"
	"github.com/promrecover/promrecover/promapi"
)

// The index of the data that survived is built here rather than in
// extract/gaps, which holds the pure logic of holes and must not depend on
// where the data is read from: a data directory (package blocks) or a
// running Prometheus (package promapi).

// BlocksIndex indexes the series of the plan's selectors in the blocks of
// the data directory dir, around the plan's range. The head block, in wal/,
// is not read.
func BlocksIndex(dir string, p *extract.Plan, minGap time.Duration) (*gaps.Index, error) {
	ix := gaps.New(p.From, p.To, minGap)
	var sets [][]*labels.Matcher
	for _, sel := range p.Selectors {
		ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(sel)
		if err != nil {
			return nil, err
		}
		sets = append(sets, ms)
	}
	err := blocks.EachSeries(dir, p.From-ix.Margin(), p.To+ix.Margin(), func(s extract.Series) error {
		if slices.ContainsFunc(sets, func(ms []*labels.Matcher) bool { return matches(ms, s.Labels) }) {
			ix.Add(s)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ix, nil
}

func matches(ms []*labels.Matcher, ls labels.Labels) bool {
	for _, m := range ms {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}

// QueryError is a query of the surviving data that failed.
type QueryError struct {
	Selector string
	Err      error
}

func (e *QueryError) Error() string { return fmt.Sprintf("the query for %s: %v", e.Selector, e.Err) }
func (e *QueryError) Unwrap() error { return e.Err }

// PrometheusIndex indexes the series of the plan's selectors around its
// range, read raw from the Prometheus c asks, head block included.
func PrometheusIndex(ctx context.Context, c *promapi.Client, p *extract.Plan, minGap time.Duration) (*gaps.Index, error) {
	ix := gaps.New(p.From, p.To, minGap)
	mint, maxt := p.From-ix.Margin(), p.To+ix.Margin()
	seen := map[uint64]bool{}
	for _, sel := range p.Selectors {
		err := c.QueryMatrix(ctx, fmt.Sprintf("%s[%dms]", sel, maxt-mint), maxt-1, func(s extract.Series) error {
			// Two selectors may match one series; index it once.
			if h := s.Labels.Hash(); !seen[h] {
				seen[h] = true
				// The series is the reader's until the call returns.
				s = extract.Series{Labels: s.Labels, Samples: slices.Clone(s.Samples), Histograms: slices.Clone(s.Histograms)}
				s.Normalize(mint, maxt)
				ix.Add(s)
			}
			return nil
		})
		if err != nil {
			return nil, &QueryError{sel, err}
		}
	}
	return ix, nil
}

// BucketIndex is BlocksIndex of the blocks of o's stream in a bucket,
// copied for the time (see CopyStream).
func BucketIndex(ctx context.Context, o bucket.Options, p *extract.Plan, minGap time.Duration) (*gaps.Index, error) {
	margin := gaps.New(p.From, p.To, minGap).Margin()
	dir, done, err := CopyStream(ctx, o, p.From-margin, p.To+margin)
	if err != nil {
		return nil, err
	}
	defer done()
	return BlocksIndex(dir, p, minGap)
}

// CopyStream downloads the blocks of o's stream that overlap [mint, maxt)
// into a directory of its own in o.TmpDir, to be read as a data directory;
// done removes it. The bucket is only read.
func CopyStream(ctx context.Context, o bucket.Options, mint, maxt int64) (dir string, done func(), err error) {
	tmp, err := bucket.MakeStage(o.TmpDir, "promrecover-read-")
	if err != nil {
		return "", nil, err
	}
	done = func() { _ = os.RemoveAll(tmp) }
	dir = filepath.Join(tmp, "blocks")
	if err := bucket.Download(ctx, o, mint, maxt, dir); err != nil {
		done()
		return "", nil, err
	}
	return dir, done, nil
}
