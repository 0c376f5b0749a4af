package bucket

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	kitlog "github.com/go-kit/log"
	"github.com/thanos-io/objstore"
)

// Download copies the blocks of o's stream (its external labels) that
// overlap [mint, maxt) from the bucket into dir, which it makes, for reading
// as a data directory; the bucket is only read. Without external labels in
// a bucket whose blocks have them, it refuses as NewSink does: the stream
// meant is not known.
func Download(ctx context.Context, o Options, mint, maxt int64, dir string) error {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	metas, err := ReadMetas(ctx, o.Bucket)
	if err != nil {
		return readError(o, err)
	}
	if err := checkLabels(o.Labels, metas, o.Location); err != nil {
		return err
	}
	return fetchStream(ctx, o, metas, func(m Meta) bool { return m.MaxTime > mint && m.MinTime < maxt }, dir)
}

// fetchStream downloads the blocks of metas of o's stream that pick takes
// into dir, which it makes. Blocks of other streams are left alone: Thanos
// never merges them with this one's.
func fetchStream(ctx context.Context, o Options, metas []Meta, pick func(Meta) bool, dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	for _, m := range metas {
		if !pick(m) || !sameStream(m.Labels, o.Labels) {
			continue
		}
		o.Log.Info("reading a block of the stream in the bucket", "block", m.ULID)
		if err := objstore.DownloadDir(ctx, kitlog.NewNopLogger(), o.Bucket, m.ULID, m.ULID, filepath.Join(dir, m.ULID)); err != nil {
			return fmt.Errorf("the bucket %s: downloading block %s: %w", o.Location, m.ULID, err)
		}
	}
	return nil
}
