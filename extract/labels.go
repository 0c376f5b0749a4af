package extract

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// MaxLabelBytes is the longest label name or value a TSDB series can hold:
// Prometheus's label sets encode a length in at most 3 bytes, and building
// one with a longer string panics ("String too long to encode as label").
const MaxLabelBytes = 1 << 24

// LabelError is a series whose labels cannot be stored as they came. Every
// reader checks a series' labels with CheckLabels before it builds them, so
// that what no block can hold, or holds other than it came, is refused with
// the series named instead of panicking or being changed silently.
type LabelError struct {
	Series string // the series as read, long values cut short
	Reason string // what is wrong, naming the label
}

func (e *LabelError) Error() string { return "series " + e.Series + ": " + e.Reason }

// Label problems a reader may find while reading a string, before the
// series is whole: they are passed to CheckLabels with the label.
const (
	LabelOK uint8 = iota
	LabelInvalidUTF8
	// LabelTooLong is a value (or name) cut short at MaxLabelBytes+1 bytes
	// while read, so that a huge one is never held whole: its length is
	// in the pair's Size.
	LabelTooLong
)

// ReadLabel is a label as a reader read it, with what it found wrong
// while reading it (a JSON decoder sees invalid UTF-8 only in the raw
// text) and, for a value cut short, the length it had.
type ReadLabel struct {
	labels.Label
	Problem uint8
	Size    int64 // the value's length in bytes when Problem is LabelTooLong
}

// CheckLabels refuses a series whose labels TSDB cannot store as they are:
// an empty name (which would otherwise be reported as a name given twice),
// a name or value that is not UTF-8 (a decoder would turn it into U+FFFD), an
// empty __name__ (written as a series without a name), a name or value
// longer than MaxLabelBytes (a panic). It is called with the labels as read,
// before a labels.Labels is built of them.
func CheckLabels(ls []ReadLabel) error {
	for _, l := range ls {
		reason := ""
		switch {
		case l.Problem == LabelTooLong:
			reason = fmt.Sprintf("the value of label %s is %s long, over the %s a TSDB label can hold", quoteCut(l.Name), sizeText(l.Size), sizeText(MaxLabelBytes))
		case len(l.Name) > MaxLabelBytes:
			reason = fmt.Sprintf("a label name is %s long, over the %s a TSDB label can hold", sizeText(int64(len(l.Name))), sizeText(MaxLabelBytes))
		case len(l.Value) > MaxLabelBytes:
			reason = fmt.Sprintf("the value of label %s is %s long, over the %s a TSDB label can hold", quoteCut(l.Name), sizeText(int64(len(l.Value))), sizeText(MaxLabelBytes))
		case l.Name == "":
			reason = fmt.Sprintf("a label has an empty name (its value is %s)", quoteCut(l.Value))
		case l.Problem == LabelInvalidUTF8 || !utf8.ValidString(l.Name) || !utf8.ValidString(l.Value):
			reason = fmt.Sprintf("label %s is not valid UTF-8; it is refused rather than stored with U+FFFD in place of the bytes", quoteCut(l.Name))
		case l.Name == model.MetricNameLabel && l.Value == "":
			reason = `the metric name (__name__) is empty; it is refused rather than stored as a series without a name`
		}
		if reason != "" {
			return &LabelError{Series: SeriesText(ls), Reason: reason}
		}
	}
	return nil
}

// LabelSetError says what is wrong with a built label set that a sink is
// about to write: a name given twice, or an empty one (the first name of a
// label set is compared with "", so an empty one looks like a repeat).
func LabelSetError(lset labels.Labels) error {
	name, dup := lset.HasDuplicateLabelNames()
	switch {
	case dup && name == "":
		return fmt.Errorf("series %s: a label has an empty name", lset)
	case dup:
		return fmt.Errorf("series %s: label %q appears twice", lset, name)
	}
	return nil
}

// cutAt is how much of a name or value a message shows.
const cutAt = 64

// SeriesText writes a series as labels.Labels.String does, with every
// name and value cut at 64 bytes (a label refused for its size could
// otherwise fill a terminal), so it names a series that cannot be built.
func SeriesText(ls []ReadLabel) string {
	var b strings.Builder
	name := ""
	for _, l := range ls {
		if l.Name == model.MetricNameLabel {
			name = l.Value
		}
	}
	if name != "" && utf8.ValidString(name) && len(name) <= cutAt && !strings.ContainsAny(name, "{}\"=, ") {
		b.WriteString(name)
	}
	b.WriteByte('{')
	first := true
	for _, l := range ls {
		if l.Name == model.MetricNameLabel && b.Len() > 1 {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(quoteCut(l.Name))
		b.WriteByte('=')
		b.WriteString(quoteCut(l.Value))
	}
	b.WriteByte('}')
	return b.String()
}

// quoteCut quotes s, cut at cutAt bytes with "..." and its length added.
func quoteCut(s string) string {
	if len(s) <= cutAt {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:cutAt]) + "... (" + strconv.Itoa(len(s)) + " bytes)"
}

// sizeText is a byte count as a person reads it: exact, and in MiB too
// when that is what limits are given in.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%d bytes (%.1f MiB)", n, float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}
