package mysqlwire

import (
	"errors"

	vmysql "vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/mysql/sqlerror"
	"vitess.io/vitess/go/sqltypes"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// fanOutInTx runs a write on several shards inside the client's open
// transaction: each piece runs on its shard's part of the transaction
// (joining it as an XA branch, session_txxa.go), and COMMIT commits them
// together. On one server a failed statement undoes only itself; here a
// piece failing after another piece changed rows would leave half the
// statement in the transaction, so the whole transaction is rolled back
// then (as MariaDB does after a deadlock), and the error says so.
func (ss *session) fanOutInTx(stmt *parser.Statement, pieces []piece, copies bool, callback func(*sqltypes.Result) error) error {
	parts := make([]*part, 0, len(pieces))
	for i, p := range pieces {
		if ss.conn != nil && p.shard != ss.shard {
			if ss.pinned != parser.PinNone {
				return ss.abortTx(i, sqlerr.New(sqlerr.FeatureNotSupported,
					"this statement needs shard %s, but the session is pinned to shard %s by a %s", p.shard.Name, ss.shard.Name, pinName(ss.pinned)))
			}
			if err := ss.join(stmt, p.shard); err != nil {
				return ss.abortTx(i, err)
			}
		}
		if err := ss.acquire(p.shard); err != nil {
			return ss.abortTx(i, err)
		}
		res, w, err := ss.exec(ss.conn, p.shard, p.sql)
		if err == nil {
			ss.noteWrite(stmt, p.shard)
		}
		ss.settle()
		if err != nil {
			return ss.abortTx(i, err)
		}
		parts = append(parts, &part{piece: p, res: res, warnings: w})
	}
	ss.c.StatusFlags = ss.flags | vmysql.ServerStatusInTrans
	if ss.conn != nil {
		ss.c.StatusFlags = ss.conn.StatusFlags() | vmysql.ServerStatusInTrans
	}
	return ss.answerWrite(parts, copies, callback)
}

// abortTx: piece number done of a statement on several shards failed with
// err. Before any piece ran, the error is the statement's alone; after,
// the whole transaction is rolled back.
func (ss *session) abortTx(done int, err error) error {
	if done == 0 {
		return ss.partRolledBack(err)
	}
	if ss.txXA != nil {
		ss.endXATx(false, false, func(*sqltypes.Result) error { return nil }) //nolint:errcheck // a rollback
	} else if ss.conn != nil {
		ss.conn.Exec("ROLLBACK", 0) //nolint:errcheck // a failed rollback leaves the connection in a transaction: its pool closes it
		ss.settle()
	}
	e := sqlerr.From(err)
	c := *e
	c.Message = e.Message + " [shardgate: the statement failed on one shard after changing rows on another; the transaction was rolled back]"
	if se := serverError(e); se != nil {
		se.Message = message(&c)
		c.Err = se
	}
	return &c
}

// serverError is a copy of the server's own error behind e, if e is one.
func serverError(e *sqlerr.Error) *sqlerror.SQLError {
	var se *sqlerror.SQLError
	if errors.As(e, &se) && uint16(se.Num) == e.Number && se.State == e.Code {
		c := *se
		return &c
	}
	return nil
}
