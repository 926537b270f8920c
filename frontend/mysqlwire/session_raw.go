package mysqlwire

import (
	"errors"
	"strings"

	vmysql "vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/sqltypes"

	mysqlbackend "github.com/shardgate/shardgate/backend/mysql"
	"github.com/shardgate/shardgate/parser"
)

// A one-shard read's result goes to the client as the server's packets,
// as they come, instead of being decoded into a sqltypes.Result and
// encoded again by vitess (docs/design/mysql-raw-results.md): the column
// count, the column definitions and the rows are written through the
// listener's Conn.WritePacket; the terminal EOF/OK is read by the backend
// (status flags, warnings, rows counted) and the client's is made from
// vitess's own OK (rawend.go). Everything before that last step —
// routing, transactions, settings, pins, KILL QUERY — is the session's
// usual path.

// forwarder is a ServerConn that can forward a result's packets
// (backend/mysql's Conn). Connections that cannot (test fakes) take the
// decoded path.
type forwarder interface {
	Forward(sql string, sink mysqlbackend.PacketSink) (mysqlbackend.Summary, error)
}

// rawSink writes a forwarded result's packets to the client, in the
// client's framing. It lives in the session: handing it on costs no
// allocation.
type rawSink struct {
	ss *session
	sc *sniffConn // the client's connection under vitess
	// direct: the packets are numbered and written by sc, not by vitess
	// (rawend.go).
	direct bool
	// started: a packet reached the client's buffer; the statement can
	// no longer be answered otherwise (nor retried).
	started bool
	eof     [4 + 5]byte
	// A prepared statement's execution (session.binary): the columns'
	// types, and the binary row being written (binrow.go).
	cols []colType
	row  []byte
	// serverBinary: the server's rows are binary already (a prepared
	// statement executed on the server): forwarded as they are.
	serverBinary bool
	// res is what vitess's callback gets at the end: it reads it during
	// the call only, so one per session does (no allocation).
	res sqltypes.Result
}

func (s *rawSink) Packet(kind mysqlbackend.PacketKind, p []byte) error {
	s.started = true
	c := s.ss.c
	if kind == mysqlbackend.PacketColumnsEnd {
		if c.Capabilities&vmysql.CapabilityClientDeprecateEOF != 0 {
			return nil
		}
		// The EOF after the column definitions: the status flags the
		// statement has by then (the server's own come at the end; the
		// backend connection has no EOF here): those the client knows,
		// with a transaction begun when autocommit is off and the
		// statement reads tables, as the server's would say.
		flags := c.StatusFlags
		if flags&(vmysql.ServerStatusAutocommit|vmysql.ServerStatusInTrans) == 0 && s.ss.txStmt != nil && len(s.ss.txStmt.Tables) > 0 {
			flags |= vmysql.ServerStatusInTrans
		}
		s.eof = [9]byte{4: 0xfe, 7: byte(flags), 8: byte(flags >> 8)}
		return s.write(s.eof[:])
	}
	if s.ss.binary && !s.serverBinary {
		switch kind {
		case mysqlbackend.PacketColumnCount:
			s.cols = s.cols[:0]
		case mysqlbackend.PacketColumn:
			ct, err := parseColumnDef(p[4:])
			if err != nil {
				return err
			}
			s.cols = append(s.cols, ct)
		case mysqlbackend.PacketRow:
			row, err := appendBinaryRow(append(s.row[:0], 0, 0, 0, 0), p[4:], s.cols)
			if err != nil {
				return err
			}
			if s.row = row; cap(s.row) > 64<<10 {
				s.row = nil
			}
			return s.write(row)
		}
	}
	return s.write(p)
}

func (s *rawSink) write(p []byte) error {
	if s.direct {
		return s.sc.rawPacket(p)
	}
	return s.ss.c.WritePacket(p)
}

// preparedForwarder is a forwarder that can execute a statement
// prepared on the server (backend/mysql's Conn).
type preparedForwarder interface {
	ForwardPrepared(query string, p mysqlbackend.ExecParams, sink mysqlbackend.PacketSink) (mysqlbackend.Summary, error)
}

// preparedExec is a client's COM_STMT_EXECUTE that runs as a
// COM_STMT_EXECUTE on the server, with the client's own parameter bytes,
// when the statement is forwarded raw: query is the statement with its
// placeholders, text the values substituted — what the session analysed
// and routed. Only if the session runs text unchanged (no session
// function rewritten) is it executed so; anything else runs as text.
type preparedExec struct {
	on     bool
	query  string
	text   string
	params mysqlbackend.ExecParams
}

