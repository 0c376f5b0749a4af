package bucket

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/go-kit/log"
	"github.com/thanos-io/objstore"
	"github.com/thanos-io/objstore/client"
	"go.yaml.in/yaml/v3"

	"github.com/promrecover/promrecover/extract"
)

// Target is an opened bucket configuration.
type Target struct {
	Bucket   objstore.Bucket
	Location string // type://name/prefix, for messages
	// Key tells apart buckets and prefixes in the name of a state file
	// kept for them outside the bucket.
	Key string
}

// Open reads a bucket configuration in Thanos's format (type, config and an
// optional prefix) through objstore's client factory; prefix, when given, is
// joined below the configuration's own (a Cortex or Mimir tenant).
func Open(raw []byte, prefix string) (*Target, error) {
	var conf client.BucketConfig
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&conf); err != nil {
		return nil, extract.Usage(extract.ParamErrorf("the bucket configuration does not parse (%w); write it in Thanos's bucket configuration format: type (S3, GCS, AZURE, FILESYSTEM...), config and an optional prefix", err))
	}
	if conf.Type == "" {
		return nil, extract.Usage(extract.ParamErrorf("the bucket configuration has no type; give one of S3, GCS, AZURE, SWIFT, COS, ALIYUNOSS, BOS, FILESYSTEM, OCI, OBS"))
	}
	conf.Prefix = strings.Trim(path.Join(strings.Trim(conf.Prefix, "/"), strings.Trim(prefix, "/")), "/")
	bkt, err := client.NewBucketFromConfig(log.NewNopLogger(), &conf, "promrecover", nil)
	if err != nil {
		return nil, extract.Usage(extract.ParamErrorf("the bucket configuration: %w", err))
	}
	name := strings.TrimPrefix(bkt.Name(), "fs: ")
	loc := strings.ToLower(string(conf.Type)) + "://" + strings.TrimSuffix(name, "/")
	if conf.Prefix != "" {
		loc += "/" + conf.Prefix
	}
	sum := sha256.Sum256([]byte(loc))
	return &Target{Bucket: bkt, Location: loc, Key: hex.EncodeToString(sum[:8])}, nil
}

// Secrets are the values in a bucket configuration that are credentials
// (secret_key, session_token, a GCS service account's JSON, an Azure
// storage account key...), found by their keys' names however the
// configuration nests them, so that they can be kept out of every output
// before the configuration is even read. A configuration that does not
// parse gives its scalar values instead: a parser's error may quote any.
func Secrets(raw []byte) []string {
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return scalars(raw)
	}
	var out []string
	walk(doc, false, &out)
	return out
}

// secretWords mark a key whose value is a credential.
var secretWords = []string{"secret", "password", "token", "key", "credential", "service_account", "signature", "sas"}

func secretKey(k string) bool {
	k = strings.ToLower(k)
	return slices.ContainsFunc(secretWords, func(w string) bool { return strings.Contains(k, w) })
}

func walk(v any, secret bool, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			walk(e, secret || secretKey(k), out)
		}
	case []any:
		for _, e := range v {
			walk(e, secret, out)
		}
	case string:
		if secret && v != "" {
			*out = append(*out, v)
			// A service account's JSON holds its private key on
			// lines of its own, which an error may quote alone.
			for _, line := range strings.Split(v, "\n") {
				if line = strings.TrimSpace(line); len(line) >= 16 {
					*out = append(*out, line)
				}
			}
		}
	case nil:
	default:
		if secret {
			*out = append(*out, fmt.Sprint(v))
		}
	}
}

// scalars are the values of a text's key: value lines, longer than a word.
func scalars(raw []byte) []string {
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		_, v, ok := strings.Cut(line, ":")
		if v = strings.Trim(strings.TrimSpace(v), `"'`); ok && len(v) >= 8 {
			out = append(out, v)
		}
	}
	return out
}
