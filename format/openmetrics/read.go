package openmetrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/model/value"

	"github.com/promrecover/promrecover/extract"
)

// defaultChunkSize is how much text is read at a time. promtool maps the
// whole file and parses it once per 2h block range; here the file streams
// through one buffer of this size, so memory does not grow with the file.
const defaultChunkSize = 1 << 20

// ReadOptions tune Read.
type ReadOptions struct {
	// MinTime and MaxTime bound the sample times, [MinTime, MaxTime) in
	// ms: a sample outside is an error naming its line, with a hint when
	// it looks like milliseconds written for seconds.
	MinTime, MaxTime int64
	// ChunkSize is how many bytes are parsed at a time (default 1 MiB);
	// tests make it small to put chunk boundaries everywhere.
	ChunkSize int
}

// AddFunc takes a series' run of lines: its labels, its samples (valid only
// during the call) and the run's first line.
type AddFunc func(lset labels.Labels, samples []extract.Sample, line int64) error

// Read reads OpenMetrics text as promtool does, with Prometheus's
// own parser (model/textparse), so that a file means to import what it means
// to promtool: labels (including the parser's rewriting of le and quantile
// values to OpenMetrics's canonical form), timestamps (seconds, multiplied by
// 1000 and truncated to milliseconds) and values (every NaN is Prometheus's
// normal NaN: a stale marker cannot be written in OpenMetrics text). It
// returns the number of lines read.
//
// One hand-written hot path sits in front of the parser, see sampleLine.
// An error of add is returned as it is.
func Read(ctx context.Context, r io.Reader, opts ReadOptions, add AddFunc) (int64, error) {
	chunkSize := opts.ChunkSize
	if chunkSize <= 0 {
		chunkSize = defaultChunkSize
	}
	c := &chunker{r: r, buf: make([]byte, chunkSize)}
	lp := &lineParser{min: opts.MinTime, max: opts.MaxTime}
	var (
		line int64 // the line being read, from 1
		cur  omSeries
	)
	for {
		if err := ctx.Err(); err != nil {
			return line, fmt.Errorf("interrupted at line %d: %w", line+1, err)
		}
		data, last, err := c.next()
		if err != nil {
			return line, fmt.Errorf("line %d: read: %w", line+1, err)
		}
		for len(data) > 0 {
			line++
			var ln []byte
			if nl := bytes.IndexByte(data, '\n'); nl >= 0 {
				ln, data = data[:nl+1], data[nl+1:]
			} else {
				ln, data = data, nil // the input's last line, without a line break
			}
			if smp, ok := cur.sampleLine(ln); ok {
				if smp.T < opts.MinTime || smp.T >= opts.MaxTime {
					return line, timeError(line, cur.lset, smp.T, opts.MinTime, opts.MaxTime)
				}
				cur.samples = append(cur.samples, smp)
				continue
			}
			if string(ln) == "# EOF\n" || string(ln) == "# EOF" {
				if len(data) > 0 || !last {
					return line, fmt.Errorf("line %d: '# EOF' must be the last line, and more follows it", line)
				}
				return line, cur.flush(add)
			}
			if ln[len(ln)-1] != '\n' {
				return line, fmt.Errorf("line %d: the input ends in the middle of this line, without the closing '# EOF' line that OpenMetrics requires (was it cut short?)", line)
			}
			if err := lp.parse(ln, line, &cur, add); err != nil {
				return line, err
			}
		}
		if last {
			return line, fmt.Errorf("line %d: the input ends without the closing '# EOF' line that OpenMetrics requires (was it cut short?)", line+1)
		}
	}
}

// lineParser runs Prometheus's parser on one line at a time: every line that
// does not simply repeat the series before it (HELP, TYPE and UNIT lines, the
// first line of each series, anything unusual).
type lineParser struct {
	buf      []byte
	mtype    model.MetricType // of the last TYPE line
	min, max int64            // the sample times allowed, [min, max)
}

