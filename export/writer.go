package export

import (
	"io"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/jsonl"
	"github.com/promrecover/promrecover/format/openmetrics"
	"github.com/promrecover/promrecover/format/promjson"
)

// A Writer writes a matrix's series in one format.
type Writer func(io.Writer, []extract.Series) error

// WriterFor is the writer of the format called name (json, jsonl or
// openmetrics: those import reads back), and whether there is one.
func WriterFor(name string) (Writer, bool) {
	w, ok := map[string]Writer{"json": promjson.Write, "jsonl": jsonl.Write, "openmetrics": openmetrics.Write}[name]
	return w, ok
}
