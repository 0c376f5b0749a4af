package bucket

import (
	"slices"
	"strings"
	"testing"

	"github.com/promrecover/promrecover/extract"
)

func TestSecrets(t *testing.T) {
	cases := []struct {
		name, conf string
		want, not  []string
	}{
		{name: "S3", conf: "type: S3\nconfig:\n  bucket: b\n  access_key: AKIDEXAMPLE\n  secret_key: wJalrXUtnFEMI\n  session_token: tok-123456\n  endpoint: s3.example.com\n",
			want: []string{"AKIDEXAMPLE", "wJalrXUtnFEMI", "tok-123456"}, not: []string{"b", "s3.example.com", "S3"}},
		{name: "GCS service account, its key on its own lines", conf: "type: GCS\nconfig:\n  bucket: b\n  service_account: |-\n    {\n      \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n\"\n    }\n",
			want: []string{`"private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"`}, not: []string{"b"}},
		{name: "Azure", conf: "type: AZURE\nconfig:\n  storage_account: acct\n  storage_account_key: c2VjcmV0a2V5\n  container: c\n",
			want: []string{"c2VjcmV0a2V5"}, not: []string{"acct", "c"}},
		{name: "nested http_config", conf: "type: S3\nconfig:\n  http_config:\n    tls_config:\n      key_file: /etc/key.pem\n  sse_config:\n    kms_encryption_context: {a: b}\n",
			want: []string{"/etc/key.pem"}},
		{name: "does not parse: every long value", conf: "type: S3\nconfig:\n  secret_key: [unclosed-secret-value\n",
			want: []string{"[unclosed-secret-value"}},
	}
	for _, c := range cases {
		got := Secrets([]byte(c.conf))
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("%s: Secrets = %q, want %q among them", c.name, got, w)
			}
		}
		for _, n := range c.not {
			if slices.Contains(got, n) {
				t.Errorf("%s: Secrets = %q, holds %q, which is no credential", c.name, got, n)
			}
		}
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		conf, prefix string
		location     string
		err          string
	}{
		{conf: "type: FILESYSTEM\nconfig:\n  directory: " + dir, location: "filesystem://" + dir},
		{conf: "type: filesystem\nconfig:\n  directory: " + dir + "\nprefix: /a/", prefix: "tenant/", location: "filesystem://" + dir + "/a/tenant"},
		{conf: "type: S3\nconfig:\n  bucket: blocks\n  endpoint: 127.0.0.1:9\n  insecure: true", prefix: "fake", location: "s3://blocks/fake"},
		{conf: "config: {}", err: "has no type"},
		{conf: "type: S3\nconfig: {bucket: b}\nprefx: a", err: "does not parse"},
		{conf: "type: NFS", err: "not supported"},
	}
	for _, c := range cases {
		tg, err := Open([]byte(c.conf), c.prefix)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !extract.IsUsage(err)):
			t.Errorf("Open(%q): %v, want a usage error with %q", c.conf, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("Open(%q): %v", c.conf, err)
		case c.err == "" && tg.Location != c.location:
			t.Errorf("Open(%q).Location = %q, want %q", c.conf, tg.Location, c.location)
		}
	}
}
