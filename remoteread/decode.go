package remoteread

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/promrecover/promrecover/extract"
)

// streamedType is the Content-Type of a STREAMED_XOR_CHUNKS answer; any
// other 2xx answer is read as SAMPLES, as Prometheus's own client does.
const streamedType = "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse"

// decoder turns the answer to one query into series trimmed to [from, to):
// the server sends whole chunks, which may begin before the unit and end
// after it (a unit is a part of a window, or a block was compacted across
// windows), so every sample is checked against the unit's edges and each
// sample lands in exactly one unit.
type decoder struct {
	from, to int64
	// cur is the series being decoded: Prometheus sends a series' chunks
	// in consecutive frames when they do not fit in one.
	cur extract.Series
	// it is reused across chunks, as TSDB's own readers do.
	it  chunkenc.Iterator
	add func(extract.Series) error
	// samples counts what was handed to add, for the benchmarks and the
	// source's log.
	samples int
	// slab is where series' samples are carved from, a run of them at a
	// time: a slice of its own for each of thousands of series, most of
	// a page each, cost a fifth of the decoding in the allocator.
	slab []extract.Sample
	// b and chunks are the series being read from a frame.
	b      labels.ScratchBuilder
	chunks []prompb.Chunk
}

// slabSamples is how many samples a slab holds (1 MiB).
const slabSamples = 1 << 16

// streamed reads a STREAMED_XOR_CHUNKS body: length-delimited,
// CRC-checked frames (Prometheus's remote.ChunkedReader reads them), each
// a ChunkedReadResponse holding whole chunks.
func (d *decoder) streamed(body io.Reader, frameLimit uint64) error {
	cr := frameReader{r: bufio.NewReaderSize(body, 64<<10), limit: frameLimit}
	for {
		frame, err := cr.next()
		if errors.Is(err, io.EOF) {
			return d.flush()
		}
		if err != nil {
			return &streamError{err}
		}
		if err := d.frame(frame); err != nil {
			return err
		}
	}
}

// frame decodes a ChunkedReadResponse's series (field 1; field 2, the
// query's index, is always 0 here). The protobuf is read in place, not
// with prompb's Unmarshal, which copied every chunk's data and allocated
// each series, label and chunk on its own: a sixth of the decoding time.
func (d *decoder) frame(frame []byte) error {
	for len(frame) > 0 {
		f, rest, err := nextField(frame)
		if err != nil {
			return fmt.Errorf("decoding a frame of the answer: %w", err)
		}
		frame = rest
		if f.num == 1 && f.typ == wireBytes {
			if err := d.series(f.b); err != nil {
				return err
			}
		}
	}
	return nil
}

// series decodes a ChunkedSeries, continuing the current series when it
// is the same one.
func (d *decoder) series(msg []byte) error {
	lset, err := d.parseSeries(msg)
	if err != nil {
		return err
	}
	if !labels.Equal(lset, d.cur.Labels) {
		if err := d.flush(); err != nil {
			return err
		}
		d.cur.Labels = lset
	}
	d.grow(d.chunks)
	for i := range d.chunks {
		if err := d.chunk(&d.chunks[i]); err != nil {
			return fmt.Errorf("series %s: %w", lset, err)
		}
	}
	return nil
}

// parseSeries reads a ChunkedSeries' labels (field 1), sorted, and its
// chunks (field 2) into d.chunks, their data left in msg.
func (d *decoder) parseSeries(msg []byte) (labels.Labels, error) {
	d.b.Reset()
	d.chunks = d.chunks[:0]
	for len(msg) > 0 {
		f, rest, err := nextField(msg)
		if err != nil {
			return labels.Labels{}, fmt.Errorf("decoding a series of the answer: %w", err)
		}
		msg = rest
		switch {
		case f.num == 1 && f.typ == wireBytes:
			err = d.label(f.b)
		case f.num == 2 && f.typ == wireBytes:
			err = d.appendChunk(f.b)
		}
		if err != nil {
			return labels.Labels{}, fmt.Errorf("decoding a series of the answer: %w", err)
		}
	}
	d.b.Sort()
	return d.b.Labels(), nil
}

// label adds a Label (name 1, value 2) to the series' labels. Its strings
// point into the frame, which is read over for the next one: Labels()
// copies them (bytesString says when it must not be relied on).
func (d *decoder) label(msg []byte) error {
	var name, value []byte
	for len(msg) > 0 {
		f, rest, err := nextField(msg)
		if err != nil {
			return err
		}
		msg = rest
		if f.typ == wireBytes && f.num == 1 {
			name = f.b
		} else if f.typ == wireBytes && f.num == 2 {
			value = f.b
		}
	}
	d.b.Add(bytesString(name), bytesString(value))
	return nil
}

