package mysqlwire

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"time"

	"github.com/shardgate/shardgate/internal/netwait"
)

// sniffConn is the client's connection under vitess: it reads the
// client's packets before vitess does, in the session's own goroutine, to
// do what vitess does not or does wrong:
//
//   - TLS: the proxy, not vitess, ends the client's TLS, so that what
//     follows is read in clear here too. vitess announces TLS (its
//     TLSConfig is set) but never sees the client's SSL request: the
//     handshake response is handed on with the SSL bit cleared, one
//     packet number lower, and vitess's packets are numbered one higher
//     until the login ends (its OK or ERR). auth.go tells vitess's
//     caching_sha2_password that the client is on TLS.
//   - unsigned parameters: vitess decodes COM_STMT_EXECUTE's integer
//     parameters as signed (the client marks an unsigned one with 0x80 in
//     the type's flag byte, and vitess checks the column flag bit, 32), so
//     18446744073709551615 arrives as -1. The marks are kept here, per
//     statement, and execute turns those values back.
//   - prepared-statement commands with an unknown statement id (vitess
//     answers with client codes, drops the connection on COM_STMT_RESET,
//     answers COM_STMT_SEND_LONG_DATA, which has no answer, and has no
//     COM_STMT_FETCH): answered here as MariaDB does (stmtCommand).
//   - the size of a client's message (MaxMessageSize; vitess has no
//     bound) and the idle deadlines.

const (
	comStmtExecute      = 0x17
	comStmtSendLongData = 0x18
	comStmtClose        = 0x19
	comStmtReset        = 0x1a
	comStmtFetch        = 0x1c
	// maxSniffed bounds the COM_STMT_EXECUTE payload kept (the parameter
	// types come before the values).
	maxSniffed = 1 << 16
	// maxHello bounds the client's handshake response.
	maxHello  = 1 << 16
	clientSSL = 0x800
)

type sniffConn struct {
	net.Conn // the client's socket
	s        *Server
	id       uint32
	ss       *session // found on first use

	r   *bufio.Reader // the client's bytes: the socket's, or TLS's over it
	w   io.Writer     // to the client
	tls *tls.Conn     // set once the client switched to TLS

	hello bool   // the handshake response was handed on
	shift byte   // packet numbers vitess and the client disagree by (login over TLS)
	out   []byte // bytes for vitess before reading on
	buf   []byte
	hold  []byte  // the start of a prepared-statement command
	rh    [4]byte // the header being read
	pass  int     // payload bytes of the current packet to hand on unread
	drop  bool    // the current message is answered here: its further packets are dropped

	// msg is the size of the client's current message so far (a message
	// is packets of 0xffffff bytes and a shorter last one).
	msg  int
	more bool

	// The write side while shift is set: where vitess's packets start.
	whdr   [4]byte
	whdrN  int
	wleft  int
	wfirst bool // the payload's first byte is still to come
	wlast  bool // the packet being written ends the login

	// longDataErr: statements a COM_STMT_SEND_LONG_DATA named a parameter
	// they do not have; their next execution fails (MariaDB's 1210).
	longDataErr map[uint32]bool
	// types are the parameter types last bound per statement.
	types map[uint32][]byte
	// longData: statements a COM_STMT_SEND_LONG_DATA sent a value to since
	// their last execution (which then runs as text).
	longData map[uint32]bool
	// exec is the COM_STMT_EXECUTE being handed on, when held whole (its
	// bytes are hold's until the next command): the session executes it
	// on the server as the client sent it (execParams).
	exec struct {
		id    uint32
		b     []byte
		whole bool
	}

	// end turns vitess's OK after a raw-forwarded result into the
	// result's end (rawend.go).
	end rawEnd
	// endBuf holds a direct answer's last packet; directing is set while
	// one is written (direct_conn.go).
	endBuf    [4 + 1 + 9 + 9 + 4]byte
	directing bool
}

// init readies a sniffConn made as &sniffConn{Conn, s, id} (server.go).
func (c *sniffConn) init() {
	if c.r == nil {
		// Requests come after answers: a read that cannot find the next
		// one yet waits for it without a system call first
		// (internal/netwait).
		nc := netwait.Wrap(c.Conn)
		if w, ok := nc.(*netwait.Conn); ok && c.s != nil {
			w.SetSpin(c.s.o.Spin, true)
		}
		c.r, c.w = bufio.NewReaderSize(nc, 16<<10), nc
	}
}

// errPacketTooBig ends a client whose message passed MaxMessageSize.
var errPacketTooBig = errors.New("mysqlwire: client packet over the size limit")

func (c *sniffConn) Read(p []byte) (int, error) {
	c.init()
	c.idleDeadline()
	for {
		if len(c.out) > 0 {
			n := copy(p, c.out)
			c.out = c.out[n:]
			return n, nil
		}
		if c.pass > 0 {
			n, err := c.r.Read(p[:min(len(p), c.pass)])
			c.pass -= n
			return n, err
		}
		if err := c.next(); err != nil {
			return 0, err
		}
	}
}

func (c *sniffConn) Write(p []byte) (int, error) {
	c.init()
	c.end.wrote.Store(true)
	if c.end.on.Load() {
		return c.writeEnding(p)
	}
	if c.shift == 0 {
		return c.w.Write(p)
	}
	return c.writeShifted(p)
}

func (c *sniffConn) Close() error {
	if c.tls != nil {
		return c.tls.Close()
	}
	return c.Conn.Close()
}