func (lp *lineParser) parse(ln []byte, line int64, cur *omSeries, add AddFunc) error {
	// The parser's only state from line to line that matters to what it
	// returns is the type of the last TYPE line (it rewrites le="1" to
	// le="1.0" in histograms, and quantiles in summaries). It is restored
	// with that TYPE line in front, under a placeholder name: the parser
	// does not match family names against series names. The "# EOF" after
	// the line makes it a whole OpenMetrics text.
	lp.buf = lp.buf[:0]
	if lp.mtype != "" {
		lp.buf = append(append(append(lp.buf, "# TYPE x "...), lp.mtype...), '\n')
	}
	lp.buf = append(append(lp.buf, ln...), "# EOF\n"...)
	p := textparse.NewOpenMetricsParser(lp.buf, nil)
	if lp.mtype != "" {
		if et, err := p.Next(); et != textparse.EntryType || err != nil {
			return fmt.Errorf("line %d: internal error restoring the metric type %q: %v", line, lp.mtype, err)
		}
	}
	et, err := p.Next()
	if err != nil {
		return parseError(line, err)
	}
	switch et {
	case textparse.EntrySeries:
		sb, ts, v := p.Series()
		if err := cur.start(p, sb, line, add); err != nil {
			return err
		}
		if ts == nil {
			return fmt.Errorf("line %d: the sample of %s has no timestamp; every sample to import needs one (seconds since the epoch, as promtool wants)", line, cur.lset)
		}
		if *ts < lp.min || *ts >= lp.max {
			return timeError(line, cur.lset, *ts, lp.min, lp.max)
		}
		cur.samples = append(cur.samples, extract.Sample{T: *ts, V: v})
	case textparse.EntryType:
		_, lp.mtype = p.Type()
	case textparse.EntryHistogram:
		return fmt.Errorf("line %d: native histograms cannot be imported", line)
	}
	if _, err := p.Next(); !errors.Is(err, io.EOF) {
		return parseError(line, fmt.Errorf("more than one entry on the line: %v", err))
	}
	return nil
}

// omSeries is the series being read: the run of lines with its name and
// labels.
type omSeries struct {
	raw     []byte // the series text (name and labels) of the run's last line
	lset    labels.Labels
	line    int64 // the run's first line
	samples []extract.Sample
}

// sampleLine reads a line that repeats the series text of the line before,
// "<series text> <value> <timestamp>\n", without Prometheus's parser; ok is
// false for any other line, which then goes to the parser.
//
// This is the one hand-written hot path. A profile of import (pprof, bench/
// import.sh's input: 1.92M lines, 2,000 series) put 52% of all CPU in the
// parser's Next, lexing the same labels again on every line of a series;
// this path costs a fraction of that. It takes only lines that the parser
// reads as exactly this series with a value token and a timestamp token
// (the lexer's " [^ \n]+" twice, then the line break), and reads those tokens
// as the parser does: textparse's parseFloat (no 'p', 'P' or '_', then
// strconv.ParseFloat), NaN made Prometheus's normal NaN, the timestamp's
// seconds times 1000 truncated to an int64. Whatever it does not take (an
// exemplar, a malformed number, a NaN or infinite timestamp, a missing
// timestamp) the parser reads, or rejects with its own error.
func (s *omSeries) sampleLine(ln []byte) (extract.Sample, bool) {
	n := len(s.raw)
	if n == 0 || len(ln) < n+5 || ln[len(ln)-1] != '\n' || ln[n] != ' ' || !bytes.Equal(ln[:n], s.raw) {
		return extract.Sample{}, false
	}
	rest := ln[n+1 : len(ln)-1]
	sp := bytes.IndexByte(rest, ' ')
	if sp <= 0 || sp == len(rest)-1 {
		return extract.Sample{}, false
	}
	vb, tb := rest[:sp], rest[sp+1:]
	if bytes.IndexByte(tb, ' ') >= 0 {
		return extract.Sample{}, false
	}
	v, ok := parseFloat(vb)
	if !ok {
		return extract.Sample{}, false
	}
	ts, ok := parseFloat(tb)
	if !ok || math.IsNaN(ts) || math.IsInf(ts, 0) {
		return extract.Sample{}, false
	}
	if math.IsNaN(v) {
		v = math.Float64frombits(value.NormalNaN)
	}
	return extract.Sample{T: int64(ts * 1000), V: v}, true
}

