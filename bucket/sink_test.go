package bucket

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/thanos-io/objstore"
	"github.com/thanos-io/objstore/providers/filesystem"

	"github.com/promrecover/promrecover/blocks"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/seriestest"
)

var base = (int64(1_700_000_000_000) / extract.WindowMs) * extract.WindowMs

func win(i int64) extract.Window {
	return extract.Window{Start: base + i*extract.WindowMs, End: base + (i+1)*extract.WindowMs}
}

func someSeries(w extract.Window, job string) []extract.Series {
	var out []extract.Series
	for i := range 3 {
		s := extract.Series{Labels: labels.FromStrings("__name__", "up", "job", job, "i", string(rune('a'+i)))}
		for t := w.Start; t < w.End; t += 15_000 {
			s.Samples = append(s.Samples, extract.Sample{T: t, V: float64(t%1000) + float64(i)})
		}
		out = append(out, s)
	}
	return out
}

// fsBucket is objstore's FILESYSTEM provider on a fresh directory.
func fsBucket(t *testing.T) (objstore.Bucket, string) {
	t.Helper()
	dir := t.TempDir()
	bkt, err := filesystem.NewBucket(dir)
	if err != nil {
		t.Fatal(err)
	}
	return bkt, dir
}

func newSink(t *testing.T, bkt objstore.Bucket, ls Labels) *Sink {
	t.Helper()
	s, err := NewSink(context.Background(), Options{Bucket: bkt, Location: "fs", Labels: ls, TmpDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSinkUploadsVerifiedBlocks(t *testing.T) {
	ctx := context.Background()
	bkt, root := fsBucket(t)
	s := newSink(t, bkt, Labels{"cluster": "eu1", "replica": "a"})
	want := someSeries(win(0), "api")
	for i := range int64(2) {
		ss := someSeries(win(i), "api")
		if i > 0 {
			for j := range want {
				want[j].Samples = append(want[j].Samples, ss[j].Samples...)
			}
		}
		if err := s.Add(ctx, win(i), ss); err != nil {
			t.Fatal(err)
		}
		if err := s.Done(ctx, win(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Done(ctx, win(5), nil); err != nil {
		t.Fatalf("an empty window: %v", err)
	}
	got := s.Blocks()
	if len(got) != 2 {
		t.Fatalf("uploaded %d blocks, want 2", len(got))
	}
	for _, b := range got {
		if b.Dir != "fs/"+b.ULID {
			t.Errorf("block dir %q", b.Dir)
		}
		checkThanosMeta(t, filepath.Join(root, b.ULID), Labels{"cluster": "eu1", "replica": "a"})
	}
	// The bucket's root is laid out as a data directory: read it back.
	read, err := blocks.ReadSeries(root, win(0).Start, win(2).End)
	if err != nil {
		t.Fatal(err)
	}
	seriestest.Same(t, want, read)
	if left, err := blocks.List(s.StageDir()); err != nil || len(left) > 0 {
		t.Errorf("local copies left after the upload: %v %v", left, err)
	}
}

// checkThanosMeta reads dir/meta.json as Thanos does and compares its files
// with the directory.
func checkThanosMeta(t *testing.T, dir string, ls Labels) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m meta
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	th := m.Thanos
	if th == nil || th.Source != Source || th.Downsample.Resolution != 0 || th.Version != 1 || Labels(th.Labels).String() != ls.String() {
		t.Fatalf("thanos section %+v", th)
	}
	var names []string
	for _, f := range th.Files {
		names = append(names, f.RelPath)
		if f.RelPath == "meta.json" {
			continue
		}
		fi, err := os.Stat(filepath.Join(dir, f.RelPath))
		if err != nil || fi.Size() != f.SizeBytes {
			t.Errorf("%s: listed with %d bytes: %v %v", f.RelPath, f.SizeBytes, fi, err)
		}
	}
	if !slices.Equal(names, []string{"chunks/000001", "index", "meta.json"}) {
		t.Errorf("files %v", names)
	}
	if _, err := os.Stat(filepath.Join(dir, "tombstones")); err == nil {
		t.Error("tombstones uploaded; Thanos's shipper leaves them out")
	}
}

// recording is a real bucket that notes, at each upload, whether the block's
// meta.json was already there.
type recording struct {
	objstore.Bucket
	mu      sync.Mutex
	names   []string
	visible []bool
	fail    func(name string) error
}

func (r *recording) Upload(ctx context.Context, name string, rd io.Reader, opts ...objstore.ObjectUploadOption) error {
	id, _, _ := strings.Cut(name, "/")
	seen, _ := r.Bucket.Exists(ctx, id+"/meta.json")
	r.mu.Lock()
	r.names, r.visible = append(r.names, name), append(r.visible, seen)
	r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(name); err != nil {
			return err
		}
	}
	return r.Bucket.Upload(ctx, name, rd, opts...)
}

func TestMetaJSONGoesLast(t *testing.T) {
	ctx := context.Background()
	fs, _ := fsBucket(t)
	bkt := &recording{Bucket: fs}
	s := newSink(t, bkt, nil)
	if err := s.Add(ctx, win(0), someSeries(win(0), "api")); err != nil {
		t.Fatal(err)
	}
	if err := s.Done(ctx, win(0), nil); err != nil {
		t.Fatal(err)
	}
	id := s.Blocks()[0].ULID
	want := []string{id + "/chunks/000001", id + "/index", id + "/meta.json"}
	if !slices.Equal(bkt.names, want) {
		t.Fatalf("uploaded %v, want %v", bkt.names, want)
	}
	if slices.Contains(bkt.visible, true) {
		t.Errorf("meta.json was in the bucket before the block's last upload: %v", bkt.visible)
	}
}

func TestFailedUploadLeavesNoVisibleBlock(t *testing.T) {
	ctx := context.Background()
	fs, root := fsBucket(t)
	broken := errors.New("connection reset by peer")
	bkt := &recording{Bucket: fs, fail: func(name string) error {
		if strings.HasSuffix(name, "/index") {
			return broken
		}
		return nil
	}}
	s := newSink(t, bkt, nil)
	var recorded []string
	s.OnInstall = func(b blocks.Block) error { recorded = append(recorded, b.ULID); return nil }
	if err := s.Add(ctx, win(0), someSeries(win(0), "api")); err != nil {
		t.Fatal(err)
	}
	err := s.Done(ctx, win(0), nil)
	if !errors.Is(err, broken) {
		t.Fatalf("Done: %v, want the upload's error", err)
	}
	if len(s.Blocks()) != 0 {
		t.Errorf("a failed upload counted as installed: %v", s.Blocks())
	}
	metas, err := ReadMetas(ctx, fs)
	if err != nil || len(metas) != 0 {
		t.Errorf("visible blocks after a failed upload: %v %v", metas, err)
	}
	if len(recorded) != 1 {
		t.Fatalf("recorded %v before the upload, want the block", recorded)
	}
	if _, err := os.Stat(filepath.Join(root, recorded[0], "meta.json")); err == nil {
		t.Error("meta.json of a half-uploaded block")
	}
}

func TestUploadRefusesAnExistingULID(t *testing.T) {
	ctx := context.Background()
	bkt, root := fsBucket(t)
	local, err := blocks.NewSink(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	if err := local.Add(ctx, win(0), someSeries(win(0), "api")); err != nil {
		t.Fatal(err)
	}
	if err := local.Done(ctx, win(0), nil); err != nil {
		t.Fatal(err)
	}
	b := local.Blocks()[0]
	if err := upload(ctx, bkt, b.Dir, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(root, b.ULID, "meta.json"))
	err = upload(ctx, bkt, b.Dir, Labels{"cluster": "other"})
	if !errors.Is(err, errExists) {
		t.Fatalf("second upload: %v, want %v", err, errExists)
	}
	after, _ := os.ReadFile(filepath.Join(root, b.ULID, "meta.json"))
	if string(before) != string(after) {
		t.Error("the block's meta.json was written over")
	}
}

func TestDeniedUploadAborts(t *testing.T) {
	ctx := context.Background()
	fs, _ := fsBucket(t)
	bkt := &recording{Bucket: fs, fail: func(string) error { return os.ErrPermission }}
	s := newSink(t, bkt, nil)
	if err := s.Add(ctx, win(0), someSeries(win(0), "api")); err != nil {
		t.Fatal(err)
	}
	err := s.Done(ctx, win(0), nil)
	var ae *extract.AbortError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "refused the upload") {
		t.Fatalf("Done: %v, want an abort that says the bucket refused", err)
	}
}

func TestExternalLabelsAgainstTheBucket(t *testing.T) {
	cases := []struct {
		name     string
		existing []Labels
		given    Labels
		refused  string // in the error; "" when accepted
	}{
		{name: "empty bucket", given: nil},
		{name: "blocks without labels", existing: []Labels{nil}, given: nil},
		{name: "labelled blocks, none given", existing: []Labels{{"cluster": "eu1", "replica": "a"}, {"cluster": "eu1", "replica": "b"}}, refused: `{cluster="eu1", replica="a"} {cluster="eu1", replica="b"}`},
		{name: "labelled blocks, labels given", existing: []Labels{{"cluster": "eu1"}}, given: Labels{"cluster": "eu1"}},
		{name: "only Mimir's own labels", existing: []Labels{{"__compactor_shard_id__": "1_of_2"}}, given: nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			bkt, _ := fsBucket(t)
			for i, ls := range c.existing {
				s := newSink(t, bkt, ls)
				if err := s.Add(ctx, win(int64(i)), someSeries(win(int64(i)), "api")); err != nil {
					t.Fatal(err)
				}
				if err := s.Done(ctx, win(int64(i)), nil); err != nil {
					t.Fatal(err)
				}
			}
			_, err := NewSink(ctx, Options{Bucket: bkt, Location: "fs", Labels: c.given, TmpDir: t.TempDir()})
			switch {
			case c.refused == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.refused != "" && (err == nil || !strings.Contains(err.Error(), c.refused) || !extract.IsUsage(err)):
				t.Fatalf("NewSink: %v, want a usage error naming %s", err, c.refused)
			}
		})
	}
}

func TestWarnsOfANewStream(t *testing.T) {
	ctx := context.Background()
	bkt, _ := fsBucket(t)
	s := newSink(t, bkt, Labels{"cluster": "eu1", "__org_id__": "x"})
	if err := s.Add(ctx, win(0), someSeries(win(0), "api")); err != nil {
		t.Fatal(err)
	}
	if err := s.Done(ctx, win(0), nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		given Labels
		warn  bool
	}{{Labels{"cluster": "eu1"}, false}, {Labels{"cluster": "eu-1"}, true}} {
		var logged strings.Builder
		log := slog.New(slog.NewTextHandler(&logged, nil))
		s, err := NewSink(ctx, Options{Bucket: bkt, Location: "fs", Labels: c.given, TmpDir: t.TempDir(), Log: log})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		if got := strings.Contains(logged.String(), "start a stream of their own"); got != c.warn {
			t.Errorf("labels %s: warned %v, want %v:\n%s", c.given, got, c.warn, logged.String())
		}
	}
}

func TestParseLabels(t *testing.T) {
	cases := []struct {
		in   []string
		want string
		err  string
	}{
		{in: nil, want: "{}"},
		{in: []string{"cluster=eu1", "replica=a", "cluster=eu1"}, want: `{cluster="eu1", replica="a"}`},
		{in: []string{"cluster"}, err: "write NAME=VALUE"},
		{in: []string{"cluster="}, err: "empty value"},
		{in: []string{"__name__=x"}, err: "not a label name"},
		{in: []string{"a=1", "a=2"}, err: "given twice"},
	}
	for _, c := range cases {
		ls, err := ParseLabels(c.in)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !extract.IsUsage(err)):
			t.Errorf("ParseLabels(%q): %v, want a usage error with %q", c.in, err, c.err)
		case c.err == "" && (err != nil || ls.String() != c.want):
			t.Errorf("ParseLabels(%q) = %s, %v; want %s", c.in, ls, err, c.want)
		}
	}
}

func TestInstalledCountsCompactedBlocks(t *testing.T) {
	metas := []Meta{{ULID: "C", Sources: []string{"C", "A", "B"}}, {ULID: "D", Sources: []string{"D"}}}
	got := Installed(metas, []string{"A", "D", "E"})
	if !got["A"] || !got["D"] || got["E"] {
		t.Errorf("Installed = %v", got)
	}
}