// next reads the next packet's header and decides what vitess gets of it.
func (c *sniffConn) next() error {
	if _, err := io.ReadFull(c.r, c.rh[:]); err != nil {
		return err
	}
	h := c.rh
	n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
	first := !c.more
	if first {
		c.msg = 0
		c.drop = false
		c.exec.whole = false
	}
	c.msg += n
	c.more = n == 0xffffff
	if !c.hello {
		return c.handshake(h, n)
	}
	if max := c.s.o.MaxMessageSize; max > 0 && c.msg > max {
		c.refuseTooBig(h[3])
		return errPacketTooBig
	}
	if c.shift != 0 {
		h[3] -= c.shift
	}
	if first {
		c.rawCommand(h[3])
	} else {
		c.end.cmdSeq = h[3]
	}
	switch {
	case !first && c.drop:
		_, err := c.r.Discard(n)
		return err
	case first && h[3] == 0 && n > 0 && c.shift == 0:
		b, err := c.r.Peek(1)
		if err != nil {
			return err
		}
		switch b[0] {
		case comStmtExecute, comStmtSendLongData, comStmtClose, comStmtReset, comStmtFetch:
			return c.stmtCommand(h, n)
		case comQuery:
			if n <= maxSniffed {
				return c.queryCommand(h, n) // direct_conn.go
			}
		case comResetConnection:
			if n == 1 {
				return c.resetCommand() // direct_conn.go
			}
		}
	}
	c.buf = append(c.buf[:0], h[:]...)
	c.out, c.pass = c.buf, n
	return nil
}

// handshake reads the client's handshake response: an SSL request
// switches to TLS and the response that follows is read; a clear-text one
// is refused when TLS is required.
func (c *sniffConn) handshake(h [4]byte, n int) error {
	if n > maxHello {
		return errPacketTooBig
	}
	b := make([]byte, 4+n)
	copy(b, h[:])
	if _, err := io.ReadFull(c.r, b[4:]); err != nil {
		return err
	}
	ssl := n >= 4 && binary.LittleEndian.Uint32(b[4:])&clientSSL != 0
	switch {
	case ssl && c.tls == nil && c.s.o.TLS != nil:
		return c.startTLS()
	case c.tls != nil:
		b[5] &^= clientSSL >> 8 // vitess must not switch to TLS itself
		b[3] -= c.shift
	case c.s.o.RequireTLS:
		c.answer(h[3]+1, 3159, "HY000", "Connections using insecure transport are prohibited: shardgate requires TLS (SSL) from its clients")
		return errors.New("mysqlwire: client without TLS refused")
	}
	c.hello = true
	c.out = b
	return nil
}

// startTLS ends the client's TLS here; its bytes already read are its
// first TLS bytes.
func (c *sniffConn) startTLS() error {
	tc := tls.Server(bufferedConn{c.Conn, c.r}, c.s.o.TLS)
	_ = c.Conn.SetDeadline(time.Now().Add(10 * time.Second))
	err := tc.Handshake()
	_ = c.Conn.SetDeadline(time.Time{})
	if err != nil {
		return err
	}
	c.tls, c.r, c.w, c.shift = tc, bufio.NewReaderSize(tc, 16<<10), tc, 1
	return nil
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// writeShifted numbers vitess's login packets one higher, as the client
// counted the SSL request vitess did not see, until vitess's OK or ERR
// ends the login.
func (c *sniffConn) writeShifted(p []byte) (int, error) {
	q := append([]byte(nil), p...)
	for i := 0; i < len(q) && c.shift != 0; {
		if c.wleft == 0 && c.whdrN < 4 {
			k := copy(c.whdr[c.whdrN:], q[i:])
			c.whdrN += k
			i += k
			if c.whdrN == 4 {
				q[i-1] += c.shift // the sequence byte, the header's last
				c.wleft = int(c.whdr[0]) | int(c.whdr[1])<<8 | int(c.whdr[2])<<16
				c.wfirst, c.wlast = c.wleft > 0, false
				if c.wleft == 0 {
					c.whdrN = 0
				}
			}
			continue
		}
		if c.wfirst {
			c.wfirst = false
			c.wlast = q[i] == 0x00 || q[i] == 0xff // OK or ERR: the login's end
		}
		k := min(c.wleft, len(q)-i)
		c.wleft -= k
		i += k
		if c.wleft == 0 {
			c.whdrN = 0
			if c.wlast {
				c.shift = 0
			}
		}
	}
	if _, err := c.w.Write(q); err != nil {
		return 0, err
	}
	return len(p), nil
}

// refuseTooBig answers, as MariaDB does, with ER_NET_PACKET_TOO_LARGE
// before the connection closes.
func (c *sniffConn) refuseTooBig(seq byte) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	c.answer(seq+1, 1153, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes")
}

// answer writes an ERR packet to the client. vitess is waiting for the
// client's next command meanwhile: it writes nothing.
func (c *sniffConn) answer(seq byte, num uint16, state, msg string) {
	p := appendErr([]byte{0, 0, 0, seq}, num, state, msg)
	n := len(p) - 4
	p[0], p[1], p[2] = byte(n), byte(n>>8), byte(n>>16)
	_, _ = c.w.Write(p)
}

// appendErr appends an ERR packet's payload: 0xff, the error number, '#'
// and the SQLSTATE (HY000 unless 5 characters), the message.
func appendErr(b []byte, num uint16, state, msg string) []byte {
	if len(state) != 5 {
		state = "HY000"
	}
	b = append(b, 0xff, byte(num), byte(num>>8), '#')
	b = append(b, state...)
	return append(b, msg...)
}

// idleDeadline bounds the wait for the client's next bytes: a client idle
// this long is closed (IdleTimeout outside a transaction,
// IdleInTxTimeout inside one, where it holds a server connection).
func (c *sniffConn) idleDeadline() {
	o := &c.s.o
	if o.IdleTimeout <= 0 && o.IdleInTxTimeout <= 0 {
		return
	}
	c.session()
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
