package mysqlwire

import (
	"encoding/binary"
	"errors"
	"net"
	"strconv"
	"time"

	"vitess.io/vitess/go/sqltypes"
	querypb "vitess.io/vitess/go/vt/proto/query"
)

// vitess decodes COM_STMT_EXECUTE's integer parameters as signed: the
// client marks an unsigned one with 0x80 in the type's flag byte, and
// vitess checks the column flag bit (32) instead, so 18446744073709551615
// arrives as -1. The flag never reaches the handler. sniffConn reads the
// client's packets as they pass (in the session's own goroutine, before
// vitess hands the command over) and keeps, per statement, which
// parameters the client marked unsigned; execute turns those back.
//
// Over TLS the bytes under vitess are encrypted, so this works for
// clear-text clients only: sniffing stops at the SSL request. The same
// reading bounds a clear-text client's message size (MaxMessageSize;
// vitess has no bound) and sets the idle deadlines (for every client).

const (
	comStmtExecute = 0x17
	// maxSniffed bounds the COM_STMT_EXECUTE payload kept (the parameter
	// types come before the values).
	maxSniffed = 1 << 16
	clientSSL  = 0x800
)

type sniffConn struct {
	net.Conn
	s  *Server
	id uint32
	ss *session // found on first use

	hdr   [4]byte
	hdrN  int
	left  int    // payload bytes of the current packet not read yet
	keep  bool   // the current packet's start is being kept
	buf   []byte // the kept start of the current packet
	first bool   // the client's first packet was seen
	off   bool

	// msg is the size of the client's current message so far (a message
	// is packets of 0xffffff bytes and a shorter last one); tooBig is set
	// when it passes MaxMessageSize.
	msg    int
	more   bool
	tooBig bool
}

// errPacketTooBig ends a client whose message passed MaxMessageSize.
var errPacketTooBig = errors.New("mysqlwire: client packet over the size limit")

func (c *sniffConn) Read(p []byte) (int, error) {
	c.idleDeadline()
	n, err := c.Conn.Read(p)
	if !c.off && n > 0 {
		c.feed(p[:n])
		if c.tooBig {
			c.off = true
			c.refuseTooBig()
			return 0, errPacketTooBig
		}
	}
	return n, err
}

// refuseTooBig answers, as MariaDB does, with ER_NET_PACKET_TOO_LARGE
// before the connection closes. vitess is reading, not writing, so the
// packet goes straight to the socket.
func (c *sniffConn) refuseTooBig() {
	msg := "Got a packet bigger than 'max_allowed_packet' bytes"
	body := append([]byte{0xff, 0x81, 0x04, '#'}, "08S01"+msg...) // 1153
	hdr := []byte{byte(len(body)), byte(len(body) >> 8), byte(len(body) >> 16), c.hdr[3] + 1}
	_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Conn.Write(append(hdr, body...))
}

func (c *sniffConn) feed(b []byte) {
	for len(b) > 0 && !c.off {
		if c.left == 0 && c.hdrN < 4 {
			k := copy(c.hdr[c.hdrN:], b)
			c.hdrN += k
			b = b[k:]
			if c.hdrN < 4 {
				return
			}
			c.left = int(c.hdr[0]) | int(c.hdr[1])<<8 | int(c.hdr[2])<<16
			if !c.more {
				c.msg = 0
			}
			c.msg += c.left
			c.more = c.left == 0xffffff
			if max := c.s.o.MaxMessageSize; c.first && max > 0 && c.msg > max {
				c.tooBig = true
				return
			}
			c.buf = c.buf[:0]
			c.keep = true
			if c.left == 0 {
				c.hdrN = 0
				c.packet()
			}
			continue
		}
		k := min(c.left, len(b))
		if c.keep {
			room := maxSniffed - len(c.buf)
			c.buf = append(c.buf, b[:min(k, max(room, 0))]...)
			if len(c.buf) > 0 && !c.first && len(c.buf) >= 4 {
				// The handshake response: stop at an SSL request.
				if binary.LittleEndian.Uint32(c.buf)&clientSSL != 0 {
					c.off = true
					return
				}
			}
			if len(c.buf) > 0 && c.first && (c.hdr[3] != 0 || c.buf[0] != comStmtExecute) {
				c.keep = false
			}
		}
		c.left -= k
		b = b[k:]
		if c.left == 0 {
			c.hdrN = 0
			c.packet()
		}
	}
}

// packet ends a packet: the first one is the handshake response; a
// COM_STMT_EXECUTE that sends its parameter types updates the statement's
// unsigned marks.
func (c *sniffConn) packet() {
	if !c.first {
		c.first = true
		return
	}
	if !c.keep || len(c.buf) == 0 || c.buf[0] != comStmtExecute {
		return
	}
	if c.ss == nil {
		c.ss = c.s.session(c.id)
	}
	ss := c.ss
	if ss == nil || len(c.buf) < 10 {
		return
	}
	stmtID := binary.LittleEndian.Uint32(c.buf[1:])
	prep, ok := ss.c.PrepareData[stmtID]
	if !ok || prep.ParamsCount == 0 {
		return
	}
	n := int(prep.ParamsCount)
	pos := 10 + (n+7)/8
	if pos >= len(c.buf) || c.buf[pos] != 1 || pos+1+2*n > len(c.buf) {
		return // no types sent: the last ones hold
	}
	marks := make([]bool, n)
	for i := range n {
		marks[i] = c.buf[pos+2+2*i]&0x80 != 0
	}
	if ss.unsigned == nil {
		ss.unsigned = map[uint32][]bool{}
	}
	ss.unsigned[stmtID] = marks
}

// idleDeadline bounds the wait for the client's next bytes: a client idle
// this long is closed (IdleTimeout outside a transaction,
// IdleInTxTimeout inside one, where it holds a server connection).
func (c *sniffConn) idleDeadline() {
	o := &c.s.o
	if o.IdleTimeout <= 0 && o.IdleInTxTimeout <= 0 {
		return
	}
	if c.ss == nil {
		c.ss = c.s.session(c.id)
	}
	d := o.IdleTimeout
	if ss := c.ss; ss != nil && (ss.holding.Load() || ss.txBegin != "") {
		d = o.IdleInTxTimeout
	}
	var t time.Time
	if d > 0 {
		t = time.Now().Add(d)
	}
	_ = c.Conn.SetReadDeadline(t)
}

// unsignedValue re-reads a parameter vitess decoded as signed that the
// client marked unsigned.
func unsignedValue(bv *querypb.BindVariable) *querypb.BindVariable {
	v, err := strconv.ParseInt(string(bv.Value), 10, 64)
	if err != nil || v >= 0 {
		return bv
	}
	var u uint64
	switch bv.Type {
	case sqltypes.Int8:
		u = uint64(uint8(v))
	case sqltypes.Int16:
		u = uint64(uint16(v))
	case sqltypes.Int24, sqltypes.Int32:
		u = uint64(uint32(v))
	case sqltypes.Int64:
		u = uint64(v)
	default:
		return bv
	}
	return &querypb.BindVariable{Type: sqltypes.Uint64, Value: strconv.AppendUint(nil, u, 10)}
}
