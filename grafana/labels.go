package grafana

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/prometheus/prometheus/model/labels"
)

// Label lookups through the datasource's resources: Grafana forwards
// /api/datasources/uid/UID/resources/api/v1/... to Prometheus and returns its
// JSON. The splitter uses them to find the metric names and label values a
// selector covers.

// promLabels is Prometheus's answer to a labels or label values lookup.
type promLabels struct {
	Status    string   `json:"status"`
	Data      []string `json:"data"`
	ErrorType string   `json:"errorType"`
	Error     string   `json:"error"`
}

// LabelNames lists the label names of the series that match selector and
// have samples in [from, to] (epoch ms).
func (c *Client) LabelNames(ctx context.Context, ds Datasource, selector string, from, to int64) ([]string, error) {
	return c.labelLookup(ctx, ds, "labels", selector, from, to)
}

// LabelValues lists the values of label name among the series that match
// selector and have samples in [from, to] (epoch ms).
func (c *Client) LabelValues(ctx context.Context, ds Datasource, name, selector string, from, to int64) ([]string, error) {
	return c.labelLookup(ctx, ds, "label/"+url.PathEscape(name)+"/values", selector, from, to)
}

func (c *Client) labelLookup(ctx context.Context, ds Datasource, endpoint, selector string, from, to int64) ([]string, error) {
	q := url.Values{}
	q.Set("match[]", selector)
	q.Set("start", promTime(from))
	q.Set("end", promTime(to))
	path := "/api/datasources/uid/" + url.PathEscape(ds.UID) + "/resources/api/v1/" + endpoint + "?" + q.Encode()
	var ans promLabels
	if err := c.call(ctx, http.MethodGet, path, nil, nil, decodeJSON(&ans)); err != nil {
		return nil, err
	}
	if ans.Status != "success" {
		return nil, fmt.Errorf("GET %s: Prometheus answered %q: %s: %s", path, ans.Status, ans.ErrorType, ans.Error)
	}
	return ans.Data, nil
}

// Series lists the label sets of the series that match any of selectors and
// have samples in [from, to] (epoch ms), through Prometheus's /api/v1/series.
// The answer holds every label set, so it is for counting a selection before
// fetching it, one metric at a time, not for listing a whole datasource.
func (c *Client) Series(ctx context.Context, ds Datasource, selectors []string, from, to int64) ([]labels.Labels, error) {
	q := url.Values{}
	for _, s := range selectors {
		q.Add("match[]", s)
	}
	q.Set("start", promTime(from))
	q.Set("end", promTime(to))
	path := "/api/datasources/uid/" + url.PathEscape(ds.UID) + "/resources/api/v1/series?" + q.Encode()
	var ans struct {
		Status    string              `json:"status"`
		Data      []map[string]string `json:"data"`
		ErrorType string              `json:"errorType"`
		Error     string              `json:"error"`
	}
	if err := c.call(ctx, http.MethodGet, path, nil, nil, decodeJSON(&ans)); err != nil {
		return nil, err
	}
	if ans.Status != "success" {
		return nil, fmt.Errorf("GET %s: Prometheus answered %q: %s: %s", path, ans.Status, ans.ErrorType, ans.Error)
	}
	out := make([]labels.Labels, len(ans.Data))
	for i, m := range ans.Data {
		out[i] = labels.FromMap(m)
	}
	return out, nil
}

// promTime writes epoch ms as the unix seconds Prometheus's API reads.
func promTime(ms int64) string {
	return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)
}
