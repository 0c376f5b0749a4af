// Package openmetrics is the OpenMetrics text that promtool tsdb
// create-blocks-from openmetrics reads: Write writes it so that promtool
// and import read back exactly what was written, and Read reads it as
// promtool does, with Prometheus's own parser.
package openmetrics

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
)

// Write writes series as the OpenMetrics text that promtool tsdb
// create-blocks-from openmetrics reads, and promrecover import with it:
//
//	# TYPE up unknown
//	up{instance="a:9100",job="node"} 1 1722470400.123
//	...
//	# EOF
//
// Series are grouped by metric name, each name under one "# TYPE name
// unknown" line (unknown, so that the parser leaves le and quantile values
// as they are), each series' lines together. Timestamps are seconds with
// millisecond precision; a fourth decimal is added in the rare case where
// the parser's seconds x 1000, truncated, would otherwise land a millisecond
// early. Values are written exactly (shortest round-trip form), NaN, +Inf
// and -Inf as OpenMetrics spells them; a stale marker cannot be told from
// NaN in OpenMetrics and is written as NaN. Label values escape \, " and
// line breaks; names that are not legacy Prometheus names are quoted, as
// OpenMetrics 1.0 with UTF-8 names allows. Series without samples are left
// out; a series without a metric name is an error, since OpenMetrics has
// no way to write it, and so is a series with native histograms (a
// *HistogramsError), rather than leave them out unsaid.
func Write(w io.Writer, series []extract.Series) error {
	order := make([]int, 0, len(series))
	for i, s := range series {
		if len(s.Histograms) > 0 {
			return &HistogramsError{Labels: s.Labels}
		}
		if len(s.Samples) == 0 {
			continue
		}
		if s.Labels.Get(model.MetricNameLabel) == "" {
			return fmt.Errorf("series %s has no metric name, which OpenMetrics text cannot carry", s.Labels)
		}
		order = append(order, i)
	}
	slices.SortStableFunc(order, func(a, b int) int {
		la, lb := series[a].Labels, series[b].Labels
		return cmp.Or(strings.Compare(la.Get(model.MetricNameLabel), lb.Get(model.MetricNameLabel)), labels.Compare(la, lb))
	})
	bw := bufio.NewWriter(w)
	var (
		family string
		buf    []byte
	)
	for _, i := range order {
		s := series[i]
		name := s.Labels.Get(model.MetricNameLabel)
		if name != family || buf == nil {
			family = name
			buf = append(append(append(buf[:0], "# TYPE "...), metricName(name)...), " unknown\n"...)
			if _, err := bw.Write(buf); err != nil {
				return err
			}
		}
		head := seriesText(s.Labels)
		for _, smp := range s.Samples {
			buf = append(buf[:0], head...)
			buf = append(buf, ' ')
			buf = appendValue(buf, smp.V)
			buf = append(buf, ' ')
			var err error
			if buf, err = appendTimestamp(buf, smp.T); err != nil {
				return fmt.Errorf("series %s: %w", s.Labels, err)
			}
			buf = append(buf, '\n')
			if _, err := bw.Write(buf); err != nil {
				return err
			}
		}
	}
	if _, err := bw.WriteString("# EOF\n"); err != nil {
		return err
	}
	return bw.Flush()
}

// HistogramsError is a series with native histograms, which OpenMetrics
// text cannot carry; the caller says which format would.
type HistogramsError struct{ Labels labels.Labels }

func (e *HistogramsError) Error() string {
	return fmt.Sprintf("series %s holds native histograms, which OpenMetrics text cannot carry", e.Labels)
}

// seriesText is `name{label="value",...}`, or the name alone without
// labels. A name that is not a legacy metric name goes inside the braces,
// quoted: `{"name",label="value"}`.
func seriesText(l labels.Labels) []byte {
	name := l.Get(model.MetricNameLabel)
	var b []byte
	quoted := !legacyName(name, true)
	if !quoted {
		b = append(b, name...)
	}
	first := true
	open := func() {
		if first {
			b = append(b, '{')
			first = false
		} else {
			b = append(b, ',')
		}
	}
	if quoted {
		open()
		b = appendQuoted(b, name)
	}
	l.Range(func(lb labels.Label) {
		if lb.Name == model.MetricNameLabel {
			return
		}
		open()
		if legacyName(lb.Name, false) {
			b = append(b, lb.Name...)
		} else {
			b = appendQuoted(b, lb.Name)
		}
		b = append(b, '=')
		b = appendQuoted(b, lb.Value)
	})
	if !first {
		b = append(b, '}')
	}
	return b
}

// metricName is the name as a TYPE line gives it.
func metricName(name string) string {
	if legacyName(name, true) {
		return name
	}
	return string(appendQuoted(nil, name))
}

// legacyName tells whether s is a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)
// or, without colons, a label name, as written without quotes.
func legacyName(s string, colons bool) bool {
	if s == "" {
		return false
	}
	for i, c := range []byte(s) {
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || colons && c == ':' || i > 0 && c >= '0' && c <= '9'
		if !ok {
			return false
		}
	}
	return true
}

// appendQuoted quotes s as OpenMetrics does: only \, " and the line break
// are escaped (\\, \", \n); everything else, UTF-8 included, is as is.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// appendValue writes a float as OpenMetrics does: NaN, +Inf, -Inf, or the
// shortest text that parses back to the same bits (-0 included).
func appendValue(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendTimestamp writes a millisecond time as seconds with three decimals,
// checked against how Prometheus's parser reads it back (the float times
// 1000, truncated toward zero); when that is a millisecond off, a fourth
// decimal of 1 (a tenth of a millisecond away from zero) puts it right.
func appendTimestamp(b []byte, ms int64) ([]byte, error) {
	start := len(b)
	abs := uint64(ms)
	if ms < 0 {
		b = append(b, '-')
		abs = uint64(-ms)
	}
	b = strconv.AppendUint(b, abs/1000, 10)
	b = append(b, '.', byte('0'+abs%1000/100), byte('0'+abs%100/10), byte('0'+abs%10))
	if readsAs(b[start:]) == ms {
		return b, nil
	}
	b = append(b, '1')
	if readsAs(b[start:]) == ms {
		return b, nil
	}
	return b[:start], errors.New("timestamp " + strconv.FormatInt(ms, 10) + " ms cannot be written exactly in seconds")
}

// readsAs is the millisecond time Prometheus's OpenMetrics parser reads
// from seconds.
func readsAs(sec []byte) int64 {
	f, err := strconv.ParseFloat(string(sec), 64)
	if err != nil {
		return math.MinInt64
	}
	return int64(f * 1000)
}
