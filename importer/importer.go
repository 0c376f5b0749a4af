// Package importer is import's pipeline: it tells the file's format
// (format/promjson, format/jsonl or format/openmetrics, whose readers read
// it), routes each series into its 2h windows and hands them to an
// extract.Sink window by window, the way a recovery does.
//
// Reading is one pass over the input. OpenMetrics text lists each series'
// samples together, so only the series being read is held in memory (and,
// in the sink, each window's block in the making, compressed): when the next
// series starts, the finished one is cut into its 2h windows and each part
// goes to the sink, which appends it to that window's block at once. The
// JSON formats are read a series at a time too. The windows are finished
// (Done) when the whole input has been read without error; an input that is
// malformed anywhere gets every window discarded, so no block of it is
// installed.
//
// A series must arrive at most once per window: each series' samples for a
// window must be together in the file. Files grouped by series (exporters,
// promtool-style generators, export's JSON) and files grouped by time range
// and then by series both qualify; a file that comes back to a series in a
// window it already gave samples for is refused with the line where that
// happens, since honouring it would mean holding the whole file in memory.
package importer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/jsonl"
)

// Format is the kind of input file.
type Format string

const (
	// Auto tells the formats apart by the first non-blank byte: '{' is
	// JSON, anything else OpenMetrics; JSON whose first object starts with
	// the key "metric" (or "values") is JSON Lines, one series a line.
	Auto        Format = ""
	JSON        Format = "json"
	JSONL       Format = "jsonl"
	OpenMetrics Format = "openmetrics"
)

// ParseFormat reads the name of a format; "" is Auto.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case Auto, JSON, JSONL, OpenMetrics:
		return Format(s), nil
	}
	return Auto, fmt.Errorf("unknown format %q: use json, jsonl or openmetrics (or leave it out to detect it)", s)
}

// Sane sample times: from the Unix epoch to the start of 2100. Anything else
// in a recovery file is a unit mistake (milliseconds written where
// OpenMetrics wants seconds) or garbage, and would make a block far from the
// data.
const (
	MinTime int64 = 0             // 1970-01-01T00:00:00Z, in ms
	MaxTime int64 = 4102444800000 // 2100-01-01T00:00:00Z, in ms
)

// Result is what an import read and what became of each window: the
// extract.Result of a recovery (windows in time order, with Err set for a
// window whose block could not be finished), plus the input's format and,
// for OpenMetrics and JSON Lines, its number of lines.
type Result struct {
	extract.Result
	Format Format
	Lines  int64
}

// Options tune Import.
type Options struct {
	Format Format
	// chunkSize is how many bytes of OpenMetrics text are parsed at a time;
	// tests make it small to put chunk boundaries everywhere.
	chunkSize int
}

// Import reads every series in r and feeds them to sink. It returns an error,
// having discarded every window, when the input is malformed, breaks the
// rules above, or the sink refuses a series: nothing of such an input is
// installed. Once the input has been read whole every window is finished;
// a window the sink fails to finish is reported in its WindowResult.Err.
func Import(ctx context.Context, r io.Reader, opts Options, sink extract.Sink) (*Result, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	format := opts.Format
	if format == Auto {
		var err error
		if format, err = detect(br); err != nil {
			return nil, err
		}
	}
	rt := newRouter(ctx, sink)
	res := &Result{Format: format}
	var err error
	switch format {
	case JSON:
		err = readJSON(br, rt)
	case JSONL:
		res.Lines, err = readJSONL(ctx, br, rt)
	case OpenMetrics:
		res.Lines, err = readOpenMetrics(ctx, br, opts.chunkSize, rt)
	default:
		err = fmt.Errorf("unknown format %q", format)
	}
	if cerr := rt.close(err == nil); errors.Is(err, errSinkFailed) {
		err = cerr // the reader stopped because of it
	} else {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		rt.discard()
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		rt.discard()
		return nil, fmt.Errorf("interrupted before any block was written: %w", err)
	}
	res.Result = rt.finish(ctx)
	return res, nil
}

// detect peeks at the first byte that is not white space.
func detect(br *bufio.Reader) (Format, error) {
	for n := 1; n <= br.Size(); n++ {
		b, err := br.Peek(n)
		if len(b) < n {
			if errors.Is(err, io.EOF) {
				return Auto, errors.New("the input is empty: want Prometheus matrix JSON (from promrecover export) or OpenMetrics text ending in # EOF")
			}
			return Auto, err
		}
		switch b[n-1] {
		case ' ', '\t', '\n', '\r':
			continue
		case '{':
			// The first key is near; Peek returns less at the end of the input.
			head, _ := br.Peek(min(n-1+4096, br.Size()))
			if jsonl.IsJSONL(head[n-1:]) {
				return JSONL, nil
			}
			return JSON, nil
		}
		return OpenMetrics, nil
	}
	return OpenMetrics, nil
}
