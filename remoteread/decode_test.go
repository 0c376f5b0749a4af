package remoteread

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/promrecover/promrecover/extract"
)

// xorChunk holds a float sample every 10ms over [from, to).
func xorChunk(t *testing.T, from, to int64) prompb.Chunk {
	c := chunkenc.NewXORChunk()
	app, err := c.Appender()
	if err != nil {
		t.Fatal(err)
	}
	for ts := from; ts < to; ts += 10 {
		app.Append(0, ts, float64(ts))
	}
	return prompb.Chunk{MinTimeMs: from, MaxTimeMs: to - 10, Type: prompb.Chunk_XOR, Data: c.Bytes()}
}

func histChunk(t *testing.T, from, to int64) prompb.Chunk {
	c := chunkenc.NewHistogramChunk()
	app, err := c.Appender()
	if err != nil {
		t.Fatal(err)
	}
	for ts := from; ts < to; ts += 10 {
		h := &histogram.Histogram{Count: uint64(ts), Sum: float64(ts), Schema: 0, PositiveSpans: []histogram.Span{{Offset: 0, Length: 1}}, PositiveBuckets: []int64{ts}}
		if _, _, app, err = app.AppendHistogram(nil, 0, ts, h, false); err != nil {
			t.Fatal(err)
		}
	}
	return prompb.Chunk{MinTimeMs: from, MaxTimeMs: to - 10, Type: prompb.Chunk_HISTOGRAM, Data: c.Bytes()}
}

// frame is one frame of a streamed answer.
func frame(t *testing.T, series ...*prompb.ChunkedSeries) []byte {
	raw, err := (&prompb.ChunkedReadResponse{ChunkedSeries: series}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	out := binary.AppendUvarint(nil, uint64(len(raw)))
	out = binary.BigEndian.AppendUint32(out, crc32.Checksum(raw, castagnoli))
	return append(out, raw...)
}

// Chunks are cut at the unit's edges: a sample lands in exactly the unit
// whose [from, to) holds it, whatever the chunks' bounds; a series whose
// chunks span two frames comes once.
func TestDecodeCutsAtEdges(t *testing.T) {
	ls := []prompb.Label{{Name: "__name__", Value: "a"}}
	for _, tc := range []struct {
		name     string
		from, to int64
		chunks   [][]prompb.Chunk // per frame
		want     []int64
	}{
		{"inside", 0, 100, [][]prompb.Chunk{{xorChunk(t, 20, 50)}}, []int64{20, 30, 40}},
		{"across the start", 25, 100, [][]prompb.Chunk{{xorChunk(t, 0, 50)}}, []int64{30, 40}},
		{"across the end", 0, 30, [][]prompb.Chunk{{xorChunk(t, 0, 50)}}, []int64{0, 10, 20}},
		{"end exclusive", 0, 40, [][]prompb.Chunk{{xorChunk(t, 0, 50)}}, []int64{0, 10, 20, 30}},
		{"across both", 15, 35, [][]prompb.Chunk{{xorChunk(t, 0, 50)}}, []int64{20, 30}},
		{"outside", 100, 200, [][]prompb.Chunk{{xorChunk(t, 0, 50)}}, nil},
		{"two frames", 10, 80, [][]prompb.Chunk{{xorChunk(t, 0, 30)}, {xorChunk(t, 30, 60), xorChunk(t, 60, 90)}}, []int64{10, 20, 30, 40, 50, 60, 70}},
		{"histograms", 15, 45, [][]prompb.Chunk{{histChunk(t, 0, 50)}}, []int64{20, 30, 40}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			for _, chks := range tc.chunks {
				body = append(body, frame(t, &prompb.ChunkedSeries{Labels: ls, Chunks: chks})...)
			}
			var got []extract.Series
			d := decoder{from: tc.from, to: tc.to, add: func(s extract.Series) error { got = append(got, s); return nil }}
			if err := d.streamed(bytes.NewReader(body), DefaultFrameLimit); err != nil {
				t.Fatal(err)
			}
			var ts []int64
			for _, s := range got {
				if !labels.Equal(s.Labels, labels.FromStrings("__name__", "a")) {
					t.Fatalf("labels %s", s.Labels)
				}
				for tm := range s.Times() {
					ts = append(ts, tm)
				}
			}
			if len(got) > 1 || !equal(ts, tc.want) {
				t.Fatalf("%d series, times %v, want one with %v", len(got), ts, tc.want)
			}
		})
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A frame cut short or corrupted is an answer to ask again (streamError),
// and one over the frame limit is refused before it is read.
func TestFrameErrors(t *testing.T) {
	good := frame(t, &prompb.ChunkedSeries{Labels: []prompb.Label{{Name: "__name__", Value: "a"}}, Chunks: []prompb.Chunk{xorChunk(t, 0, 50)}})
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-1] ^= 1
	for _, tc := range []struct {
		name  string
		body  []byte
		limit uint64
		want  string
	}{
		{"cut", good[:len(good)-3], DefaultFrameLimit, io.ErrUnexpectedEOF.Error()},
		{"corrupt", corrupt, DefaultFrameLimit, "checksum mismatch"},
		{"too big", good, 8, "over the limit of 8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := decoder{to: 100, add: func(extract.Series) error { return nil }}
			err := d.streamed(bytes.NewReader(tc.body), tc.limit)
			var se *streamError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a streamError saying %q", err, tc.want)
			}
		})
	}
}

