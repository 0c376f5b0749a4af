package seriestest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"
)

// Block writes into dir a block of one sample that ends at maxTime (epoch
// ms, exclusive, as meta.json has it), as a Prometheus data directory holds
// one, and returns its ULID.
func Block(t testing.TB, dir string, maxTime int64) string {
	t.Helper()
	w, err := tsdb.NewBlockWriter(slog.New(slog.DiscardHandler), dir, tsdb.DefaultBlockDuration)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	app := w.Appender(context.Background())
	if _, err := app.Append(0, labels.FromStrings("__name__", "older"), maxTime-1, 1); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	id, err := w.Flush(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}