// noteExecute readies pexec for an execution whose substituted text is
// text: held whole by sniffConn, no value sent as long data, no variable
// (@: user variables pin, and stay on the text path).
func (ss *session) noteExecute(prepare *vmysql.PrepareData, text string) {
	ss.pexec.on = false
	if strings.IndexByte(prepare.PrepareStmt, '@') >= 0 {
		return
	}
	sc := ss.sink.sc
	if sc == nil {
		sc, _ = ss.c.GetRawConn().(*sniffConn)
	}
	if sc == nil {
		return
	}
	p, ok := sc.execParams(prepare.StatementID, int(prepare.ParamsCount))
	if !ok {
		return
	}
	ss.pexec = preparedExec{on: true, query: prepare.PrepareStmt, text: text, params: p}
}

// rawForwarder returns the held connection as a forwarder when the
// statement being run may be forwarded raw: a read (SELECT, SHOW) the
// client sent, answered in the text protocol, whose commit position is
// not asked for (ExecGTID's two results stay decoded).
func (ss *session) rawForwarder() (forwarder, bool) {
	if !ss.rawOK || ss.gtidStmt != nil || ss.txStmt == nil ||
		(ss.txStmt.Kind != parser.KindSelect && ss.txStmt.Kind != parser.KindShow) {
		return nil, false
	}
	fw, ok := ss.conn.(forwarder)
	return fw, ok
}

// forward runs sql on the held connection with its result set forwarded.
func (ss *session) forward(fw forwarder, sql string) (mysqlbackend.Summary, error) {
	s := &ss.sink
	s.ss, s.started, s.direct = ss, false, false // cols and row keep their room
	if s.sc == nil {
		s.sc, _ = ss.c.GetRawConn().(*sniffConn)
	}
	// A direct command's vitess has nothing buffered (it is waiting
	// for the next command).
	if s.sc != nil && (ss.direct != nil || ss.c.FlushWriteBuffer() == nil) {
		s.direct = s.sc.rawDirect()
	}
	s.serverBinary = false
	var sum mysqlbackend.Summary
	var err error
	pf, ok := fw.(preparedForwarder)
	if pe := &ss.pexec; ok && pe.on && sql == pe.text {
		s.serverBinary = true
		sum, err = pf.ForwardPrepared(pe.query, pe.params, s)
		if errors.Is(err, mysqlbackend.ErrNotPrepared) {
			// Refused by the server (nothing ran, nothing was written).
			if ss.direct != nil {
				return sum, errDirectBail // vitess's path runs it as text
			}
			s.serverBinary = false
			sum, err = fw.Forward(sql, s)
		}
	} else {
		sum, err = fw.Forward(sql, s)
	}
	if s.direct {
		s.sc.rawDirectDone()
	}
	if cap(s.cols) > maxKeptCols {
		// A result of very many columns (a select list has no limit of
		// 4096) is not kept in the session's memory.
		s.cols = nil
	}
	return sum, err
}

// maxKeptCols bounds the column types a session keeps room for between
// statements (8 bytes each); cols grows one definition at a time as they
// arrive, never ahead of the server's count.
const maxKeptCols = 1024

// endRaw ends a forwarded statement: a result set ends with vitess's OK
// turned into its end (rawend.go); an OK (no result set) is vitess's as
// usual.
func (ss *session) endRaw(sum mysqlbackend.Summary, callback func(*sqltypes.Result) error) error {
	if sc := ss.direct; sc != nil {
		return sc.directEnd(sum, ss.c.Capabilities&vmysql.CapabilityClientDeprecateEOF != 0, ss.c.StatusFlags, ss.warnings)
	}
	if sum.Columns == 0 {
		ss.sink.res = sqltypes.Result{RowsAffected: sum.RowsAffected, InsertID: sum.InsertID}
		return callback(&ss.sink.res)
	}
	sc := ss.sink.sc
	if sc == nil {
		return errRawEnd
	}
	if !ss.sink.direct {
		// vitess's buffer holds packets: the OK starts after them.
		sc.holdWrites()
		if err := ss.c.FlushWriteBuffer(); err != nil {
			return err
		}
	}
	sc.armEnd(ss.c.Capabilities&vmysql.CapabilityClientDeprecateEOF == 0, ss.warnings)
	ss.sink.res = sqltypes.Result{}
	return callback(&ss.sink.res)
}

// countsRaw is counts for a forwarded result.
func (ss *session) countsRaw(sql string, sum mysqlbackend.Summary) {
	if sum.Columns == 0 {
		ss.rowCount = int64(sum.RowsAffected)
		return
	}
	ss.rowCount = -1
	ss.foundRowsCount = sum.Rows
	if strings.IndexByte(sql, '_') >= 0 && containsFold(sql, "sql_calc_found_rows") {
		ss.serverFoundRows()
	}
}
