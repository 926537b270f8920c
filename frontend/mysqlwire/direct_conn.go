package mysqlwire

import (
	"encoding/binary"
	"errors"
	"io"

	vmysql "vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/mysql/sqlerror"
	"vitess.io/vitess/go/sqltypes"

	mysqlbackend "github.com/shardgate/shardgate/backend/mysql"
)

// sniffConn's side of direct commands (direct.go): it reads the command,
// lets the session answer it, and numbers and writes what the session
// answers — the result's packets through rawPacket as a direct raw result
// does (rawend.go), then its end or an ERR — in one write to the socket.
// vitess, waiting in Read for the client's next command, sees none of it.

const (
	comQuery           = 0x03
	comResetConnection = 0x1f
)

// resetCommand answers COM_RESET_CONNECTION (its one byte still unread)
// here rather than in vitess, whose OK has no status flags where
// MariaDB's says autocommit (the state the session is back in), and drops
// with vitess's statements what sniffConn and the session keep per
// statement (parameter types, unsigned marks, long data).
func (c *sniffConn) resetCommand() error {
	ss := c.session()
	if ss == nil {
		return errors.New("mysqlwire: COM_RESET_CONNECTION before the session began")
	}
	if _, err := c.r.Discard(1); err != nil {
		return err
	}
	ss.busy.Store(true)
	ss.resetConnection()
	ss.busy.Store(false)
	ss.c.PrepareData = make(map[uint32]*vmysql.PrepareData)
	ss.unsigned = nil
	c.types, c.longData, c.longDataErr = nil, nil, nil
	c.exec.whole = false
	c.directBegin()
	return c.directed(c.directEnd(mysqlbackend.Summary{}, false, ss.c.StatusFlags, 0))
}

// queryCommand reads a COM_QUERY of n bytes (its header h read) and has
// the session answer it, or hands it to vitess.
func (c *sniffConn) queryCommand(h [4]byte, n int) error {
	if cap(c.hold) < n {
		c.hold = make([]byte, n)
	}
	b := c.hold[:n]
	if _, err := io.ReadFull(c.r, b); err != nil {
		return err
	}
	if ss := c.session(); ss != nil {
		if handled, err := ss.directQuery(c, b[1:]); handled {
			return c.directed(err)
		}
	}
	c.buf = append(append(c.buf[:0], h[:]...), b...)
	c.out, c.pass = c.buf, 0
	return nil
}

// directExecute has the session answer a COM_STMT_EXECUTE held whole in
// b; false: vitess gets it.
func (c *sniffConn) directExecute(id uint32, prep *vmysql.PrepareData, b []byte) (bool, error) {
	p, ok := c.execParams(id, int(prep.ParamsCount))
	if !ok || !syncParamsType(prep, b) {
		return false, nil
	}
	handled, err := c.ss.directExecute(c, prep, p)
	if handled {
		err = c.directed(err)
	}
	return handled, err
}

// syncParamsType records in vitess's statement the parameter types an
// execution sent, as vitess's own decoding does: a later execution that
// vitess decodes, sending none, reads them there. false: a type vitess
// would refuse (the execution is left to it, to answer so).
func syncParamsType(prep *vmysql.PrepareData, b []byte) bool {
	n := int(prep.ParamsCount)
	pos := 10 + (n+7)/8
	if n == 0 || pos >= len(b) || b[pos] != 1 {
		return true
	}
	types := b[pos+1:]
	if len(types) < 2*n || len(prep.ParamsType) < n {
		return false
	}
	for i := range n {
		t, err := sqltypes.MySQLToType(types[2*i], int64(types[2*i+1]))
		if err != nil {
			return false
		}
		prep.ParamsType[i] = int32(t)
	}
	return true
}

// session is the connection's session, once vitess made it.
func (c *sniffConn) session() *session {
	if c.ss == nil {
		c.ss = c.s.session(c.id)
	}
	return c.ss
}

// directed ends a command the session answered (err: the client's
// connection failed): the next read waits for the client's next command
// with the idle deadline of the session's state now; a session marked for
// close (its transaction lost with its server connection) ends as vitess
// ends it after a command.
func (c *sniffConn) directed(err error) error {
	c.directing = false
	if err != nil {
		return err
	}
	if c.ss.c.IsMarkedForClose() {
		return io.EOF
	}
	c.idleDeadline()
	return nil
}

// directBegin readies the write side for a direct answer: its first
// packet is numbered after the command's.
func (c *sniffConn) directBegin() {
	c.directing = true
	e := &c.end
	e.seq, e.count = e.cmdSeq+1, 0
}

// directAbandon undoes what a direct answer readied when it left the
// command to vitess (nothing was written): vitess numbers its answer
// itself.
func (c *sniffConn) directAbandon() {
	c.directing = false
	e := &c.end
	e.held = e.held[:0]
	e.stop()
	e.wrote.Store(false)
}

// directEnd writes the end of a direct answer: after a result set, an EOF
// (or, for a client with CLIENT_DEPRECATE_EOF, an OK with the EOF
// header); without one, an OK with its counts.
func (c *sniffConn) directEnd(sum mysqlbackend.Summary, deprecateEOF bool, flags, warnings uint16) error {
	p := append(c.endBuf[:0], 0, 0, 0, 0)
	switch {
	case sum.Columns == 0:
		p = append(p, 0x00)
		p = appendLenEnc(p, sum.RowsAffected)
		p = appendLenEnc(p, sum.InsertID)
		p = binary.LittleEndian.AppendUint16(p, flags)
		p = binary.LittleEndian.AppendUint16(p, warnings)
	case deprecateEOF:
		p = append(p, 0xfe, 0, 0)
		p = binary.LittleEndian.AppendUint16(p, flags)
		p = binary.LittleEndian.AppendUint16(p, warnings)
	default:
		p = append(p, 0xfe)
		p = binary.LittleEndian.AppendUint16(p, warnings)
		p = binary.LittleEndian.AppendUint16(p, flags)
	}
	return c.directLast(p)
}

// directError writes err as the direct answer's ERR packet (after any
// packets of a result already written, as vitess does).
func (c *sniffConn) directError(err error) error {
	se, ok := mysqlError(err).(*sqlerror.SQLError)
	if !ok {
		se = &sqlerror.SQLError{Num: sqlerror.ERUnknownError, State: "HY000", Message: err.Error()}
	}
	return c.directLast(appendErr([]byte{0, 0, 0, 0}, uint16(se.Num), se.State, se.Message))
}

// directLast writes the answer's last packet (p[:4] room for its header)
// with whatever is held before it.
func (c *sniffConn) directLast(p []byte) error {
	if err := c.rawPacket(p); err != nil {
		return err
	}
	c.lockEnd()
	defer c.unlockEnd()
	return c.end.flushHeld(c)
}

// appendLenEnc appends n as a length-encoded integer.
func appendLenEnc(b []byte, n uint64) []byte {
	switch {
	case n < 251:
		return append(b, byte(n))
	case n < 1<<16:
		return append(b, 0xfc, byte(n), byte(n>>8))
	case n < 1<<24:
		return append(b, 0xfd, byte(n), byte(n>>8), byte(n>>16))
	}
	return binary.LittleEndian.AppendUint64(append(b, 0xfe), n)
}
