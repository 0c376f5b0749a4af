// Package jsonl is JSON Lines of series: one element of a Prometheus matrix
// answer's "result" (a promjson.Stream) a line, as export writes them in its
// jsonl format and import reads them, one line in memory at a time.
package jsonl

import (
	"bufio"
	"encoding/json"
	"io"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/promjson"
)

// Write writes series as JSON Lines: one object a line per series,
// {"metric":{...},"values":[[<unix seconds>,"<value>"],...],"histograms":
// [...]}, exactly an element of a matrix answer's "result" (a promjson.Stream), so
// that each line reads back with prometheus/common/model (stale markers
// aside, see promjson.Stream). Series without samples are left out. Nothing is held
// but the line being written, so the series may come from anywhere; see
// Writer to write them one at a time.
func Write(w io.Writer, series []extract.Series) error {
	jw := NewWriter(w)
	for _, s := range series {
		if err := jw.Write(s); err != nil {
			return err
		}
	}
	return jw.Flush()
}

// Writer writes series one line each, as Write does.
type Writer struct {
	bw *bufio.Writer
}

// NewWriter returns a writer of JSON Lines to w; call Flush at the end.
func NewWriter(w io.Writer) *Writer { return &Writer{bw: bufio.NewWriter(w)} }

// Write writes one series as one line; a series without samples writes
// nothing.
func (j *Writer) Write(s extract.Series) error {
	if s.Len() == 0 {
		return nil
	}
	line, err := json.Marshal(promjson.NewStream(s))
	if err != nil {
		return err
	}
	if _, err := j.bw.Write(line); err != nil {
		return err
	}
	return j.bw.WriteByte('\n')
}

// Flush writes out what is buffered.
func (j *Writer) Flush() error { return j.bw.Flush() }
