package export

import (
	"bytes"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

func TestWriterFor(t *testing.T) {
	series := []extract.Series{{Labels: labels.FromStrings("__name__", "up"), Samples: []extract.Sample{{T: 1754186400000, V: 1}}}}
	for name, want := range map[string]string{
		"json":        `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up"},"values":[[1754186400,"1"]]}]}}`,
		"jsonl":       `{"metric":{"__name__":"up"},"values":[[1754186400,"1"]]}`,
		"openmetrics": "# TYPE up unknown\nup 1 1754186400.000\n# EOF",
	} {
		w, ok := WriterFor(name)
		if !ok {
			t.Fatalf("no writer for %s", name)
		}
		var b bytes.Buffer
		if err := w(&b, series); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(b.String()); got != want {
			t.Errorf("%s:\n%s\nwant\n%s", name, got, want)
		}
	}
	if _, ok := WriterFor("csv"); ok {
		t.Error("a writer for csv")
	}
}