// rawFrame is a frame around any bytes, with a right checksum.
func rawFrame(raw []byte) []byte {
	out := binary.AppendUvarint(nil, uint64(len(raw)))
	out = binary.BigEndian.AppendUint32(out, crc32.Checksum(raw, castagnoli))
	return append(out, raw...)
}

// The frames' protobuf, read in place: what prompb writes comes back,
// labels sorted, with fields this decoder does not know (a query's index,
// a future field of each message) passed over; a message that is not
// protobuf is an error, not a stream to send again.
func TestDecodeProtobuf(t *testing.T) {
	series := &prompb.ChunkedSeries{
		Labels: []prompb.Label{{Name: "job", Value: "api"}, {Name: "__name__", Value: "b"}},
		Chunks: []prompb.Chunk{xorChunk(t, 0, 30)},
	}
	raw, err := (&prompb.ChunkedReadResponse{ChunkedSeries: []*prompb.ChunkedSeries{series}, QueryIndex: 3}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	unknown := []byte{15<<3 | wireFixed64, 1, 2, 3, 4, 5, 6, 7, 8, 14<<3 | wireFixed32, 1, 2, 3, 4, 13<<3 | wireVarint, 0x80, 1}
	seriesRaw, _ := series.Marshal()
	withUnknown := append(binary.AppendUvarint([]byte{1<<3 | wireBytes}, uint64(len(seriesRaw)+len(unknown))), append(seriesRaw, unknown...)...)
	for _, tc := range []struct {
		name string
		raw  []byte
		want string // an error, or "" for the series
	}{
		{"prompb's", raw, ""},
		{"unknown fields", append(withUnknown, unknown...), ""},
		{"a length past the end", raw[:len(raw)-4], errProtobuf.Error()},
		{"a wire type of none", []byte{1<<3 | 7}, errProtobuf.Error()},
		{"a varint cut", []byte{2 << 3, 0x80}, errProtobuf.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []extract.Series
			d := decoder{to: 100, add: func(s extract.Series) error { got = append(got, s); return nil }}
			err := d.streamed(bytes.NewReader(rawFrame(tc.raw)), DefaultFrameLimit)
			if tc.want != "" {
				var se *streamError
				if err == nil || errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want one saying %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := []extract.Series{{Labels: labels.FromStrings("__name__", "b", "job", "api"), Samples: []extract.Sample{{T: 0, V: 0}, {T: 10, V: 10}, {T: 20, V: 20}}}}
			if err := extract.Compare(want, got); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Series decoded from one frame share a slab of samples, but none reaches
// into another's: appending to one leaves the next as it was, and labels
// outlive the frame they were read from.
func TestDecodeSeriesApart(t *testing.T) {
	var body []byte
	for _, name := range []string{"a", "b"} {
		body = append(body, frame(t, &prompb.ChunkedSeries{Labels: []prompb.Label{{Name: "__name__", Value: name}}, Chunks: []prompb.Chunk{xorChunk(t, 0, 50)}})...)
	}
	var got []extract.Series
	d := decoder{to: 100, add: func(s extract.Series) error { got = append(got, s); return nil }}
	if err := d.streamed(bytes.NewReader(body), DefaultFrameLimit); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got[0].Samples) != 5 {
		t.Fatalf("%d series, want 2 of 5 samples", len(got))
	}
	got[0].Samples = append(got[0].Samples, extract.Sample{T: 50, V: -1})
	if got[1].Samples[0] != (extract.Sample{T: 0, V: 0}) || got[0].Labels.Get("__name__") != "a" || got[1].Labels.Get("__name__") != "b" {
		t.Fatalf("series overwritten: %v %v", got[0], got[1])
	}
}
