package mysqlwire

import (
	"fmt"
	"strings"

	vmysql "vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/mysql/sqlerror"
	"vitess.io/vitess/go/sqltypes"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// Statements the router sends to several shards as one write: DDL and
// reference-table writes to every shard (router.Broadcast with Copies), an
// UPDATE or DELETE without a usable key (Broadcast, its IN list cut per
// shard when Split says so), a multi-row INSERT whose rows live on several
// shards (router.SplitInsert: each shard gets its own rows).
//
// MariaDB's DDL commits by itself and cannot join an XA branch: it runs
// shard by shard, stops at the first failure and names the shards done and
// not done (fanOutDDL); IF [NOT] EXISTS makes a re-run finish the job.
// Writes commit together with XA (fanOutWrite, xa.go).

// piece is one shard's part of a statement on several shards.
type piece struct {
	shard *shardmap.Shard
	sql   string
	// first is the lowest VALUES row number of a split INSERT's piece (the
	// statement's own order, for its insert id); else 0.
	first int
}

// fanOut runs a Broadcast or SplitInsert plan and answers the client.
func (ss *session) fanOut(plan router.Plan, stmt *parser.Statement, sql string, callback func(*sqltypes.Result) error) error {
	pieces, copies, err := ss.pieces(plan, sql)
	if err != nil {
		return err
	}
	if stmt.Kind == parser.KindDDL {
		return ss.fanOutDDL(pieces, callback)
	}
	var ks *shardmap.Keyspace
	switch p := plan.(type) {
	case router.SplitInsert:
		ks = p.Keyspace
	case router.Broadcast:
		ks = p.Keyspace
	}
	return ss.fanOutWrite(ks, stmt, pieces, copies, callback)
}

// pieces cuts the statement's text for each shard of plan.
func (ss *session) pieces(plan router.Plan, sql string) (pieces []piece, copies bool, _ error) {
	switch p := plan.(type) {
	case router.SplitInsert:
		if ss.s.o.SplitInsertSQL == nil {
			return nil, false, sqlerr.New(sqlerr.FeatureNotSupported, "splitting an INSERT by shard is not configured")
		}
		for i, sh := range p.Shards {
			text, _, err := ss.s.o.SplitInsertSQL(sql, p.Rows[i])
			if err != nil {
				return nil, false, err
			}
			pieces = append(pieces, piece{shard: sh, sql: text, first: p.Rows[i][0]})
		}
		return pieces, false, nil
	case router.Broadcast:
		texts := make([]string, len(p.Shards))
		for i := range texts {
			texts[i] = sql
		}
		if p.Split != nil {
			if ss.s.o.SplitInList == nil {
				return nil, false, sqlerr.New(sqlerr.FeatureNotSupported, "cutting an IN list by shard is not configured")
			}
			var err error
			if texts, _, err = ss.s.o.SplitInList(sql, p.Split.Key, p.Split.Items); err != nil {
				return nil, false, err
			}
		}
		for i, sh := range p.Shards {
			pieces = append(pieces, piece{shard: sh, sql: texts[i]})
		}
		return pieces, p.Copies, nil
	}
	return nil, false, sqlerr.New(sqlerr.InternalError, "fan-out of plan %s", plan)
}

// borrow lends the session a connection to shard's primary with its
// settings, beside the one it holds: the held one when it is shard's,
// else a parked one (session pooling), else one from the pool. own says
// whether giveBack must return it.
func (ss *session) borrow(shard *shardmap.Shard) (c ServerConn, own bool, err error) {
	if ss.conn != nil && ss.shard == shard {
		return ss.conn, false, nil
	}
	if c, ok := ss.parked[shard]; ok {
		delete(ss.parked, shard)
		if err := ss.applySettingsTo(c); err != nil {
			ss.s.o.Conns.Release(c)
			return nil, false, err
		}
		return c, true, nil
	}
	if c, err = ss.s.o.Conns.Acquire(ss.holdContext(), shard, ss.foundRows()); err != nil {
		return nil, false, err
	}
	if err := ss.applySettingsTo(c); err != nil {
		ss.s.o.Conns.Release(c)
		return nil, false, err
	}
	return c, true, nil
}

// giveBack returns a borrowed connection: to the session's parked ones
// under session pooling, else to its pool (which closes it if a
// transaction is still open on it).
func (ss *session) giveBack(shard *shardmap.Shard, c ServerConn, own bool) {
	if !own {
		return
	}
	if ss.s.o.SessionPooling && !c.IsBroken() && !c.InTransaction() {
		if ss.parked == nil {
			ss.parked = map[*shardmap.Shard]ServerConn{}
		}
		if _, ok := ss.parked[shard]; !ok {
			ss.parked[shard] = c
			return
		}
	}
	ss.s.o.Conns.Release(c)
}

// exec runs one piece's text on c, visible to KILL QUERY.
func (ss *session) exec(c ServerConn, shard *shardmap.Shard, sql string) (*sqltypes.Result, uint16, error) {
	ss.setRunning(c, shard)
	defer ss.setRunning(nil, nil)
	res, warnings, err := c.Exec(sql, ss.s.o.MaxResultRows)
	if err == nil {
		ss.addPartWarnings(c, warnings) // the union of the shards' (warnings.go)
	}
	return res, warnings, err
}

// fanOutDDL runs DDL on each shard in turn. A held connection's shard
// goes first: the DDL commits its open transaction there, as MariaDB's
// would (a transaction on several shards was refused before).
func (ss *session) fanOutDDL(pieces []piece, callback func(*sqltypes.Result) error) error {
	if ss.conn != nil {
		for i, p := range pieces {
			if p.shard == ss.shard {
				copy(pieces[1:i+1], pieces[:i])
				pieces[0] = p
				break
			}
		}
	}
	var res *sqltypes.Result
	var warnings uint16
	var done []string
	for i, p := range pieces {
		c, own, err := ss.borrow(p.shard)
		var r *sqltypes.Result
		var w uint16
		if err == nil {
			r, w, err = ss.exec(c, p.shard, p.sql)
			if !own {
				ss.settle()
			} else {
				ss.giveBack(p.shard, c, own)
			}
		}
		if err != nil {
			return ddlError(err, p.shard, done, pieces[i+1:])
		}
		done = append(done, p.shard.Name)
		warnings += w
		if res == nil {
			res = r
		}
	}
	ss.c.StatusFlags = ss.flags
	if ss.conn != nil {
		ss.c.StatusFlags = ss.conn.StatusFlags()
	}
	ss.warnings = warnings
	ss.rowCount = int64(res.RowsAffected)
	return callback(res) // one OK: vitess's server sends no info text
}

// ddlError is the failed shard's own error, its message naming the shards
// where the DDL ran and those where it did not.
func ddlError(err error, failed *shardmap.Shard, done []string, rest []piece) error {
	var notRun []string
	for _, p := range rest {
		notRun = append(notRun, p.shard.Name)
	}
	report := fmt.Sprintf(" [shardgate: DDL failed on shard %s; done on shards: %s; not run on shards: %s]",
		failed.Name, listOrNone(done), listOrNone(notRun))
	e, ok := sqlerr.As(err)
	if !ok {
		return &sqlerr.Error{Code: "HY000", Number: 1105, Message: err.Error() + report, Err: err}
	}
	// The server's number and SQLSTATE, with the report in the message:
	// the encoder sends a server error in the chain as it is, so the
	// chain holds one with the report.
	c := *e
	c.Message += report
	c.Hint = "MariaDB DDL is not transactional: the shards done keep it. Fix the cause and re-run with IF [NOT] EXISTS."
	c.Err = &sqlerror.SQLError{Num: sqlerror.ErrorCode(c.Number), State: c.Code, Message: message(&c)}
	return &c
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// errFanOutInTx: a write on several shards inside a transaction whose
// parts cannot be XA branches (begun WITH CONSISTENT SNAPSHOT or READ
// ONLY: XA START carries neither).
var errFanOutInTx = sqlerr.New(sqlerr.FeatureNotSupported,
	"this write needs several shards, inside a transaction begun with options that XA transactions cannot carry (WITH CONSISTENT SNAPSHOT, READ ONLY)").
	WithHint("Begin the transaction with a plain BEGIN, or give the sharding key.")

// inTx: the client's transaction is open or the next statement opens one
// (BEGIN waiting for its shard, or autocommit off).
func (ss *session) inTx() bool {
	return ss.txBegin != "" || len(ss.txOthers) > 0 || ss.flags&vmysql.ServerStatusAutocommit == 0 ||
		ss.conn != nil && ss.conn.InTransaction()
}
