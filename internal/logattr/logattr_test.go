package logattr

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestFormats(t *testing.T) {
	cases := []struct {
		name       string
		attr       slog.Attr
		text, json string
	}{
		{"quantity", slog.Any("received", New("8.9 MiB", Num("_bytes", int64(9332736)))), `received="8.9 MiB"`, `"received_bytes":9332736`},
		{"rate", slog.Any("rate", New("1176179/s", Num("_samples_per_second", 1176179.5))), "rate=1176179/s", `"rate_samples_per_second":1176179.5`},
		{"of", slog.Any("windows", Of(3, 12)), "windows=3/12", `"windows":3,"windows_total":12`},
		{"duration", slog.Duration("eta", 90*time.Second), "eta=1m30s", `"eta_seconds":90`},
		{"json only", slog.Any("ulid", JSONOnly("01ABC")), "", `"ulid":"01ABC"`},
		{"other", slog.Int("series", 4), "series=4", `"series":4`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var text, js bytes.Buffer
			slog.New(slog.NewTextHandler(&text, Text(&slog.HandlerOptions{}))).Info("m", c.attr)
			slog.New(slog.NewJSONHandler(&js, JSON(&slog.HandlerOptions{}))).Info("m", c.attr)
			if got := strings.TrimSpace(text.String()); !strings.HasSuffix(got, "msg=m"+prefixed(c.text)) {
				t.Errorf("text %q, want it to end %q", got, c.text)
			}
			if got := strings.TrimSpace(js.String()); !strings.HasSuffix(got, `"msg":"m",`+c.json+"}") {
				t.Errorf("JSON %s, want it to end %s}", got, c.json)
			}
		})
	}
}

func prefixed(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

// The text format's time is the time of day, to the second.
func TestTextTime(t *testing.T) {
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, Text(&slog.HandlerOptions{}))).Info("m")
	if l := buf.String(); len(l) < 14 || l[:5] != "time=" || l[7] != ':' || l[10] != ':' || l[13] != ' ' {
		t.Errorf("record %q, want it to start time=HH:MM:SS", l)
	}
}
