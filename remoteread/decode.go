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
}

// streamed reads a STREAMED_XOR_CHUNKS body: length-delimited,
// CRC-checked frames (Prometheus's remote.ChunkedReader reads them), each
// a ChunkedReadResponse holding whole chunks.
func (d *decoder) streamed(body io.Reader, frameLimit uint64) error {
	cr := frameReader{r: bufio.NewReaderSize(body, 64<<10), limit: frameLimit}
	var (
		msg prompb.ChunkedReadResponse
		b   labels.ScratchBuilder
	)
	for {
		frame, err := cr.next()
		if errors.Is(err, io.EOF) {
			return d.flush()
		}
		if err != nil {
			return &streamError{err}
		}
		msg = prompb.ChunkedReadResponse{}
		if err := msg.Unmarshal(frame); err != nil {
			return fmt.Errorf("decoding a frame of the answer: %w", err)
		}
		for _, cs := range msg.ChunkedSeries {
			lset := labelsOf(&b, cs.Labels)
			if !labels.Equal(lset, d.cur.Labels) {
				if err := d.flush(); err != nil {
					return err
				}
				d.cur.Labels = lset
			}
			for i := range cs.Chunks {
				if err := d.chunk(&cs.Chunks[i]); err != nil {
					return fmt.Errorf("series %s: %w", lset, err)
				}
			}
		}
	}
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
// series. A chunk wholly outside is not decoded at all.
func (d *decoder) chunk(c *prompb.Chunk) error {
	if c.MaxTimeMs < d.from || c.MinTimeMs >= d.to {
		return nil
	}
	chk, err := chunkenc.FromData(chunkenc.Encoding(c.Type), c.Data)
	if err != nil {
		return err
	}
	if c.Type == prompb.Chunk_XOR {
		d.cur.Samples = slices.Grow(d.cur.Samples, chk.NumSamples())
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
