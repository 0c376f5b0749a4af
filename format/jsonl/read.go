package jsonl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/promjson"
)

// NotSeriesError is a line of JSON that is no series, such as the matrix
// document's envelope.
type NotSeriesError struct{ Line int64 }

func (e *NotSeriesError) Error() string {
	return fmt.Sprintf(`line %d: not a series: want {"metric":{...},"values":[[<unix seconds>,"<value>"],...]}`, e.Line)
}

// Read reads JSON Lines as Write writes them: one matrix element a line,
// {"metric":{...},"values":[[<unix seconds>,"<value>"],...],"histograms":
// [...]}, each a promjson.Stream, handed to add with its line. Only one line
// is held at a time. Blank lines are skipped. It returns the number of lines
// read; an error of add is returned as it is.
func Read(ctx context.Context, r io.Reader, add func(s extract.Series, line int64) error) (int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var line int64
	for {
		if err := ctx.Err(); err != nil {
			return line, fmt.Errorf("interrupted at line %d: %w", line+1, err)
		}
		ln, err := br.ReadBytes('\n')
		if len(ln) == 0 && errors.Is(err, io.EOF) {
			return line, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return line, fmt.Errorf("line %d: read: %w", line+1, err)
		}
		line++
		if len(bytes.TrimSpace(ln)) == 0 {
			continue
		}
		var st promjson.Stream
		if err := json.Unmarshal(ln, &st); err != nil {
			return line, lineError(line, ln, err)
		}
		if st.Metric == nil {
			return line, &NotSeriesError{Line: line}
		}
		s, err := st.Series(!utf8.Valid(ln))
		if err != nil {
			return line, fmt.Errorf("line %d: %w", line, err)
		}
		if err := add(s, line); err != nil {
			return line, err
		}
	}
}

// lineError says where on the line a decoding error is.
func lineError(line int64, ln []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("line %d, column %d: not a valid JSON Lines series: %w", line, se.Offset, err)
	case errors.As(err, &te):
		return fmt.Errorf("line %d, column %d: not a valid JSON Lines series: %w", line, te.Offset, err)
	}
	if len(bytes.TrimSpace(ln)) > 0 && bytes.TrimSpace(ln)[0] != '{' {
		return fmt.Errorf("line %d: not a valid JSON Lines series (each line is one JSON object): %w", line, err)
	}
	return fmt.Errorf("line %d: not a valid JSON Lines series: %w", line, err)
}

// IsJSONL tells JSON Lines from the matrix JSON by the first key of the
// first object of head: "metric" or "values" start a series (JSON Lines);
// anything else, "status" in particular, is taken for the API's envelope.
func IsJSONL(head []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(head))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	tok, err := dec.Token()
	if err != nil {
		return false
	}
	return tok == "metric" || tok == "values"
}
