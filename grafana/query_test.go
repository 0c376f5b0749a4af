package grafana

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/grafana/frames"
)

func TestBuildQuery(t *testing.T) {
	ds := Datasource{UID: "prom", Type: "prometheus"}
	w := extract.Window{Start: 7_200_000, End: 14_400_000}
	cases := []struct {
		name             string
		unit             extract.Unit
		ok               bool
		from, to, expr   string
		interval         string
		instant, rangeQ  bool
		intervalMs, maxD int64
	}{
		{
			name: "raw: a range selector one ms longer than the unit, at its end",
			unit: extract.Unit{Window: w, From: w.Start, To: w.End, Selector: `{job="a"}`},
			ok:   true, from: "7200000", to: "14400000", expr: `{job="a"}[7200001ms]`,
			instant: true, intervalMs: 1000, maxD: 11000,
		},
		{
			name: "step: ends already on the step stay, the end itself is left out",
			unit: extract.Unit{Window: w, From: w.Start, To: w.End, Selector: "up", Step: 15 * time.Second},
			ok:   true, from: "7200000", to: "14385000", expr: "up", interval: "15s",
			rangeQ: true, intervalMs: 15000, maxD: 11000,
		},
		{
			name: "step: unaligned ends move inside the unit",
			unit: extract.Unit{Window: w, From: w.Start + 7_000, To: w.Start + 60_001, Selector: "up", Step: 15 * time.Second},
			ok:   true, from: "7215000", to: "7260000", expr: "up", interval: "15s",
			rangeQ: true, intervalMs: 15000, maxD: 11000,
		},
		{
			name: "step: sub-second steps in ms",
			unit: extract.Unit{Window: w, From: w.Start, To: w.Start + 10_000, Selector: "up", Step: 1500 * time.Millisecond},
			ok:   true, from: "7200000", to: "7209000", expr: "up", interval: "1500ms",
			rangeQ: true, intervalMs: 1500, maxD: 11000,
		},
		{
			name: "step: a unit with no step multiple inside asks nothing",
			unit: extract.Unit{Window: w, From: w.Start + 1, To: w.Start + 14_999, Selector: "up", Step: 15 * time.Second},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, ok := buildQuery(ds, tc.unit)
			if ok != tc.ok {
				t.Fatalf("ok = %v", ok)
			}
			if !ok {
				return
			}
			q := req.Queries[0]
			if req.From != tc.from || req.To != tc.to || q.Expr != tc.expr || q.Interval != tc.interval ||
				q.Instant != tc.instant || q.Range != tc.rangeQ || q.IntervalMs != tc.intervalMs || q.MaxDataPoints != tc.maxD {
				t.Errorf("got %+v %+v", req, q)
			}
			if q.Format != "time_series" || q.Datasource.UID != "prom" || q.RefID != "A" {
				t.Errorf("query %+v", q)
			}
		})
	}
}

func TestCheckStep(t *testing.T) {
	cases := []struct {
		executed string
		want     time.Duration
		errPart  string
	}{
		{"Expr: up\nStep: 15s", 15 * time.Second, ""},
		{"Expr: up\nStep: 1m30s", 90 * time.Second, ""},
		{"Expr: up\nStep: 1.5s", 1500 * time.Millisecond, ""},
		{"Expr: up\nStep: 1m0s", 15 * time.Second, "not the 15s asked for"},
		{"", 15 * time.Second, "did not report the step"},
		{"Expr: up\nStep: soon", 15 * time.Second, "cannot read the step"},
	}
	for _, tc := range cases {
		err := checkStep(tc.executed, tc.want)
		if (err == nil) != (tc.errPart == "") || (err != nil && !strings.Contains(err.Error(), tc.errPart)) {
			t.Errorf("checkStep(%q, %s) = %v, want error containing %q", tc.executed, tc.want, err, tc.errPart)
		}
	}
}

func TestQueryErrorKinds(t *testing.T) {
	cases := []struct {
		msg       string
		status    int
		retryable bool
		hint      string
	}{
		{"unexpected response with status code 429: too many outstanding requests", 500, true, ""},
		{"unexpected response with status code 502: bad gateway", 500, true, ""},
		{"server_error: server error: 503", 503, true, ""},
		{"execution: query timed out in expression evaluation", 422, true, ""},
		{"execution: the query exceeded the maximum number of chunks (err-mimir-max-chunks-per-query)", 422, false, "too big"},
		{"execution: expanding series: the query exceeded the maximum number of series (limit: 3 series) (err-mimir-max-series-per-query). To adjust the related per-tenant limit, configure -querier.max-fetched-series-per-query, or contact your service administrator.", 422, false, "too big"},
		{"execution: query processing would load too many samples into memory in query execution", 422, false, "too big"},
		{"execution: the query exceeded the aggregated chunks size limit (limit: 1 bytes) (err-mimir-max-fetched-chunk-bytes-per-query)", 422, false, "too big"},
		{"bad_data: exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)", 400, false, "too big"},
		{"bad_data: parse error: unexpected end of input", 400, false, ""},
	}
	for _, tc := range cases {
		err := queryError("up", &frames.Result{Status: tc.status, Error: tc.msg})
		var rq *retryQuery
		if errors.As(err, &rq) != tc.retryable {
			t.Errorf("%q: retryable = %v", tc.msg, !tc.retryable)
		}
		if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), tc.hint) {
			t.Errorf("%q: error %q lacks the message or hint %q", tc.msg, err, tc.hint)
		}
	}
}
