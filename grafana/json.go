package grafana

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/promrecover/promrecover/format/promjson"
	"github.com/promrecover/promrecover/grafana/frames"
)

func decodeJSON(v any) func(int, io.Reader) error {
	return func(status int, body io.Reader) error {
		if err := json.NewDecoder(body).Decode(v); err != nil {
			return decodeFailure(fmt.Errorf("decoding the answer: %w", err))
		}
		return nil
	}
}

// decodeFailure marks a body that ended early or is not JSON at all as worth
// another try (a proxy cut it, the connection dropped); a body that is
// well-formed but says something impossible would fail the same way again.
// encoding/json reports a body that is not JSON as *json.SyntaxError, the
// /api/ds/query decoder as *frames.SyntaxError, promjson as *promjson.SyntaxError.
func decodeFailure(err error) error {
	var se *json.SyntaxError
	var dse *frames.SyntaxError
	var pse *promjson.SyntaxError
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.As(err, &se) || errors.As(err, &dse) || errors.As(err, &pse) {
		return &retryQuery{err}
	}
	return err
}
