package blocks

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/promrecover/promrecover/extract"
)

// The installed-block record is short: the directory, which only repeats
// the ULID under the data directory, comes at debug level only.
func TestInstalledBlockRecord(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		var buf bytes.Buffer
		dir := t.TempDir()
		s, err := NewSink(dir, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level})))
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
		var line string
		for _, l := range strings.Split(buf.String(), "\n") {
			if strings.Contains(l, `msg="installed block"`) {
				line = l
			}
		}
		want := " window=" + w.String() + " ulid=" + s.installed[0].ULID + " samples=1"
		if level == slog.LevelDebug {
			want += " dir=" + s.installed[0].Dir
		}
		if !strings.HasSuffix(line, want) {
			t.Errorf("at %s: %q, want it to end %q", level, line, want)
		}
	}
}
