package bucket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/common/model"
	"github.com/thanos-io/objstore"
	"golang.org/x/sync/errgroup"

	"github.com/promrecover/promrecover/extract"
)

// Labels are a stream's external labels, as Thanos's meta.json keeps them.
type Labels map[string]string

// ParseLabels reads NAME=VALUE pairs. A name given twice with different
// values, an invalid name or an empty value is refused: each would give
// the blocks a stream of their own.
func ParseLabels(pairs []string) (Labels, error) {
	ls := Labels{}
	for _, p := range pairs {
		name, value, ok := strings.Cut(p, "=")
		name = strings.TrimSpace(name)
		switch {
		case !ok:
			return nil, extract.Usage(extract.ParamErrorf("the external label %q: write NAME=VALUE, e.g. cluster=eu1", p))
		case !model.UTF8Validation.IsValidLabelName(name) || name == model.MetricNameLabel:
			return nil, extract.Usage(extract.ParamErrorf("the external label %q: %q is not a label name a stream can carry", p, name))
		case value == "":
			return nil, extract.Usage(extract.ParamErrorf("the external label %q: an empty value is no label in Prometheus; give the value the stream's other blocks carry", p))
		}
		if old, dup := ls[name]; dup && old != value {
			return nil, extract.Usage(extract.ParamErrorf("the external label %s is given twice with different values (%q and %q)", name, old, value))
		}
		ls[name] = value
	}
	return ls, nil
}

// Clone copies the labels.
func (ls Labels) Clone() Labels { return maps.Clone(ls) }

// String is the labels as Prometheus writes a label set: {a="1", b="2"}.
func (ls Labels) String() string {
	parts := make([]string, 0, len(ls))
	for _, k := range slices.Sorted(maps.Keys(ls)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, ls[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// Meta is what a block's meta.json in the bucket says of it.
type Meta struct {
	ULID             string
	MinTime, MaxTime int64
	Sources          []string // the blocks compacted into it, itself included
	Labels           Labels
}

// readers bounds the meta.json files read at once.
const readers = 8

// ReadMetas reads the meta.json of every block at the top of bkt. A block
// directory without meta.json is a partial upload, invisible to Thanos, and
// skipped; so are entries that are not blocks (Mimir's bucket index, markers).
func ReadMetas(ctx context.Context, bkt objstore.BucketReader) ([]Meta, error) {
	var ids []string
	err := bkt.Iter(ctx, "", func(name string) error {
		id := strings.TrimSuffix(name, "/")
		if _, err := ulid.ParseStrict(id); err == nil && strings.HasSuffix(name, "/") {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var (
		mu  sync.Mutex
		out []Meta
	)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(readers)
	for _, id := range ids {
		g.Go(func() error {
			m, ok, err := readMeta(ctx, bkt, id)
			if ok {
				mu.Lock()
				out = append(out, m)
				mu.Unlock()
			}
			return err
		})
	}
	err = g.Wait()
	slices.SortFunc(out, func(a, b Meta) int { return strings.Compare(a.ULID, b.ULID) })
	return out, err
}

func readMeta(ctx context.Context, bkt objstore.BucketReader, id string) (Meta, bool, error) {
	name := path.Join(id, "meta.json")
	r, err := bkt.Get(ctx, name)
	if bkt.IsObjNotFoundErr(err) {
		return Meta{}, false, nil
	}
	if err != nil {
		return Meta{}, false, fmt.Errorf("reading %s: %w", name, err)
	}
	defer r.Close()
	raw, err := io.ReadAll(r)
	if err != nil {
		return Meta{}, false, fmt.Errorf("reading %s: %w", name, err)
	}
	var m meta
	if err := json.Unmarshal(raw, &m); err != nil {
		return Meta{}, false, fmt.Errorf("reading %s: %w", name, err)
	}
	out := Meta{ULID: id, MinTime: m.MinTime, MaxTime: m.MaxTime, Sources: []string{id}}
	for _, s := range m.Compaction.Sources {
		out.Sources = append(out.Sources, s.String())
	}
	if m.Thanos != nil {
		out.Labels = m.Thanos.Labels
	}
	return out, true, nil
}

// Installed says which of the blocks ids the bucket holds, as themselves or
// compacted into others.
func Installed(metas []Meta, ids []string) map[string]bool {
	present := map[string]bool{}
	for _, m := range metas {
		for _, s := range m.Sources {
			present[s] = true
		}
	}
	out := map[string]bool{}
	for _, id := range ids {
		out[id] = present[id]
	}
	return out
}

// streamLabels are the label sets of the blocks' streams, without the labels
// Cortex and Mimir add for themselves (__org_id__, __compactor_shard_id__),
// which no user gives.
func streamLabels(metas []Meta) []string {
	var sets []string
	for _, m := range metas {
		ls := own(m.Labels)
		if s := ls.String(); len(ls) > 0 && !slices.Contains(sets, s) {
			sets = append(sets, s)
		}
	}
	slices.Sort(sets)
	return sets
}

// own are the labels of a stream without those Cortex and Mimir add.
func own(ls Labels) Labels {
	out := Labels{}
	for k, v := range ls {
		if !strings.HasPrefix(k, "__") {
			out[k] = v
		}
	}
	return out
}

// sameStream says whether blocks of labels a and b are one stream.
func sameStream(a, b Labels) bool { return maps.Equal(own(a), own(b)) }

// checkLabels refuses blocks without external labels into a bucket whose
// blocks have them: Thanos would neither deduplicate nor compact them with
// any stream there.
func checkLabels(want Labels, metas []Meta, where string) error {
	if len(want) > 0 {
		return nil
	}
	sets := streamLabels(metas)
	if len(sets) == 0 {
		return nil
	}
	more := ""
	if len(sets) > 3 {
		more = fmt.Sprintf(" and %d more", len(sets)-3)
		sets = sets[:3]
	}
	return extract.Usage(extract.ParamErrorf("the bucket %s holds blocks with external labels (%s%s), and no external labels were given: blocks without them form a stream of their own, which Thanos neither deduplicates nor compacts with those; give the external labels of the stream the lost samples belong to (as that Prometheus's external_labels say)",
		where, strings.Join(sets, " "), more))
}

// newStream says, when the bucket's blocks have external labels and none of
// them want's, which label sets they have: the blocks then start a stream of
// their own, which a typo in a label does too.
func newStream(want Labels, metas []Meta) []string {
	sets := streamLabels(metas)
	if len(sets) == 0 || slices.Contains(sets, own(want).String()) {
		return nil
	}
	return sets
}

// denied says whether err is the bucket refusing access.
func denied(bkt objstore.BucketReader, err error) bool {
	var oe *objectError
	if errors.As(err, &oe) {
		err = oe.Err
	}
	return bkt.IsAccessDeniedErr(err) || errors.Is(err, fs.ErrPermission)
}

// readError explains a bucket that could not be listed.
func readError(o Options, err error) error {
	if denied(o.Bucket, err) {
		return extract.Usage(extract.ParamErrorf("the bucket %s: reading it was refused (%w); give credentials that may list, read and write objects there", o.Location, err))
	}
	return extract.ParamErrorf("the bucket %s: listing its blocks: %w; check the bucket configuration (its endpoint, bucket name and credentials)", o.Location, err)
}

// uploadError explains an upload the bucket refused.
func uploadError(o Options, err error) error {
	if denied(o.Bucket, err) {
		return &extract.AbortError{Err: extract.ParamErrorf("the bucket %s refused the upload (%w): nothing of the block is visible; give credentials that may write objects there", o.Location, err)}
	}
	return err
}
