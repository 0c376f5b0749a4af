package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// The /api/ds/query body as Grafana reads it: dtos.MetricRequest, then each
// query through simplejson (for refId, maxDataPoints, intervalMs and the
// datasource) and through promlib's QueryModel (for everything else).

type metricRequest struct {
	From    string            `json:"from"`
	To      string            `json:"to"`
	Queries []json.RawMessage `json:"queries"`
	Debug   bool              `json:"debug"`
}

// dsQuery is one query after Grafana's parsing, before promlib's.
type dsQuery struct {
	raw           json.RawMessage
	refID         string
	maxDataPoints int64
	interval      time.Duration // backend.DataQuery.Interval
	dsUID         string
	dsID          int64
}

// parseQuery reads the fields Grafana takes with simplejson's Must* getters,
// which fall back to a default whenever a value is missing or of another type.
func parseQuery(raw json.RawMessage) dsQuery {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	_ = dec.Decode(&m) // a query that is not an object reads as empty, as simplejson does
	q := dsQuery{
		raw:           raw,
		refID:         mustString(m["refId"], "A"),
		maxDataPoints: mustInt64(m["maxDataPoints"], 100),
		interval:      time.Duration(mustInt64(m["intervalMs"], 1000)) * time.Millisecond,
		dsID:          mustInt64(m["datasourceId"], 0),
	}
	switch ds := m["datasource"].(type) {
	case map[string]any:
		q.dsUID = mustString(ds["uid"], "")
	case string:
		q.dsUID = ds
	}
	return q
}

func mustString(v any, def string) string {
	if s, ok := v.(string); ok {
		return s
	}
	return def
}

func mustInt64(v any, def int64) int64 {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return i
		}
	}
	return def
}

// promModel mirrors the JSON of promlib's QueryModel. Datasource keeps the
// object type promlib declares, so a query naming its datasource by a bare
// string fails here exactly as it fails in Grafana.
type promModel struct {
	Expr           string         `json:"expr"`
	Format         string         `json:"format,omitempty"`
	Range          bool           `json:"range,omitempty"`
	Instant        bool           `json:"instant,omitempty"`
	Exemplar       bool           `json:"exemplar,omitempty"`
	IntervalFactor int64          `json:"intervalFactor,omitempty"`
	LegendFormat   string         `json:"legendFormat,omitempty"`
	RefID          string         `json:"refId,omitempty"`
	Datasource     *dataSourceRef `json:"datasource,omitempty"`
	DatasourceID   int64          `json:"datasourceId,omitempty"`
	QueryType      string         `json:"queryType,omitempty"`
	MaxDataPoints  int64          `json:"maxDataPoints,omitempty"`
	IntervalMS     float64        `json:"intervalMs,omitempty"`
	Hide           bool           `json:"hide,omitempty"`
	UtcOffsetSec   int64          `json:"utcOffsetSec,omitempty"`
	Interval       string         `json:"interval,omitempty"`
}

type dataSourceRef struct {
	Type       string `json:"type"`
	UID        string `json:"uid,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
}

// parseModel unmarshals as promlib does and words type errors as Grafana's
// would read (its struct is QueryModel, its datasource v0alpha1.DataSourceRef).
func parseModel(raw json.RawMessage) (promModel, error) {
	var m promModel
	err := json.Unmarshal(raw, &m)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return m, errors.New("json: cannot unmarshal " + te.Value + " into Go value of type models.QueryModel")
		}
		typ := te.Type.String()
		if te.Type == reflect.TypeOf(dataSourceRef{}) {
			typ = "v0alpha1.DataSourceRef"
		}
		return m, errors.New("json: cannot unmarshal " + te.Value + " into Go struct field QueryModel." + te.Field + " of type " + typ)
	}
	return m, err
}

// parseTimeRange is legacydata's DataTimeRange: epoch milliseconds, a bare
// duration meaning "that long ago", or datemath such as now-6h. Anything
// else silently becomes 1970-01-01, as in Grafana (MustGetFrom/MustGetTo).
func parseTimeRange(s string, now time.Time, roundUp bool) time.Time {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC()
	}
	if d, err := time.ParseDuration("-" + s); err == nil {
		return now.Add(d).UTC()
	}
	if t, ok := parseDateMath(s, now, roundUp); ok {
		return t.UTC()
	}
	return time.Unix(0, 0).UTC()
}

// parseDateMath covers the datemath Grafana's clients send: an anchor (now,
// or an absolute time followed by ||) and then +N<unit>, -N<unit> or /<unit>
// steps, in UTC.
func parseDateMath(s string, now time.Time, roundUp bool) (time.Time, bool) {
	var t time.Time
	var rest string
	switch {
	case strings.HasPrefix(s, "now"):
		t, rest = now.UTC(), s[len("now"):]
	default:
		anchor := s
		if i := strings.Index(s, "||"); i >= 0 {
			anchor, rest = s[:i], s[i+2:]
		}
		var ok bool
		if t, ok = parseAbsolute(anchor); !ok {
			return time.Time{}, false
		}
	}
	for rest != "" {
		op := rest[0]
		rest = rest[1:]
		switch op {
		case '+', '-':
			i := 0
			for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
				i++
			}
			n := 1
			if i > 0 {
				n, _ = strconv.Atoi(rest[:i])
			}
			unit, tail, ok := cutUnit(rest[i:])
			if !ok {
				return time.Time{}, false
			}
			if op == '-' {
				n = -n
			}
			t, rest = addUnit(t, n, unit), tail
		case '/':
			unit, tail, ok := cutUnit(rest)
			if !ok {
				return time.Time{}, false
			}
			t, rest = truncateUnit(t, unit, roundUp), tail
		default:
			return time.Time{}, false
		}
	}
	return t, true
}

func parseAbsolute(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func cutUnit(s string) (unit, rest string, ok bool) {
	for _, u := range []string{"ms", "y", "M", "w", "d", "h", "H", "m", "s"} {
		if strings.HasPrefix(s, u) {
			return u, s[len(u):], true
		}
	}
	return "", s, false
}

func addUnit(t time.Time, n int, unit string) time.Time {
	switch unit {
	case "y":
		return t.AddDate(n, 0, 0)
	case "M":
		return t.AddDate(0, n, 0)
	case "w":
		return t.AddDate(0, 0, 7*n)
	case "d":
		return t.AddDate(0, 0, n)
	case "h", "H":
		return t.Add(time.Duration(n) * time.Hour)
	case "m":
		return t.Add(time.Duration(n) * time.Minute)
	case "s":
		return t.Add(time.Duration(n) * time.Second)
	}
	return t.Add(time.Duration(n) * time.Millisecond)
}

// truncateUnit rounds down to the start of the unit, or for the end of a
// range to its last millisecond, as Grafana's datemath does for "to".
func truncateUnit(t time.Time, unit string, roundUp bool) time.Time {
	y, mo, d := t.Date()
	var start time.Time
	switch unit {
	case "y":
		start = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	case "M":
		start = time.Date(y, mo, 1, 0, 0, 0, 0, time.UTC)
	case "w":
		start = time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
		start = start.AddDate(0, 0, -int(start.Weekday()-time.Monday+7)%7)
	case "d":
		start = time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
	case "h", "H":
		start = t.Truncate(time.Hour)
	case "m":
		start = t.Truncate(time.Minute)
	case "s":
		start = t.Truncate(time.Second)
	default:
		start = t.Truncate(time.Millisecond)
	}
	if !roundUp {
		return start
	}
	return addUnit(start, 1, unit).Add(-time.Millisecond)
}
