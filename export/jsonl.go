package export

import (
	"bufio"
	"encoding/json"
	"io"

	"github.com/promrecover/promrecover/extract"
)

// WriteJSONL writes series as JSON Lines: one object a line per series,
// {"metric":{...},"values":[[<unix seconds>,"<value>"],...],"histograms":
// [...]}, exactly an element of a matrix answer's "result" (a Stream), so
// that each line reads back with prometheus/common/model (stale markers
// aside, see Stream). Series without samples are left out. Nothing is held
// but the line being written, so the series may come from anywhere; see
// JSONLWriter to write them one at a time.
func WriteJSONL(w io.Writer, series []extract.Series) error {
	jw := NewJSONLWriter(w)
	for _, s := range series {
		if err := jw.Write(s); err != nil {
			return err
		}
	}
	return jw.Flush()
}

// JSONLWriter writes series one line each, as WriteJSONL does.
type JSONLWriter struct {
	bw *bufio.Writer
}

// NewJSONLWriter returns a writer of JSON Lines to w; call Flush at the end.
func NewJSONLWriter(w io.Writer) *JSONLWriter { return &JSONLWriter{bw: bufio.NewWriter(w)} }

// Write writes one series as one line; a series without samples writes
// nothing.
func (j *JSONLWriter) Write(s extract.Series) error {
	if s.Len() == 0 {
		return nil
	}
	line, err := json.Marshal(NewStream(s))
	if err != nil {
		return err
	}
	if _, err := j.bw.Write(line); err != nil {
		return err
	}
	return j.bw.WriteByte('\n')
}

// Flush writes out what is buffered.
func (j *JSONLWriter) Flush() error { return j.bw.Flush() }
