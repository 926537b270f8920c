package pgio

import (
	"encoding/binary"
	"io"
)

// WriterOptions shape a Writer. The zero value means the defaults.
type WriterOptions struct {
	// BufferSize is how much the Writer gathers before it writes on its
	// own (DefaultBufferSize, or the Pool's size when a Pool is given).
	BufferSize int
	// Pool, if set, provides and takes back the normal-sized buffers.
	Pool *BufferPool
}

// Writer gathers protocol messages in a buffer and writes them to an
// io.Writer when the buffer is full or on Flush. The first write error is
// kept: every later call returns it and writes nothing. A Writer is not
// safe for concurrent use.
//
// The Write* methods for single messages append them to the buffer without
// allocating; their error is the kept error, if any, so a relay loop may
// check only the error of Flush.
type Writer struct {
	wr  io.Writer
	buf []byte // len(buf) bytes are waiting
	src bufSource
	err error
	// writes counts the writes to wr: a Mark is good while it is unchanged.
	writes uint64
}

// Mark is a point in a Writer's output (see Rewind).
type Mark struct {
	writes uint64
	n      int
}

// Mark returns the current point of the output.
func (w *Writer) Mark() Mark { return Mark{writes: w.writes, n: len(w.buf)} }

// Rewind drops everything written since m, if none of it has left the
// buffer; it reports whether it could. (A read that failed before any byte
// of its answer reached the client may then run again elsewhere.)
func (w *Writer) Rewind(m Mark) bool {
	if !w.Rewindable(m) {
		return false
	}
	w.buf = w.buf[:m.n]
	return true
}

// Rewindable reports whether Rewind(m) would succeed.
func (w *Writer) Rewindable(m Mark) bool {
	return w.err == nil && w.writes == m.writes && len(w.buf) >= m.n
}

// NewWriter returns a Writer writing to wr. No buffer is allocated until
// the first write.
func NewWriter(wr io.Writer, o WriterOptions) *Writer {
	return &Writer{wr: wr, src: newBufSource(o.BufferSize, o.Pool)}
}

// Buffered is the number of bytes waiting to be written.
func (w *Writer) Buffered() int { return len(w.buf) }

// Err is the first write error, if any.
func (w *Writer) Err() error { return w.err }

// Flush writes everything buffered.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	return w.flushBuf()
}

// Reset discards anything buffered and the kept error, and makes w write
// to wr, keeping its buffer.
func (w *Writer) Reset(wr io.Writer) {
	w.wr = wr
	w.err = nil
	w.buf = w.buf[:0]
}

// Release gives the buffer back (to the pool, if any) when nothing is
// buffered, and reports whether it held one.
func (w *Writer) Release() bool {
	if len(w.buf) > 0 || w.buf == nil {
		return false
	}
	w.src.free(w.buf)
	w.buf = nil
	return true
}

// WriteRaw writes one message of type typ with the given body, as read
// from a peer. A body larger than the buffer is written straight through
// after what is buffered, without being copied.
func (w *Writer) WriteRaw(typ byte, body []byte) error {
	if w.err != nil {
		return w.err
	}
	n := headerLen + len(body)
	w.start()
	if n > w.src.size {
		w.buf = appendHeader(w.buf, typ, len(body))
		if err := w.flushBuf(); err != nil {
			return err
		}
		w.writes++
		if _, err := w.wr.Write(body); err != nil {
			w.err = err
		}
		return w.err
	}
	if len(w.buf)+n > w.src.size {
		if err := w.flushBuf(); err != nil {
			return err
		}
		w.start()
	}
	w.buf = appendHeader(w.buf, typ, len(body))
	w.buf = append(w.buf, body...)
	return nil
}

// Write appends p, which must hold whole framed messages, to the buffer;
// it makes a Writer an io.Writer for code that frames its own messages.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	w.start()
	w.buf = append(w.buf, p...)
	return len(p), w.flushIfFull()
}

// Encoder is a message that appends its own framing, such as the message
// types of pgx's pgproto3.
type Encoder interface {
	Encode(dst []byte) ([]byte, error)
}

// WriteMessage appends m's encoding, for the rarer messages this package
// has no helper for.
func (w *Writer) WriteMessage(m Encoder) error {
	if w.err != nil {
		return w.err
	}
	w.start()
	b, err := m.Encode(w.buf)
	if err != nil {
		return err // w.buf is unchanged: the message was not framed
	}
	w.buf = b
	return w.flushIfFull()
}

// appended finishes a Write* helper: b is w.buf with one message added.
func (w *Writer) appended(b []byte) error {
	w.buf = b
	return w.flushIfFull()
}

// start makes sure there is a buffer to append to.
func (w *Writer) start() {
	if w.buf == nil {
		w.buf = w.src.alloc()
	}
}

// next is the buffer to append the next message to.
func (w *Writer) next() []byte {
	w.start()
	return w.buf
}

func (w *Writer) flushIfFull() error {
	if len(w.buf) >= w.src.size {
		return w.flushBuf()
	}
	return nil
}

func (w *Writer) flushBuf() error {
	if len(w.buf) == 0 {
		return nil
	}
	w.writes++
	if _, err := w.wr.Write(w.buf); err != nil {
		w.err = err
		return err
	}
	if cap(w.buf) > w.src.size {
		// A message larger than the buffer made it grow: drop that one.
		w.buf = nil
	} else {
		w.buf = w.buf[:0]
	}
	return nil
}

func appendHeader(dst []byte, typ byte, bodyLen int) []byte {
	return append(dst, typ, byte(uint32(bodyLen+4)>>24), byte(uint32(bodyLen+4)>>16), byte(uint32(bodyLen+4)>>8), byte(uint32(bodyLen+4)))
}

// begin starts a message of type typ in dst and returns where it starts;
// finish fills in its length.
func begin(dst []byte, typ byte) ([]byte, int) {
	return append(dst, typ, 0, 0, 0, 0), len(dst)
}

func finish(dst []byte, start int) []byte {
	binary.BigEndian.PutUint32(dst[start+1:], uint32(len(dst)-start-1))
	return dst
}
