package pgio

import (
	"bytes"
	"encoding/binary"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// malformed is the error of every decoder: a protocol violation, as
// Postgres reports it.
func malformed(msg, what string) *sqlerr.Error {
	return sqlerr.New(sqlerr.ProtocolViolation, "invalid %s message: %s", msg, what)
}

// decoder walks a message body. The first failure sticks; the values read
// after it are zero.
type decoder struct {
	b   []byte
	msg string // message name for errors
	err *sqlerr.Error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = malformed(d.msg, what)
	}
	d.b = nil
}

// cstring returns the bytes up to the next NUL, without it, as a view
// into the body.
func (d *decoder) cstring() []byte {
	if d.err != nil {
		return nil
	}
	i := bytes.IndexByte(d.b, 0)
	if i < 0 {
		d.fail("unterminated string")
		return nil
	}
	s := d.b[:i:i]
	d.b = d.b[i+1:]
	return s
}

func (d *decoder) byte1() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail("insufficient data left in message")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uint16() uint16 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 2 {
		d.fail("insufficient data left in message")
		return 0
	}
	v := binary.BigEndian.Uint16(d.b)
	d.b = d.b[2:]
	return v
}

func (d *decoder) uint32() uint32 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 4 {
		d.fail("insufficient data left in message")
		return 0
	}
	v := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

// bytes returns the next n bytes as a view into the body.
func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.fail("insufficient data left in message")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// end fails if anything is left over and returns the sticky error as an
// error (a nil *sqlerr.Error must not become a non-nil error).
func (d *decoder) end() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing data in message")
	}
	if d.err != nil {
		return d.err
	}
	return nil
}