// appendChunk adds a Chunk (min_time_ms 1, max_time_ms 2, type 3, data 4)
// to the series' chunks, its data left in the frame.
func (d *decoder) appendChunk(msg []byte) error {
	var c prompb.Chunk
	for len(msg) > 0 {
		f, rest, err := nextField(msg)
		if err != nil {
			return err
		}
		msg = rest
		switch {
		case f.num == 1 && f.typ == wireVarint:
			c.MinTimeMs = int64(f.v)
		case f.num == 2 && f.typ == wireVarint:
			c.MaxTimeMs = int64(f.v)
		case f.num == 3 && f.typ == wireVarint:
			c.Type = prompb.Chunk_Encoding(f.v)
		case f.num == 4 && f.typ == wireBytes:
			c.Data = f.b
		}
	}
	d.chunks = append(d.chunks, c)
	return nil
}

// The protobuf wire types a remote read answer holds, and the two fixed
// sizes skipped over.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// pbField is one protobuf field: a varint's value or a length-delimited
// field's bytes.
type pbField struct {
	num, typ uint64
	v        uint64
	b        []byte
}

var errProtobuf = errors.New("not a valid protobuf message")

// nextField reads the field msg begins with, and what follows it.
func nextField(msg []byte) (pbField, []byte, error) {
	tag, n := binary.Uvarint(msg)
	if n <= 0 {
		return pbField{}, nil, errProtobuf
	}
	f, msg := pbField{num: tag >> 3, typ: tag & 7}, msg[n:]
	size := uint64(0)
	switch f.typ {
	case wireVarint:
		if f.v, n = binary.Uvarint(msg); n <= 0 {
			return f, nil, errProtobuf
		}
		return f, msg[n:], nil
	case wireBytes:
		if size, n = binary.Uvarint(msg); n <= 0 {
			return f, nil, errProtobuf
		}
		msg = msg[n:]
	case wireFixed64:
		size = 8
	case wireFixed32:
		size = 4
	default:
		return f, nil, errProtobuf
	}
	if size > uint64(len(msg)) {
		return f, nil, errProtobuf
	}
	f.b = msg[:size]
	return f, msg[size:], nil
}

