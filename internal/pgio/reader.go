package pgio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

const (
	// DefaultBufferSize is the size of a Reader's or Writer's buffer
	// unless told otherwise: most messages of a transaction fit in it.
	DefaultBufferSize = 8 << 10
	// DefaultMaxMessageSize bounds a message body unless told otherwise.
	// Postgres' own bound is 1 GiB; a proxy that buffers whole messages
	// for every session wants a much smaller one for untrusted peers.
	DefaultMaxMessageSize = 64 << 20
	// MaxStartupPacketSize is Postgres' bound on an untyped startup packet,
	// length word included (MAX_STARTUP_PACKET_LENGTH).
	MaxStartupPacketSize = 10000

	headerLen = 5 // type byte + int32 length

	// shrinkAfter is how many messages in a row must fit the default size
	// before an enlarged buffer is given back: a stream of large rows then
	// keeps its buffer instead of allocating one per row.
	shrinkAfter = 64
)

// MessageTooLargeError is returned when a message announces a body longer
// than the Reader's maximum. The stream cannot be resynchronized after it:
// the connection must be closed (Postgres does the same).
type MessageTooLargeError struct {
	Type byte // message type; 0 for a startup packet
	Size int  // announced body size in bytes
	Max  int  // the Reader's maximum
}

func (e *MessageTooLargeError) Error() string {
	if e.Type == 0 {
		return fmt.Sprintf("pgio: startup packet of %d bytes exceeds the maximum of %d", e.Size, e.Max)
	}
	return fmt.Sprintf("pgio: message %q of %d bytes exceeds the maximum of %d", e.Type, e.Size, e.Max)
}

// SQLError is the error to report to the peer before closing.
func (e *MessageTooLargeError) SQLError() *sqlerr.Error {
	return sqlerr.New(sqlerr.ProtocolViolation, "invalid message length").
		WithDetail("message of %d bytes exceeds the maximum of %d", e.Size, e.Max).Wrap(e)
}

// ReaderOptions shape a Reader. The zero value means the defaults.
type ReaderOptions struct {
	// BufferSize is the buffer's normal size (DefaultBufferSize, or the
	// Pool's size when a Pool is given).
	BufferSize int
	// MaxMessageSize bounds a message body (DefaultMaxMessageSize).
	MaxMessageSize int
	// Pool, if set, provides and takes back the normal-sized buffers.
	Pool *BufferPool
}

// Reader reads whole protocol messages from an io.Reader into its own
// buffer. It reads ahead as far as the data at hand goes, so Buffered tells
// whether the peer has already sent more. A Reader is not safe for
// concurrent use.
type Reader struct {
	rd io.Reader
	// wait is rd's WaitRead, if it has one: a Reader without a buffer
	// (after Release) waits with it before taking one.
	wait func() error
	buf  []byte // full length; unread data is buf[r:w]
	r    int
	w    int
	src  bufSource
	max  int
	// small counts messages in a row that fit src.size while buf is
	// larger than that.
	small int
}

// NewReader returns a Reader reading from rd. No buffer is allocated until
// the first read.
func NewReader(rd io.Reader, o ReaderOptions) *Reader {
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	r := &Reader{max: o.MaxMessageSize, src: newBufSource(o.BufferSize, o.Pool)}
	r.setSource(rd)
	return r
}

// ReadWaiter is an io.Reader that can wait until a read would find
// something (internal/netwait's Conn).
type ReadWaiter interface {
	io.Reader
	WaitRead() error
}

func (r *Reader) setSource(rd io.Reader) {
	r.rd, r.wait = rd, nil
	if w, ok := rd.(ReadWaiter); ok {
		r.wait = w.WaitRead
	}
}

// MaxMessageSize is the largest message body the Reader accepts.
func (r *Reader) MaxMessageSize() int { return r.max }

// Buffered is the number of bytes already read from the underlying reader
// but not yet returned as messages.
func (r *Reader) Buffered() int { return r.w - r.r }

// Peek returns the bytes read ahead and not yet returned as messages,
// valid until the next call of any Reader method.
func (r *Reader) Peek() []byte { return r.buf[r.r:r.w] }

// ReadMessage returns the next message's type and body. The body aliases
// the Reader's buffer: it is valid only until the next call of any Reader
// method, and the caller must not keep it or append to it beyond its
// length.
//
// An error in the middle of a message is io.ErrUnexpectedEOF (or the
// underlying reader's error); a clean end between messages is io.EOF. A
// malformed length is a *sqlerr.Error with code 08P01, a too large one a
// *MessageTooLargeError; after either the stream is lost.
func (r *Reader) ReadMessage() (typ byte, body []byte, err error) {
	if r.w-r.r < headerLen {
		if err := r.fill(headerLen); err != nil {
			return 0, nil, err
		}
	}
	typ = r.buf[r.r]
	n := int64(binary.BigEndian.Uint32(r.buf[r.r+1:]))
	if n < 4 || n > 1<<31-1 {
		return 0, nil, sqlerr.New(sqlerr.ProtocolViolation, "invalid message length %d for message type %q", n, typ)
	}
	size := int(n) - 4
	if size > r.max {
		return 0, nil, &MessageTooLargeError{Type: typ, Size: size, Max: r.max}
	}
	total := headerLen + size
	if r.w-r.r < total {
		if err := r.fill(total); err != nil {
			return 0, nil, err
		}
	}
	start := r.r + headerLen
	end := r.r + total
	r.r = end
	r.noteSize(total)
	return typ, r.buf[start:end:end], nil
}

