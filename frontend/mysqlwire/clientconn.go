package mysqlwire

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"time"

	vmysql "vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/sqltypes"
	querypb "vitess.io/vitess/go/vt/proto/query"

	mysqlbackend "github.com/shardgate/shardgate/backend/mysql"
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

// stmtCommand reads a prepared-statement command (whose header h has
// been read) and either hands it on to vitess or answers it here as
// MariaDB would: an unknown statement id is 1243 (COM_STMT_SEND_LONG_DATA,
// which has no answer, is dropped), a packet too short 1835, a fetch (the
// proxy opens no cursors) 1421. It keeps the unsigned marks of an
// execution that sends its parameter types.
func (c *sniffConn) stmtCommand(h [4]byte, n int) error {
	if cap(c.hold) < min(n, maxSniffed) {
		c.hold = make([]byte, min(n, maxSniffed))
	}
	b := c.hold[:min(n, maxSniffed)]
	if _, err := io.ReadFull(c.r, b); err != nil {
		return err
	}
	rest := n - len(b)
	cmd := b[0]
	c.session()
	var prep *vmysql.PrepareData
	var id uint32
	if len(b) >= 5 {
		id = binary.LittleEndian.Uint32(b[1:])
		if c.ss != nil {
			prep = c.ss.c.PrepareData[id]
		}
	}
	answer := func(num uint16, msg string) error {
		c.s.errors.Add(1)
		c.answer(1, num, "HY000", msg)
		return c.dropRest(rest)
	}
	switch cmd {
	case comStmtSendLongData:
		if len(b) < 7 || prep == nil {
			return c.dropRest(rest)
		}
		if int(binary.LittleEndian.Uint16(b[5:])) >= int(prep.ParamsCount) {
			c.noteLongDataErr(id, true)
			return c.dropRest(rest)
		}
		if c.longData == nil {
			c.longData = map[uint32]bool{}
		}
		c.longData[id] = true
	case comStmtClose:
		if prep != nil {
			c.noteLongDataErr(id, false)
			delete(c.ss.unsigned, id)
			delete(c.ss.prepared, id)
			delete(c.types, id)
			delete(c.longData, id)
		}
	case comStmtExecute, comStmtReset, comStmtFetch:
		switch {
		case cmd == comStmtExecute && len(b) < 10, len(b) < 5:
			return answer(1835, "Malformed communication packet")
		case prep == nil:
			return answer(1243, "Unknown prepared statement handler ("+strconv.FormatUint(uint64(id), 10)+") given to "+stmtFunction(cmd))
		case cmd == comStmtFetch:
			return answer(1421, "The statement ("+strconv.FormatUint(uint64(id), 10)+") has no open cursor")
		case cmd == comStmtExecute && c.longDataErr[id]:
			c.noteLongDataErr(id, false)
			return answer(1210, "Incorrect arguments to mysqld_stmt_send_long_data")
		case cmd == comStmtReset:
			c.noteLongDataErr(id, false)
			delete(c.longData, id)
			// vitess's reset leaves each value sent as nil, and a
			// COM_STMT_SEND_LONG_DATA after it appends to that nil and
			// panics (closing the client): no values left, none to nil.
			clear(prep.BindVars)
		case cmd == comStmtExecute:
			if num, msg := c.checkExecute(b, rest == 0 && !c.more, id, prep); num != 0 {
				return answer(num, msg)
			}
			c.unsignedMarks(b, id, prep)
			c.exec.id, c.exec.b = id, b
			c.exec.whole = rest == 0 && !c.more && !c.longData[id]
			delete(c.longData, id)
			if c.exec.whole {
				if handled, err := c.directExecute(id, prep, b); handled {
					return err // answered: nothing for vitess
				}
			}
		}
	}
	c.buf = append(append(c.buf[:0], h[:]...), b...)
	c.out, c.pass = c.buf, rest
	return nil
}

// stmtFunction is MariaDB's name for a command in its messages.
func stmtFunction(cmd byte) string {
	switch cmd {
	case comStmtExecute:
		return "mysqld_stmt_execute"
	case comStmtReset:
		return "mysqld_stmt_reset"
	}
	return "mysqld_stmt_fetch"
}

// dropRest skips the rest of a packet answered here (and, through drop,
// any further packets of its message).
func (c *sniffConn) dropRest(rest int) error {
	c.drop = c.more
	_, err := c.r.Discard(rest)
	return err
}

func (c *sniffConn) noteLongDataErr(id uint32, on bool) {
	if on {
		if c.longDataErr == nil {
			c.longDataErr = map[uint32]bool{}
		}
		c.longDataErr[id] = true
	} else {
		delete(c.longDataErr, id)
	}
}