// parseFloat is textparse's parseFloat on bytes.
func parseFloat(b []byte) (float64, bool) {
	for _, c := range b {
		if c == 'p' || c == 'P' || c == '_' {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	return f, err == nil
}

// start handles a line the parser read: either the same series written
// another way (labels in another order, an empty label), or a new series,
// which ends the run.
func (s *omSeries) start(p textparse.Parser, sb []byte, line int64, add AddFunc) error {
	l, err := parsedLabels(p, sb)
	if err != nil {
		return fmt.Errorf("line %d: %w", line, err)
	}
	l = l.WithoutEmpty()
	s.raw = append(s.raw[:0], sb...)
	if len(s.samples) > 0 && labels.Equal(l, s.lset) {
		return nil
	}
	if err := s.flush(add); err != nil {
		return err
	}
	s.lset, s.line = l, line
	return nil
}

// parsedLabels gives the labels of the series the parser read, once
// extract.CheckLabels passes them (the parser itself refuses a value that
// is not UTF-8, not a name). The parser builds them itself, and a label
// set panics on a string over extract.MaxLabelBytes: that panic, and only
// it, becomes the series' error.
func parsedLabels(p textparse.Parser, sb []byte) (l labels.Labels, err error) {
	defer func() {
		if r := recover(); r != nil {
			if msg, ok := r.(string); !ok || !strings.Contains(msg, "too long to encode") {
				panic(r)
			}
			err = &extract.LabelError{Series: fmt.Sprintf("%.64s... (%d bytes)", sb, len(sb)),
				Reason: fmt.Sprintf("a label name or value is over the %d MiB a TSDB label can hold", extract.MaxLabelBytes>>20)}
		}
	}()
	p.Labels(&l)
	check := make([]extract.ReadLabel, 0, l.Len())
	l.Range(func(lb labels.Label) { check = append(check, extract.ReadLabel{Label: lb}) })
	return l, extract.CheckLabels(check)
}

func (s *omSeries) flush(add AddFunc) error {
	if len(s.samples) == 0 {
		return nil
	}
	err := add(s.lset, s.samples, s.line)
	s.samples = s.samples[:0]
	return err
}

func parseError(line int64, err error) error {
	if strings.Contains(err.Error(), "data does not end with # EOF") {
		// The line was cut short of its end, e.g. HELP without text.
		return fmt.Errorf("line %d: the line ends early: %w", line, err)
	}
	return fmt.Errorf("line %d: %w", line, err)
}

func timeError(line int64, lset labels.Labels, t, minTime, maxTime int64) error {
	hint := ""
	if t >= maxTime && t/1000 >= minTime && t/1000 < maxTime {
		hint = "; it looks like milliseconds, and OpenMetrics timestamps are seconds"
	}
	return fmt.Errorf("line %d: the sample of %s is at %d ms, outside %s..%s%s",
		line, lset, t, time.UnixMilli(minTime).UTC().Format("2006"), time.UnixMilli(maxTime).UTC().Format("2006"), hint)
}

// chunker cuts the input into chunks of whole lines; only the last chunk may
// end without a line break.
type chunker struct {
	r     io.Reader
	buf   []byte
	carry []byte // the partial line after the previous chunk
	eof   bool
}

// next returns the next chunk, and whether it is the last. A chunk that is
// not the last is followed by at least one more byte of input, so that one
// ending in "# EOF" is known to have more after it. The bytes are valid
// until the following call.
func (c *chunker) next() ([]byte, bool, error) {
	n := copy(c.buf, c.carry)
	for {
		for !c.eof && n < len(c.buf) {
			m, err := c.r.Read(c.buf[n:])
			n += m
			if errors.Is(err, io.EOF) {
				c.eof = true
			} else if err != nil {
				return nil, false, err
			}
		}
		data := c.buf[:n]
		if c.eof {
			c.carry = c.carry[:0]
			return data, true, nil
		}
		// Cut after the last line break before the final byte.
		if cut := bytes.LastIndexByte(data[:n-1], '\n'); cut >= 0 {
			c.carry = append(c.carry[:0], data[cut+1:]...)
			return data[:cut+1], false, nil
		}
		// A line longer than the buffer: make room for it.
		bigger := make([]byte, 2*len(c.buf))
		copy(bigger, data)
		c.buf = bigger
	}
}