// ReadStartup returns the body of an untyped startup-phase packet
// (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest): the bytes
// after the length word, starting with the 32-bit request code. The body
// is valid until the next call. Packets longer than MaxStartupPacketSize
// fail with a *MessageTooLargeError.
//
// After an SSLRequest a server must check that Buffered is 0 before it
// answers: bytes sent ahead of the TLS handshake were not encrypted and
// must not be taken as part of the session.
func (r *Reader) ReadStartup() ([]byte, error) {
	if err := r.fill(4); err != nil {
		return nil, err
	}
	n := int64(binary.BigEndian.Uint32(r.buf[r.r:]))
	if n > MaxStartupPacketSize {
		return nil, &MessageTooLargeError{Size: int(n), Max: MaxStartupPacketSize}
	}
	if n < 8 {
		return nil, sqlerr.New(sqlerr.ProtocolViolation, "invalid length of startup packet: %d", n)
	}
	if err := r.fill(int(n)); err != nil {
		return nil, err
	}
	start, end := r.r+4, r.r+int(n)
	r.r = end
	r.noteSize(int(n))
	return r.buf[start:end:end], nil
}

// Reset discards any buffered data and makes r read from rd, keeping its
// buffer.
func (r *Reader) Reset(rd io.Reader) {
	r.setSource(rd)
	r.r, r.w = 0, 0
}

// Release gives the buffer back (to the pool, if any) when nothing is
// buffered, and reports whether it held one. A later read gets a new
// buffer, after waiting for the peer first when the source is a
// ReadWaiter. Idle sessions' buffers are taken with it.
func (r *Reader) Release() bool {
	if r.w > r.r || r.buf == nil {
		return false
	}
	r.src.free(r.buf)
	r.buf, r.r, r.w, r.small = nil, 0, 0, 0
	return true
}

// CanWait reports whether the source can wait for its peer without a
// buffer (a ReadWaiter): only then does Wait wait.
func (r *Reader) CanWait() bool { return r.wait != nil }

// Wait waits, holding no buffer in a read, until a read may find
// something, with the source's WaitRead; it returns at once when the
// source cannot wait (CanWait). Call it only when nothing is buffered: it
// touches none of the buffer's state, so that another goroutine the
// caller hands the Reader to meanwhile may Release the buffer (the next
// read takes one).
func (r *Reader) Wait() error {
	if r.wait == nil {
		return nil
	}
	return r.wait()
}

// fill reads until at least need bytes are buffered, making room first.
func (r *Reader) fill(need int) error {
	if r.r == r.w {
		r.r, r.w = 0, 0
	}
	switch {
	case r.buf == nil:
		if r.wait != nil {
			if err := r.wait(); err != nil {
				return err
			}
		}
		r.buf = r.src.alloc()
		r.buf = r.buf[:cap(r.buf)]
		if need > len(r.buf) {
			r.grow(need)
		}
	case need > len(r.buf):
		r.grow(need)
	case len(r.buf) > r.src.size && r.small >= shrinkAfter && r.w-r.r <= r.src.size && need <= r.src.size:
		old := r.buf
		r.buf = r.src.alloc()
		r.buf = r.buf[:cap(r.buf)]
		r.w = copy(r.buf, old[r.r:r.w])
		r.r, r.small = 0, 0
	case r.r+need > len(r.buf):
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
	}
	empty := 0
	for r.w-r.r < need {
		n, err := r.rd.Read(r.buf[r.w:])
		r.w += n
		if r.w-r.r >= need {
			return nil // a late error shows up on the next read
		}
		if err != nil {
			if errors.Is(err, io.EOF) && r.w > r.r {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		if n == 0 {
			if empty++; empty >= 100 {
				return io.ErrNoProgress
			}
		}
	}
	return nil
}

// grow replaces the buffer by one that holds at least need bytes, keeping
// the unread data.
func (r *Reader) grow(need int) {
	size := 2 * len(r.buf)
	if size < need {
		size = need
	}
	if limit := headerLen + r.max; size > limit && need <= limit {
		size = limit
	}
	old := r.buf
	r.buf = make([]byte, size)
	r.w = copy(r.buf, old[r.r:r.w])
	r.r = 0
	if cap(old) == r.src.size {
		r.src.free(old)
	}
	r.small = 0
}

func (r *Reader) noteSize(total int) {
	if len(r.buf) > r.src.size && total <= r.src.size {
		r.small++
	} else {
		r.small = 0
	}
}

// bufSource hands out normal-sized buffers, from a pool if there is one.
type bufSource struct {
	size int
	pool *BufferPool
}

func newBufSource(size int, pool *BufferPool) bufSource {
	if pool != nil {
		size = pool.Size()
	}
	if size <= 0 {
		size = DefaultBufferSize
	}
	return bufSource{size: size, pool: pool}
}

func (s *bufSource) alloc() []byte {
	if s.pool != nil {
		return s.pool.get()
	}
	return make([]byte, 0, s.size)
}

// free takes back a buffer that alloc handed out; others are left to the
// garbage collector.
func (s *bufSource) free(b []byte) {
	if s.pool != nil && b != nil {
		s.pool.put(b)
	}
}
