package bucket

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/tsdb"
	"github.com/thanos-io/objstore"
)

// Source is the thanos.source of the blocks: what `thanos tools bucket
// upload-blocks` records for blocks put into a bucket by hand, which these
// are too.
const Source = "bucket.upload"

// thanosMeta is the section Thanos adds to a block's meta.json (its
// pkg/block/metadata.Thanos, which objstore does not carry).
type thanosMeta struct {
	Version    int               `json:"version"`
	Labels     map[string]string `json:"labels"`
	Downsample struct {
		Resolution int64 `json:"resolution"`
	} `json:"downsample"`
	Source string `json:"source"`
	// Files lets Thanos's store size the block without a request a file.
	Files []file `json:"files,omitempty"`
}

type file struct {
	RelPath   string `json:"rel_path"`
	SizeBytes int64  `json:"size_bytes,omitempty"`
}

type meta struct {
	tsdb.BlockMeta
	Thanos *thanosMeta `json:"thanos,omitempty"`
}

// objectError is an object the bucket did not store; Err is the provider's
// own error, which its IsAccessDeniedErr understands.
type objectError struct {
	Name string
	Err  error
}

func (e *objectError) Error() string { return "upload " + e.Name + ": " + e.Err.Error() }
func (e *objectError) Unwrap() error { return e.Err }

// upload puts the block in dir into bkt under its ULID: its chunks and index,
// checked there, then meta.json with Thanos's section, the object that makes
// the block visible. The tombstones file stays out, as Thanos's shipper
// leaves it: a block just written has none.
func upload(ctx context.Context, bkt objstore.Bucket, dir string, labels Labels) error {
	id := filepath.Base(dir)
	files, err := dataFiles(dir)
	if err != nil {
		return err
	}
	raw, err := thanosMetaJSON(dir, files, labels)
	if err != nil {
		return err
	}
	if err := checkAbsent(ctx, bkt, id); err != nil {
		return err
	}
	want := map[string]int64{}
	for _, f := range files {
		name := path.Join(id, f.RelPath)
		if err := uploadFile(ctx, bkt, filepath.Join(dir, filepath.FromSlash(f.RelPath)), name); err != nil {
			return err
		}
		want[name] = f.SizeBytes
	}
	if err := checkStored(ctx, bkt, id, want); err != nil {
		return err
	}
	metaName := path.Join(id, "meta.json")
	if err := bkt.Upload(ctx, metaName, bytes.NewReader(raw)); err != nil {
		return &objectError{Name: metaName, Err: err}
	}
	want[metaName] = int64(len(raw))
	return checkStored(ctx, bkt, id, want)
}

// dataFiles lists the block's chunk segments and index, with their sizes,
// sorted by path as Thanos sorts them.
func dataFiles(dir string) ([]file, error) {
	var out []file
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel != "index" && !strings.HasPrefix(rel, "chunks/") {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, file{RelPath: rel, SizeBytes: fi.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the block %s: %w", dir, err)
	}
	slices.SortFunc(out, func(a, b file) int { return strings.Compare(a.RelPath, b.RelPath) })
	return out, nil
}

// thanosMetaJSON is the block's meta.json with Thanos's section: the external
// labels of the stream, raw resolution, the source and the files.
func thanosMetaJSON(dir string, files []file, labels Labels) ([]byte, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return nil, err
	}
	var m meta
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, "meta.json"), err)
	}
	t := &thanosMeta{Version: 1, Labels: map[string]string(labels.Clone()), Source: Source}
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	t.Files = append(slices.Clone(files), file{RelPath: "meta.json"})
	slices.SortFunc(t.Files, func(a, b file) int { return strings.Compare(a.RelPath, b.RelPath) })
	m.Thanos = t
	return json.MarshalIndent(m, "", "\t")
}

func uploadFile(ctx context.Context, bkt objstore.Bucket, src, name string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := bkt.Upload(ctx, name, f); err != nil {
		return &objectError{Name: name, Err: err}
	}
	return nil
}

// errExists is a block directory already in the bucket. ULIDs are unique, so
// it means something is badly wrong; it is never written over.
var errExists = errors.New("the bucket already holds objects under this block's ULID; not writing over them")

func checkAbsent(ctx context.Context, bkt objstore.Bucket, id string) error {
	err := bkt.Iter(ctx, id+"/", func(string) error { return errExists })
	if err != nil && !errors.Is(err, errExists) {
		return &objectError{Name: id + "/", Err: err}
	}
	return err
}

// checkStored compares the objects under id/ with want (names and sizes).
func checkStored(ctx context.Context, bkt objstore.Bucket, id string, want map[string]int64) error {
	var got []string
	err := bkt.Iter(ctx, id+"/", func(name string) error {
		got = append(got, name)
		return nil
	}, objstore.WithRecursiveIter())
	if err != nil {
		return &objectError{Name: id + "/", Err: err}
	}
	for _, name := range got {
		size, ok := want[name]
		if !ok {
			return fmt.Errorf("after the upload the bucket holds %s, which was not uploaded", name)
		}
		attrs, err := bkt.Attributes(ctx, name)
		if err != nil {
			return &objectError{Name: name, Err: err}
		}
		if attrs.Size != size {
			return fmt.Errorf("after the upload %s holds %d bytes in the bucket, not the %d written", name, attrs.Size, size)
		}
	}
	if len(got) != len(want) {
		var missing []string
		for name := range want {
			if !slices.Contains(got, name) {
				missing = append(missing, name)
			}
		}
		slices.Sort(missing)
		return fmt.Errorf("after the upload the bucket lacks %s", strings.Join(missing, ", "))
	}
	return nil
}
