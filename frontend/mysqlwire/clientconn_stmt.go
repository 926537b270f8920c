package mysqlwire

import (
	"encoding/binary"
	"io"
	"strconv"

	vmysql "vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/sqltypes"
	querypb "vitess.io/vitess/go/vt/proto/query"

	mysqlbackend "github.com/shardgate/shardgate/backend/mysql"
)

// The prepared-statement commands (COM_STMT_*) as the client connection
// sees them before vitess: the checks MariaDB makes that vitess does not,
// and the parameters vitess decodes wrongly (sniffConn's doc, clientconn.go).

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
