package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/promrecover/promrecover/bucket"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/recovery"
)

// bucketFlags say which object-storage bucket the blocks go to, instead of
// --out.
type bucketFlags struct {
	configFile, config, prefix string
	labels                     []string
	tmpDir                     string
}

func (f *bucketFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.configFile, "objstore.config-file", "", "upload the blocks into the bucket this file configures, in Thanos's format (type: S3|GCS|AZURE|FILESYSTEM|..., config: {...}, prefix), instead of --out")
	fs.StringVar(&f.config, "objstore.config", "", "the bucket configuration itself, as YAML (instead of --objstore.config-file)")
	fs.StringVar(&f.prefix, "objstore.prefix", "", "put the blocks under this prefix of the bucket, below the configuration's own: the tenant for Cortex and Mimir")
	fs.StringArrayVar(&f.labels, "external-label", nil, "NAME=VALUE: an external label of the stream the blocks join, as that Prometheus's external_labels or the sidecar give them (repeatable); Thanos deduplicates and compacts blocks only with blocks of the same external labels")
	fs.StringVar(&f.tmpDir, "tmp-dir", "", "with a bucket: where each block is built and verified before its upload (default: the system's temporary directory)")
}

// registerRead registers the flags that read the blocks of a stream in a
// bucket, for gaps.
func (f *bucketFlags) registerRead(fs *pflag.FlagSet) {
	fs.StringVar(&f.configFile, "objstore.config-file", "", "read the blocks in the bucket this file configures (read-only), in Thanos's format, instead of --data")
	fs.StringVar(&f.config, "objstore.config", "", "the bucket configuration itself, as YAML (instead of --objstore.config-file)")
	fs.StringVar(&f.prefix, "objstore.prefix", "", "the blocks are under this prefix of the bucket, below the configuration's own: the tenant for Cortex and Mimir")
	fs.StringArrayVar(&f.labels, "external-label", nil, "NAME=VALUE: an external label of the stream whose blocks are read (repeatable); other streams' blocks are left alone")
	fs.StringVar(&f.tmpDir, "tmp-dir", "", "where the stream's blocks are downloaded to be read, and removed after (default: the system's temporary directory)")
}

// copyStream downloads the blocks of the stream the flags name that overlap
// [from, to) (each "" for no bound) into a directory of its own, and says
// where they came from; done removes the copy.
func (f *bucketFlags) copyStream(ctx context.Context, log *slog.Logger, from, to string) (dir, where string, done func(), err error) {
	fromT, toT, err := parseBounds(log, from, to)
	if err != nil {
		return "", "", nil, err
	}
	mint, maxt := int64(math.MinInt64), int64(math.MaxInt64)
	if fromT != nil {
		mint = fromT.UnixMilli()
	}
	if toT != nil {
		maxt = toT.UnixMilli()
	}
	o, _, err := f.options(log)
	if err != nil {
		return "", "", nil, err
	}
	dir, done, err = recovery.CopyStream(ctx, *o, mint, maxt)
	return dir, o.Location, done, err
}

// fillArgs adds the flags naming the bucket to a recover command line.
func (f *bucketFlags) fillArgs(args []string) []string {
	if f.config != "" || f.configFile == "" {
		args = append(args, "--objstore.config-file", "FILE")
	} else {
		args = append(args, "--objstore.config-file", f.configFile)
	}
	if f.prefix != "" {
		args = append(args, "--objstore.prefix", f.prefix)
	}
	for _, l := range f.labels {
		args = append(args, "--external-label", l)
	}
	return args
}

// given says whether a bucket was asked for.
func (f *bucketFlags) given() bool { return f.configFile != "" || f.config != "" }

// apply points j at the bucket, when one was asked for, checking the flags
// against --out first.
func (f *bucketFlags) apply(j *recovery.Job, out, statePath string, log *slog.Logger) error {
	if f.given() && out != "" {
		return usagef("give either --out (a data directory) or --objstore.config-file/--objstore.config (a bucket), not both")
	}
	o, t, err := f.options(log)
	if o == nil || err != nil {
		return err
	}
	if statePath == "" {
		if statePath, err = bucketState(t, j.Shard); err != nil {
			return err
		}
	}
	j.Bucket, j.State.Path = o, statePath
	return nil
}

// options opens the bucket the flags give (nil when none); the credentials
// in its configuration join secrets before anything reads it.
func (f *bucketFlags) options(log *slog.Logger) (*bucket.Options, *bucket.Target, error) {
	switch {
	case !f.given() && (f.prefix != "" || len(f.labels) > 0 || f.tmpDir != ""):
		return nil, nil, usagef("--objstore.prefix, --external-label and --tmp-dir are for a bucket: give --objstore.config-file (or --objstore.config) too")
	case !f.given():
		return nil, nil, nil
	case f.configFile != "" && f.config != "":
		return nil, nil, usagef("give either --objstore.config-file or --objstore.config, not both")
	}
	raw := []byte(f.config)
	if f.configFile != "" {
		var err error
		if raw, err = os.ReadFile(f.configFile); err != nil {
			return nil, nil, usagef("--objstore.config-file: %w", err)
		}
	}
	secrets.Add(bucket.Secrets(raw)...)
	labels, err := bucket.ParseLabels(f.labels)
	if err != nil {
		return nil, nil, err
	}
	t, err := bucket.Open(raw, f.prefix)
	if err != nil {
		return nil, nil, err
	}
	return &bucket.Options{Bucket: t.Bucket, Location: t.Location, Labels: labels, TmpDir: f.tmpDir, Log: log}, t, nil
}

// bucketState is where the resume state of a recovery (or of its shard)
// into t is kept by default: on this machine, in the user's state
// directory, under a name that tells buckets, prefixes and shards apart. The bucket itself would be shared
// with everyone who reads it, and a state may hold a Grafana session.
func bucketState(t *bucket.Target, shard extract.Shard) (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", usagef("no home directory to keep the resume state of a recovery into a bucket in (%w); give --state FILE", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	dir = filepath.Join(dir, "promrecover")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", usagef("the resume state's directory: %w; give --state FILE", err)
	}
	name := "bucket-" + t.Key
	if !shard.Whole() {
		// Each shard is a recovery of its own, and its processes may
		// share this directory.
		name += fmt.Sprintf("-shard-%d-of-%d", shard.I, shard.N)
	}
	return filepath.Join(dir, name+".json"), nil
}
