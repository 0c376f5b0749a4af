package grafana

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/format/promjson"
	"github.com/promrecover/promrecover/grafana/frames"
)

// A body cut short or not JSON at all is worth another try, whichever
// decoder read it; a well-formed body that makes no sense is not. The frame
// decoder's errors are those of its TestDecodeErrorKinds, the kinds its
// bodies are checked to give.
func TestDecodeFailure(t *testing.T) {
	decode := func(body string) error { return frames.Decode(strings.NewReader(body), &sampleCounter{}) }
	var v struct{}
	jsonErr := json.Unmarshal([]byte(`{x`), &v)
	for _, tc := range []struct {
		name  string
		err   error
		retry bool
	}{
		{"frames: not JSON", decode(`<html>`), true},
		{"frames: garbage after the body", decode(`{"results":{"A":{"frames":[]}}x}`), true},
		{"frames: a bad number", decode(`{"results":{"A":{"frames":[{"data":{"values":[[1,2],[1,2.]]}}]}}}`), true},
		{"frames: cut in a column", decode(`{"results":{"A":{"frames":[{"data":{"values":[[1],[1`), true},
		{"frames: cut after a frame", decode(`{"results":{"A":{"frames":[{"data":{"values":[[1],[1]]}`), true},
		{"frames: makes no sense", decode(`{"results":{"A":{"frames":[{"data":{"values":5}}]}}}`), false},
		{"a wrapped *frames.SyntaxError", fmt.Errorf("refId A: %w", &frames.SyntaxError{Msg: "invalid character", Offset: 3}), true},
		{"a wrapped *promjson.SyntaxError", fmt.Errorf("proxy: %w", promjsonSyntax()), true},
		{"a wrapped io.ErrUnexpectedEOF", fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), true},
		{"io.EOF", io.EOF, true},
		{"encoding/json: not JSON", jsonErr, true},
		{"anything else", errors.New("the body has no \"results\" member"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("no error to judge")
			}
			var rq *retryQuery
			if retry := errors.As(decodeFailure(tc.err), &rq); retry != tc.retry {
				t.Errorf("retry %v for %v", retry, tc.err)
			}
			if !errors.Is(decodeFailure(tc.err), tc.err) {
				t.Errorf("%v lost its error", decodeFailure(tc.err))
			}
		})
	}
}

// sampleCounter is a frames.Handler that counts the samples it is given.
type sampleCounter struct{ samples int }

func (c *sampleCounter) Series(_ string, s extract.Series) error {
	c.samples += len(s.Samples)
	return nil
}

func (c *sampleCounter) Result(*frames.Result) error { return nil }

// promjsonSyntax is the error the proxy's decoder gives for a body that is
// not JSON.
func promjsonSyntax() error {
	_, err := promjson.Read(strings.NewReader(`<html>`), func(extract.Series) error { return nil })
	var se *promjson.SyntaxError
	if !errors.As(err, &se) {
		panic(fmt.Sprintf("promjson.Read of a page that is not JSON: %v, not a *promjson.SyntaxError", err))
	}
	return err
}
