package mysqlwire

import (
	"errors"
	"sync"
	"sync/atomic"
)

// The end of a raw-forwarded result (session_raw.go) on the client's
// connection. The session writes the result's packets through vitess's
// Conn.WritePacket, but vitess's command loop still wants its callback
// called once, and answers a Result without fields with an OK packet.
// That OK is turned here into the packet that ends a result set: an EOF
// (fe, warnings, status flags) for a client without CLIENT_DEPRECATE_EOF,
// else the same OK with the EOF header (fe). The OK carries what the end
// must: the session's status flags, SERVER_MORE_RESULTS_EXISTS when more
// statements of the text follow (vitess knows, the handler does not), the
// warning count; and its packet number is the next one.
//
// To find that OK's first byte, the session flushes vitess's buffer
// before calling back (holdWrites, then armEnd): the next bytes vitess
// writes start at the OK's header. The flushed bytes are held and written
// with the OK's replacement, so a result costs one write to the socket,
// as before.
//
// vitess flushes its buffer from a timer goroutine too (when a command
// runs long): the state below is under wmu.

// errRawEnd: vitess did not write the OK the session's callback asks for.
var errRawEnd = errors.New("mysqlwire: unexpected packet at the end of a forwarded result")

// rawEnd is sniffConn's write-side state for ending a forwarded result.
type rawEnd struct {
	on       atomic.Bool // holding writes
	wmu      sync.Mutex
	armed    bool   // the next packet is vitess's OK
	eof      bool   // the client wants an EOF (no CLIENT_DEPRECATE_EOF)
	warnings uint16 // the result's (vitess's OK after COM_STMT_EXECUTE has 0)

	held  []byte // bytes written since holdWrites
	hdr   [4]byte
	hdrN  int
	left  int
	body  [16]byte
	bodyN int
}

// holdWrites starts keeping what vitess writes instead of sending it.
func (c *sniffConn) holdWrites() { c.end.on.Store(true) }

// armEnd: the next packet vitess writes is the OK to turn into the end of
// the result set (as an EOF when eof), with warnings.
func (c *sniffConn) armEnd(eof bool, warnings uint16) {
	e := &c.end
	e.wmu.Lock()
	e.armed, e.eof, e.warnings, e.hdrN, e.left, e.bodyN = true, eof, warnings, 0, 0, 0
	e.wmu.Unlock()
}

// writeEnding is Write while writes are held.
func (c *sniffConn) writeEnding(p []byte) (int, error) {
	e := &c.end
	e.wmu.Lock()
	defer e.wmu.Unlock()
	n := len(p)
	if !e.armed {
		e.held = append(e.held, p...)
		return n, nil
	}
	for {
		if e.hdrN < 4 {
			if len(p) == 0 {
				return n, nil
			}
			k := copy(e.hdr[e.hdrN:], p)
			e.hdrN += k
			p = p[k:]
			if e.hdrN == 4 {
				e.left = int(e.hdr[0]) | int(e.hdr[1])<<8 | int(e.hdr[2])<<16
			}
			continue
		}
		if e.left > 0 {
			if len(p) == 0 {
				return n, nil
			}
			k := min(e.left, len(p))
			e.bodyN += copy(e.body[e.bodyN:], p[:k])
			e.left -= k
			p = p[k:]
			continue
		}
		break
	}
	// The OK is whole: 00, affected rows 0, insert id 0, status flags,
	// warnings (the listener never sends session state).
	size := int(e.hdr[0]) | int(e.hdr[1])<<8 | int(e.hdr[2])<<16
	e.armed = false
	c.end.on.Store(false)
	out := e.held
	e.held = e.held[:0]
	if cap(e.held) > 64<<10 {
		e.held = nil
	}
	if size != 7 || e.body[0] != 0x00 || e.body[1] != 0 || e.body[2] != 0 {
		return 0, errRawEnd
	}
	b := e.body[:7]
	b[5], b[6] = byte(e.warnings), byte(e.warnings>>8)
	if e.eof {
		// EOF: fe, warnings, status flags.
		out = append(out, 5, 0, 0, e.hdr[3], 0xfe, b[5], b[6], b[3], b[4])
	} else {
		out = append(out, 7, 0, 0, e.hdr[3], 0xfe, 0, 0, b[3], b[4], b[5], b[6])
	}
	out = append(out, p...)
	if _, err := c.w.Write(out); err != nil {
		return 0, err
	}
	return n, nil
}
