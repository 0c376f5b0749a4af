package textfile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/promrecover/promrecover/export"
)

// readJSONL reads JSON Lines as `promrecover export --format jsonl` writes
// them: one matrix element a line, {"metric":{...},"values":[[<unix
// seconds>,"<value>"],...],"histograms":[...]}, decoded like the matrix
// JSON. Only one line is held at a time. Blank lines are skipped. It
// returns the number of lines read.
func readJSONL(ctx context.Context, r io.Reader, rt *router) (int64, error) {
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
		var st export.Stream
		if err := json.Unmarshal(ln, &st); err != nil {
			return line, jsonlError(line, ln, err)
		}
		at := location{line: line}
		if st.Metric == nil {
			return line, fmt.Errorf(`%s: not a series: want {"metric":{...},"values":[[<unix seconds>,"<value>"],...]} as promrecover export --format jsonl writes it`, at)
		}
		if err := addStream(rt, &st, at); err != nil {
			return line, err
		}
	}
}

// jsonlError says where on the line a decoding error is.
func jsonlError(line int64, ln []byte, err error) error {
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

// jsonKind tells matrix JSON from JSON Lines by the first key of the first
// object: "metric" or "values" start a series (JSON Lines); anything else,
// "status" in particular, is taken for the API's envelope.
func jsonKind(head []byte) Format {
	dec := json.NewDecoder(bytes.NewReader(head))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return JSON
	}
	tok, err := dec.Token()
	if err != nil {
		return JSON
	}
	switch tok {
	case "metric", "values":
		return JSONL
	}
	return JSON
}
