// Package logattr shapes log records for the two readers of promrecover's
// stderr: a person reads the text format, where a size is "8.9 MiB" and a
// rate "1176179/s"; a program reads JSON, where every key is snake_case and
// every quantity a number, with its unit in the key (received_bytes,
// rate_samples_per_second, eta_seconds). A library logs a Quantity, which
// carries both forms, and the handler options of each format pick one.
package logattr

import (
	"log/slog"
	"strconv"
	"time"
)

// Quantity is a logged value with a unit: Text in the text format, Numbers
// in JSON, each under the record's key followed by its Suffix.
type Quantity struct {
	Text    string
	Numbers []Number
}

// Number is one number of a Quantity: its Suffix names the unit
// ("_bytes", "_samples_per_second"), or what the number is of the key
// ("_total").
type Number struct {
	Suffix string
	Value  slog.Value
}

// New is the Quantity that reads text and is numbers.
func New(text string, numbers ...Number) Quantity { return Quantity{Text: text, Numbers: numbers} }

// Num is the number v (an integer or a float), its unit in suffix; or,
// without a suffix, v in the form a program reads (a window's full range
// beside the text's short start).
func Num(suffix string, v any) Number { return Number{suffix, slog.AnyValue(v)} }

// JSONOnly is a value only the JSON format shows: one a program needs (a
// block's ULID) and a person reading along does not.
func JSONOnly(v any) Quantity { return New("", Num("", v)) }

// MarshalText is the text format's form.
func (q Quantity) MarshalText() ([]byte, error) { return []byte(q.Text), nil }

// Of is n of total things: "3/12" in text; key and key_total in JSON.
func Of(n, total int64) Quantity {
	return New(strconv.FormatInt(n, 10)+"/"+strconv.FormatInt(total, 10), Num("", n), Num("_total", total))
}

// Text shows records for a person: the time of day to the second (a run
// lasts hours, not days, and its records should fit 80 columns), without
// the JSONOnly values, the rest as o says.
func Text(o *slog.HandlerOptions) *slog.HandlerOptions {
	next := o.ReplaceAttr
	t := *o
	t.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime {
			return slog.String(a.Key, a.Value.Time().Format(time.TimeOnly))
		}
		if q, ok := a.Value.Any().(Quantity); ok && q.Text == "" {
			return slog.Attr{}
		}
		if next != nil {
			return next(groups, a)
		}
		return a
	}
	return &t
}

// JSON shows records for a program: a Quantity as its numbers, a duration
// as seconds under key_seconds (slog would write nanoseconds under key),
// after o's own ReplaceAttr.
func JSON(o *slog.HandlerOptions) *slog.HandlerOptions {
	next := o.ReplaceAttr
	j := *o
	j.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
		if next != nil {
			a = next(groups, a)
		}
		switch v := a.Value; {
		case v.Kind() == slog.KindDuration:
			return slog.Float64(a.Key+"_seconds", v.Duration().Seconds())
		case v.Kind() == slog.KindAny:
			if q, ok := v.Any().(Quantity); ok {
				attrs := make([]slog.Attr, len(q.Numbers))
				for i, n := range q.Numbers {
					attrs[i] = slog.Attr{Key: a.Key + n.Suffix, Value: n.Value}
				}
				// A group without a key is inlined.
				return slog.Attr{Value: slog.GroupValue(attrs...)}
			}
		}
		return a
	}
	return &j
}