// checkExecute reads a COM_STMT_EXECUTE (its start b, all of it if
// whole) as MariaDB does before vitess decodes it, and returns the error
// MariaDB answers a malformed one with (0: none; vitess would answer with
// client codes, 2027). It sets the iteration count to 1: MariaDB ignores
// it without its bulk flag, vitess refuses any other.
func (c *sniffConn) checkExecute(b []byte, whole bool, id uint32, prep *vmysql.PrepareData) (uint16, string) {
	const args = "Incorrect arguments to mysqld_stmt_execute"
	binary.LittleEndian.PutUint32(b[6:], 1)
	n := int(prep.ParamsCount)
	if n == 0 {
		return 0, ""
	}
	pos, bm := 10, (n+7)/8
	if len(b) < pos+bm+1 {
		if !whole {
			return 0, ""
		}
		return 1210, args
	}
	nulls := b[pos : pos+bm]
	pos += bm
	types := c.types[id]
	if b[pos] == 1 {
		pos++
		if len(b) < pos+2*n {
			if !whole {
				return 0, ""
			}
			return 1835, "Malformed communication packet"
		}
		types = b[pos : pos+2*n]
		if c.types == nil {
			c.types = map[uint32][]byte{}
		}
		c.types[id] = append(c.types[id][:0], types...)
		pos += 2 * n
	} else {
		pos++
		if types == nil {
			return 1210, args // no types were ever bound
		}
	}
	if !whole {
		return 0, "" // the values go on past what is held: vitess reads them
	}
	for i := range n {
		if nulls[i/8]&(1<<(i%8)) != 0 || len(prep.BindVars) > 0 && prep.BindVars["v"+itoa(i+1)] != nil {
			continue // NULL, or sent as long data
		}
		size := paramSize(types[2*i], b[pos:])
		if size < 0 || pos+size > len(b) {
			return 1210, args
		}
		pos += size
	}
	return 0, ""
}

// paramSize is the size of a binary-protocol value of type typ at the
// start of v (-1: it cannot be read).
func paramSize(typ byte, v []byte) int {
	switch typ {
	case 6: // NULL
		return 0
	case 1: // TINY
		return 1
	case 2, 13: // SHORT, YEAR
		return 2
	case 3, 9, 4: // LONG, INT24, FLOAT
		return 4
	case 8, 5: // LONGLONG, DOUBLE
		return 8
	case 7, 10, 11, 12: // TIMESTAMP, DATE, TIME, DATETIME: a length, then that
		if len(v) < 1 {
			return -1
		}
		return 1 + int(v[0])
	}
	// Strings, decimals, blobs, …: a length-encoded string.
	n, start, ok := mysqlbackend.LenEnc(v, 0)
	if !ok || n >= 1<<31 {
		return -1
	}
	return start + int(n)
}

// unsignedMarks updates, from a COM_STMT_EXECUTE that sends its parameter
// types, which of the statement's parameters are unsigned.
func (c *sniffConn) unsignedMarks(b []byte, id uint32, prep *vmysql.PrepareData) {
	ss := c.ss
	if prep.ParamsCount == 0 {
		return
	}
	n := int(prep.ParamsCount)
	pos := 10 + (n+7)/8
	if pos >= len(b) || b[pos] != 1 || pos+1+2*n > len(b) {
		return // no types sent: the last ones hold
	}
	marks := ss.unsigned[id]
	if len(marks) != n {
		marks = make([]byte, n)
	}
	for i := range n {
		marks[i] = 0
		if b[pos+2+2*i]&0x80 != 0 {
			marks[i] = b[pos+1+2*i] // the type, whose width says how to read it
		}
	}
	if ss.unsigned == nil {
		ss.unsigned = map[uint32][]byte{}
	}
	ss.unsigned[id] = marks
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

// unsignedValue re-reads a parameter vitess decoded as signed that the
// client marked unsigned, as an integer of the width of its protocol type
// typ (vitess's value says INT64 for every signed width).
func unsignedValue(bv *querypb.BindVariable, typ byte) *querypb.BindVariable {
	v, err := strconv.ParseInt(string(bv.Value), 10, 64)
	if err != nil || v >= 0 || !sqltypes.IsSigned(bv.Type) {
		return bv
	}
	var u uint64
	switch typ {
	case 1: // TINY
		u = uint64(uint8(v))
	case 2: // SHORT
		u = uint64(uint16(v))
	case 3, 9: // LONG, INT24 (four bytes on the wire)
		u = uint64(uint32(v))
	case 8: // LONGLONG
		u = uint64(v)
	default:
		return bv
	}
	return &querypb.BindVariable{Type: sqltypes.Uint64, Value: strconv.AppendUint(nil, u, 10)}
}

// execParams are the parameters of the COM_STMT_EXECUTE of statement id
// being handed on, as the client sent them, with the types last bound
// (a client sends them only when they change); false: not held whole,
// values sent as long data, or not readable.
func (c *sniffConn) execParams(id uint32, count int) (mysqlbackend.ExecParams, bool) {
	if !c.exec.whole || c.exec.id != id {
		return mysqlbackend.ExecParams{}, false
	}
	if count == 0 {
		return mysqlbackend.ExecParams{}, true
	}
	b := c.exec.b
	bm := (count + 7) / 8
	pos := 10 + bm
	if len(b) <= pos {
		return mysqlbackend.ExecParams{}, false
	}
	nulls := b[10:pos]
	if b[pos] == 1 {
		pos += 2 * count
	}
	pos++
	types := c.types[id]
	if len(types) != 2*count || pos > len(b) {
		return mysqlbackend.ExecParams{}, false
	}
	return mysqlbackend.ExecParams{Count: count, Nulls: nulls, Types: types, Values: b[pos:]}, true
}
