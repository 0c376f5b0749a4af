package promjson

import (
	"bufio"
	"encoding/json"
	"io"

	"github.com/promrecover/promrecover/extract"
)

// Write writes series as {"status":"success","data":{"resultType":
// "matrix","result":[...]}}, each series a Stream, so that the API's clients
// read it back exactly (NaN and ±Inf as strings, ms times, native
// histograms as the API prints them; stale markers aside, see Stream).
func Write(w io.Writer, series []extract.Series) error {
	matrix := make([]*Stream, 0, len(series))
	for _, s := range series {
		matrix = append(matrix, NewStream(s))
	}
	body := struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string    `json:"resultType"`
			Result     []*Stream `json:"result"`
		} `json:"data"`
	}{Status: "success"}
	body.Data.ResultType = "matrix"
	body.Data.Result = matrix
	bw := bufio.NewWriter(w)
	if err := json.NewEncoder(bw).Encode(body); err != nil {
		return err
	}
	return bw.Flush()
}