// frameReader reads the frames of a streamed answer as Prometheus's
// remote.ChunkedReader does: a uvarint length, the big-endian CRC-32
// (Castagnoli) of the data, the data. It is written out here because
// importing storage/remote links its write path too (the OTLP translator,
// the scrape manager: some 80 packages) for these few lines.
type frameReader struct {
	r     *bufio.Reader
	limit uint64
	buf   []byte
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// next returns the next frame, valid until the next call; io.EOF at the
// end of the answer.
func (f *frameReader) next() ([]byte, error) {
	size, err := binary.ReadUvarint(f.r)
	if err != nil {
		return nil, err
	}
	if size > f.limit {
		return nil, fmt.Errorf("a frame of %d bytes, over the limit of %d", size, f.limit)
	}
	var sum [4]byte
	if _, err := io.ReadFull(f.r, sum[:]); err != nil {
		return nil, noEOF(err)
	}
	if uint64(cap(f.buf)) < size {
		f.buf = make([]byte, size)
	}
	f.buf = f.buf[:size]
	if _, err := io.ReadFull(f.r, f.buf); err != nil {
		return nil, noEOF(err)
	}
	if crc32.Checksum(f.buf, castagnoli) != binary.BigEndian.Uint32(sum[:]) {
		return nil, errors.New("a corrupted frame: checksum mismatch")
	}
	return f.buf, nil
}

// noEOF: within a frame, the end of the answer is a frame cut short.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// chunk appends the samples of c that are in [from, to) to the current
// series. A chunk wholly outside is not decoded at all; XOR chunks, nearly
// all of them, are decoded by xorSamples, the other encodings by chunkenc.
func (d *decoder) chunk(c *prompb.Chunk) error {
	if c.MaxTimeMs < d.from || c.MinTimeMs >= d.to {
		return nil
	}
	if c.Type == prompb.Chunk_XOR {
		var err error
		d.cur.Samples, err = xorSamples(c.Data, d.from, d.to, d.cur.Samples)
		return err
	}
	chk, err := chunkenc.FromData(chunkenc.Encoding(c.Type), c.Data)
	if err != nil {
		return err
	}
	d.it = chk.Iterator(d.it)
	whole := c.MinTimeMs >= d.from && c.MaxTimeMs < d.to
	for vt := d.it.Next(); vt != chunkenc.ValNone; vt = d.it.Next() {
		if !whole {
			if t := d.it.AtT(); t < d.from {
				continue
			} else if t >= d.to {
				break
			}
		}
		switch vt {
		case chunkenc.ValFloat:
			t, v := d.it.At()
			d.cur.Samples = append(d.cur.Samples, extract.Sample{T: t, V: v})
		case chunkenc.ValHistogram:
			t, h := d.it.AtHistogram(nil)
			d.cur.Histograms = append(d.cur.Histograms, extract.HistogramSample{T: t, H: h})
		case chunkenc.ValFloatHistogram:
			t, fh := d.it.AtFloatHistogram(nil)
			d.cur.Histograms = append(d.cur.Histograms, extract.HistogramSample{T: t, FH: fh})
		}
	}
	return d.it.Err()
}

// grow makes room in the current series for the samples of the XOR chunks
// that reach into the unit, from their headers, so that a series
// spread over several chunks is not copied as it grows.
func (d *decoder) grow(chunks []prompb.Chunk) {
	n := 0
	for i := range chunks {
		c := &chunks[i]
		if c.Type == prompb.Chunk_XOR && len(c.Data) >= 2 && c.MaxTimeMs >= d.from && c.MinTimeMs < d.to {
			n += int(binary.BigEndian.Uint16(c.Data))
		}
	}
	if len(d.cur.Samples) > 0 || n > slabSamples/4 {
		d.cur.Samples = slices.Grow(d.cur.Samples, n)
		return
	}
	if cap(d.slab)-len(d.slab) < n {
		d.slab = make([]extract.Sample, 0, slabSamples)
	}
	// The full slice expression ends the series' capacity where the next
	// series' begins: an append past it moves the series, never into it.
	d.cur.Samples = d.slab[len(d.slab) : len(d.slab) : len(d.slab)+n]
	d.slab = d.slab[:len(d.slab)+n]
}

// flush hands the current series on, if it has samples in the unit, and
// starts the next in fresh memory: the split path keeps what add gets.
func (d *decoder) flush() error {
	s := d.cur
	d.cur = extract.Series{}
	if s.Len() == 0 {
		return nil
	}
	d.samples += s.Len()
	return d.add(s)
}

// sampled reads a SAMPLES body: one snappy-compressed ReadResponse, whole
// in memory, as servers that do not stream answer (Prometheus before 2.13,
// some proxies and other implementations).
func (d *decoder) sampled(body io.Reader) error {
	compressed, err := io.ReadAll(body)
	if err != nil {
		return &streamError{err}
	}
	raw, err := snappy.Decode(nil, compressed)
	if err != nil {
		return fmt.Errorf("decompressing the answer: %w", err)
	}
	var resp prompb.ReadResponse
	if err := resp.Unmarshal(raw); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	var b labels.ScratchBuilder
	for _, res := range resp.Results {
		for _, ts := range res.Timeseries {
			d.cur.Labels = labelsOf(&b, ts.Labels)
			for _, s := range ts.Samples {
				if s.Timestamp >= d.from && s.Timestamp < d.to {
					d.cur.Samples = append(d.cur.Samples, extract.Sample{T: s.Timestamp, V: s.Value})
				}
			}
			for i := range ts.Histograms {
				if h := &ts.Histograms[i]; h.Timestamp >= d.from && h.Timestamp < d.to {
					d.cur.Histograms = append(d.cur.Histograms, histogramOf(h))
				}
			}
			if err := d.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// histogramOf keeps a histogram's kind: integer counts stay integer, as a
// block written from them must hold an integer histogram chunk.
func histogramOf(h *prompb.Histogram) extract.HistogramSample {
	if h.IsFloatHistogram() {
		return extract.HistogramSample{T: h.Timestamp, FH: h.ToFloatHistogram()}
	}
	return extract.HistogramSample{T: h.Timestamp, H: h.ToIntHistogram()}
}

func labelsOf(b *labels.ScratchBuilder, ls []prompb.Label) labels.Labels {
	b.Reset()
	for _, l := range ls {
		b.Add(l.Name, l.Value)
	}
	b.Sort()
	return b.Labels()
}

// streamError is an answer cut short or corrupted on the way: sent again,
// the same request may pass.
type streamError struct{ err error }

func (e *streamError) Error() string { return "reading the answer: " + e.err.Error() }
func (e *streamError) Unwrap() error { return e.err }
