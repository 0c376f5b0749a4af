package blocks

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/logattr"
)

// installedRecord installs one window of one sample through a sink logging
// to handler, and returns the installed-block record and the block.
func installedRecord(t *testing.T, handler func(*bytes.Buffer) slog.Handler) (string, Block) {
	t.Helper()
	var buf bytes.Buffer
	s, err := NewSink(t.TempDir(), slog.New(handler(&buf)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, w := context.Background(), win(5)
	if err := s.Add(ctx, w, []extract.Series{series([]string{"__name__", "x"}, extract.Sample{T: w.Start + 5, V: 1})}); err != nil {
		t.Fatal(err)
	}
	if err := s.Done(ctx, w, nil); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.Contains(l, `"msg":"installed"`) || strings.Contains(l, "msg=installed ") {
			return l, s.installed[0]
		}
	}
	t.Fatalf("no installed-block record in\n%s", buf.String())
	return "", Block{}
}

// The installed-block record is short in text: the window by its start and
// the samples fit 80 columns; the ULID comes at debug level (with the
// directory, which only repeats it under the data directory), and always in
// JSON, where the window is the full range.
func TestInstalledBlockRecord(t *testing.T) {
	w := win(5)
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		line, b := installedRecord(t, func(buf *bytes.Buffer) slog.Handler {
			return slog.NewTextHandler(buf, logattr.Text(&slog.HandlerOptions{Level: level}))
		})
		want := " level=INFO msg=installed window=" + w.String()[:16] + "Z samples=1"
		if level == slog.LevelDebug {
			want += " ulid=" + b.ULID + " dir=" + b.Dir
		}
		if !strings.HasSuffix(line, want) {
			t.Errorf("at %s: %q, want it to end %q", level, line, want)
		}
		// A block of a 2h window of 10,000 series scraped every 15s.
		if level == slog.LevelInfo {
			if full := strings.Replace(line, "samples=1", "samples=4800000", 1); len(full) > 80 {
				t.Errorf("the record is %d columns for a full block:\n%s", len(full), full)
			}
		}
	}
	line, b := installedRecord(t, func(buf *bytes.Buffer) slog.Handler {
		return slog.NewJSONHandler(buf, logattr.JSON(&slog.HandlerOptions{}))
	})
	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["window"] != w.String() || rec["ulid"] != b.ULID || rec["samples"] != 1.0 {
		t.Errorf("JSON record %s, want window %s, ulid %s, samples 1", line, w, b.ULID)
	}
}
