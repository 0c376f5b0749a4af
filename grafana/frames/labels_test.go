package frames

import (
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/promrecover/promrecover/extract"
)

// labelsBody is a body of one series whose labels are the JSON object
// members lbls (without braces).
func labelsBody(lbls string) string {
	field := `{"name":"Value","type":"number","typeInfo":{"frame":"float64"},"labels":{` + lbls + `}}`
	return bodyJSON(frameJSON(timeFieldJSON+","+field, `{"values":[[1],[2]]}`))
}

// A series whose labels no block can hold as they came is refused, named,
// with the label: it used to panic (a value over 16 MiB), be written with
// U+FFFD for what is not UTF-8, or as a series without a name.
func TestDecodeRefusesLabels(t *testing.T) {
	big := strings.Repeat("x", extract.MaxLabelBytes+1)
	cases := []struct {
		name, lbls string
		want       []string
	}{
		{"value over 16 MiB", `"__name__":"up","big":"` + big + `"`,
			[]string{`field 1 ("Value"): series up{"big"="xxxx`, `... (16777217 bytes)}`, `the value of label "big" is 16777217 bytes (16.0 MiB) long, over the 16 MiB a TSDB label can hold`}},
		{"value of 16 MiB and some escapes", `"big":"` + big[:extract.MaxLabelBytes-2] + `\n\u00e9\t"`, []string{`label "big" is 16777218 bytes (16.0 MiB) long`}},
		{"value not UTF-8", `"__name__":"up","job":"a` + "\xff" + `b"`, []string{`series up{"job"="a\xffb"}`, `label "job" is not valid UTF-8`}},
		{"name not UTF-8", `"__name__":"up","j` + "\xff" + `ob":"a"`, []string{`label "j\xffob" is not valid UTF-8`}},
		{"a lone surrogate", `"__name__":"up","job":"a\ud800"`, []string{`label "job" is not valid UTF-8`}},
		{"an empty name", `"__name__":"up","":"a"`, []string{`series up{""="a"}: a label has an empty name (its value is "a")`}},
		{"an empty __name__", `"__name__":"","job":"a"`, []string{`series {"__name__"="", "job"="a"}: the metric name (__name__) is empty`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeAll(strings.NewReader(labelsBody(tc.lbls)))
			var le *extract.LabelError
			if !errors.As(err, &le) {
				t.Fatalf("err %v, want an *extract.LabelError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %q\nwant it to say %q", cut(err.Error()), w)
				}
			}
		})
	}
	// Valid UTF-8, escaped or not, and U+FFFD itself pass.
	resp := decodeBody(t, []byte(labelsBody(`"__name__":"up","job":"\u00e9\ufffd\ud83d\ude00é"`)))
	if got := resp.Results[0].Series[0].Labels.Get("job"); got != "é\ufffd😀é" {
		t.Errorf("job %q", got)
	}
}

func cut(s string) string {
	if len(s) > 400 {
		return s[:400] + "..."
	}
	return s
}

// repeated is n bytes of c, made as they are read.
type repeated struct {
	c byte
	n int64
}

func (r *repeated) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), r.n)
	for i := range p[:n] {
		p[i] = r.c
	}
	r.n -= n
	return int(n), nil
}

// A huge label value is refused without being held whole: the decoder
// keeps its first 16 MiB (in an arena grown by doubling), not the 256 MiB
// it has.
func TestDecodeHugeLabelBoundsMemory(t *testing.T) {
	const size = 256 << 20
	body := labelsBody(`"big":"@"`)
	at := strings.Index(body, "@")
	r := io.MultiReader(strings.NewReader(body[:at]), &repeated{c: 'v', n: size}, strings.NewReader(body[at+1:]))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := decodeAll(r)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), `label "big" is 256 MiB long`) {
		t.Fatalf("err %v", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/2 {
		t.Errorf("decoding allocated %d MiB for a value of %d MiB", alloc>>20, size>>20)
	}
}
