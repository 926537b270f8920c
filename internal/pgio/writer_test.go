package pgio

import (
	"bytes"
	"errors"
	"testing"
)

// countingWriter records each Write call.
type countingWriter struct {
	bytes.Buffer
	writes int
	fail   error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.fail != nil {
		return 0, c.fail
	}
	c.writes++
	return c.Buffer.Write(p)
}

func TestWriterBuffersUntilFlush(t *testing.T) {
	var out countingWriter
	w := NewWriter(&out, WriterOptions{})
	w.WriteRaw('Q', []byte("SELECT 1\x00"))
	w.WriteReadyForQuery(TxIdle)
	if out.writes != 0 || w.Buffered() != 14+6 {
		t.Fatalf("writes = %d, buffered = %d", out.writes, w.Buffered())
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if out.writes != 1 || w.Buffered() != 0 {
		t.Fatalf("writes = %d, buffered = %d", out.writes, w.Buffered())
	}
	types, bodies := readAll(t, NewReader(&out.Buffer, ReaderOptions{}))
	if string(types) != "QZ" || bodies[0] != "SELECT 1\x00" || bodies[1] != "I" {
		t.Fatalf("read back %q %q", types, bodies)
	}
}

func TestWriterLargeBodyGoesStraightThrough(t *testing.T) {
	var out countingWriter
	w := NewWriter(&out, WriterOptions{BufferSize: 64})
	w.WriteRaw('Z', []byte("I"))
	big := bytes.Repeat([]byte("b"), 1000)
	if err := w.WriteRaw('D', big); err != nil {
		t.Fatal(err)
	}
	// What was buffered plus the header, then the body by itself.
	if out.writes != 2 || w.Buffered() != 0 {
		t.Fatalf("writes = %d, buffered = %d", out.writes, w.Buffered())
	}
	if cap(w.buf) != 64 {
		t.Fatalf("buffer grew to %d", cap(w.buf))
	}
	types, bodies := readAll(t, NewReader(&out.Buffer, ReaderOptions{}))
	if string(types) != "ZD" || bodies[1] != string(big) {
		t.Fatalf("read back %q", types)
	}
}

func TestWriterFlushesWhenFull(t *testing.T) {
	var out countingWriter
	w := NewWriter(&out, WriterOptions{BufferSize: 32})
	for i := 0; i < 10; i++ {
		w.WriteRaw('D', []byte("0123456789"))
	}
	if out.writes == 0 || w.Buffered() > 32 {
		t.Fatalf("writes = %d, buffered = %d", out.writes, w.Buffered())
	}
	w.Flush()
	types, _ := readAll(t, NewReader(&out.Buffer, ReaderOptions{}))
	if len(types) != 10 {
		t.Fatalf("read back %d messages", len(types))
	}
}

func TestWriterErrorSticks(t *testing.T) {
	boom := errors.New("boom")
	out := countingWriter{fail: boom}
	w := NewWriter(&out, WriterOptions{})
	w.WriteSync()
	if err := w.Flush(); err != boom {
		t.Fatalf("Flush = %v", err)
	}
	out.fail = nil
	if err := w.WriteSync(); err != boom {
		t.Fatalf("WriteSync after failure = %v", err)
	}
	if err := w.Flush(); err != boom || out.writes != 0 {
		t.Fatalf("Flush after failure = %v, writes = %d", err, out.writes)
	}
	w.Reset(&out)
	w.WriteSync()
	if err := w.Flush(); err != nil || out.writes != 1 {
		t.Fatalf("after Reset: %v, writes = %d", err, out.writes)
	}
}

func TestWriterReleaseReturnsBufferToPool(t *testing.T) {
	pool := NewBufferPool(256)
	var out bytes.Buffer
	w := NewWriter(&out, WriterOptions{Pool: pool})
	w.WriteSync()
	if w.Release() {
		t.Fatal("Release dropped unwritten data")
	}
	w.Flush()
	if !w.Release() || w.buf != nil {
		t.Fatal("Release kept the buffer")
	}
	w.WriteSync()
	if cap(w.buf) != 256 {
		t.Fatalf("cap = %d", cap(w.buf))
	}
}

func TestWriterGrownBufferIsDroppedAfterFlush(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, WriterOptions{BufferSize: 64})
	w.WriteQuery(string(bytes.Repeat([]byte("x"), 500))) // helpers append whole messages
	if w.Buffered() != 0 || w.buf != nil {
		t.Fatalf("buffered = %d, cap = %d", w.Buffered(), cap(w.buf))
	}
	if out.Len() != 506 {
		t.Fatalf("wrote %d bytes", out.Len())
	}
}
