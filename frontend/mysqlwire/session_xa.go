package mysqlwire

import (
	"vitess.io/vitess/go/mysql/sqlerror"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"

	vmysql "vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/sqltypes"
)

// part is one shard's branch of a write on several shards.
type part struct {
	piece
	conn ServerConn
	own  bool
	// started: XA START succeeded; ended: XA END too; prepared: XA
	// PREPARE too.
	started, ended, prepared bool
	res                      *sqltypes.Result
	warnings                 uint16
}

// fanOutWrite runs an autocommit write on several shards as one XA
// transaction (see xa.go for the protocol) and answers with the rows it
// changed in all (one copy's count for copies), the warnings of all, and
// the insert id of the piece holding the statement's first row.
func (ss *session) fanOutWrite(ks *shardmap.Keyspace, stmt *parser.Statement, pieces []piece, copies bool, callback func(*sqltypes.Result) error) error {
	if ss.s.o.NoTwoPhase && len(pieces) > 1 {
		return sqlerr.New(sqlerr.FeatureNotSupported, "this write needs %d shards, and transactions.two_phase_commit is off", len(pieces)).
			WithHint("Give one sharding key value, or set transactions.two_phase_commit: on.")
	}
	if ss.inTx() {
		if !ss.xaJoinable() {
			return errFanOutInTx
		}
		return ss.fanOutInTx(stmt, pieces, copies, callback)
	}
	if len(pieces) == 1 {
		// One shard after all (a broadcast to a one-shard keyspace): a
		// plain autocommit statement.
		return ss.run(pieces[0].shard, pieces[0].sql, 0, "", callback)
	}
	parts := make([]*part, len(pieces))
	defer func() {
		for _, p := range parts {
			if p != nil && p.conn != nil {
				ss.giveBack(p.shard, p.conn, p.own)
			}
		}
		ss.settle()
	}()
	for i, pc := range pieces {
		c, own, err := ss.borrow(pc.shard)
		if err != nil {
			return err
		}
		parts[i] = &part{piece: pc, conn: c, own: own}
	}
	coord := ks.Shards()[0]
	var coordPart *part
	for _, p := range parts {
		if p.shard == coord {
			coordPart = p
		}
	}
	if coordPart != nil {
		// The decision log's table, before the branch starts (DDL).
		if err := ss.ensureDecisionLog(coord, coordPart.conn); err != nil {
			return err
		}
	}
	x := ss.s.xa.next(coord)
	abort := func(err error) error {
		ss.rollbackParts(x, parts)
		return err
	}
	// The outcome is unknown: prepared branches stay for the resolver,
	// which can settle one only once no session holds it. Their
	// connections are dropped, never given back (nor kept by a pinned
	// session, whose every later statement MariaDB would refuse with
	// XAER_RMFAIL while the branch keeps its rows locked).
	detach := func(err error) error {
		for _, p := range parts {
			if p.prepared {
				p.conn.MarkBroken()
			}
		}
		return err
	}
	for _, p := range parts {
		if _, _, err := p.conn.Exec(x.start(p.shard), 0); err != nil {
			return abort(err)
		}
		p.started = true
		res, w, err := ss.exec(p.conn, p.shard, p.sql)
		if err != nil {
			return abort(err)
		}
		p.res, p.warnings = res, w
	}
	// Phase one: every part but the coordinator's prepares.
	for _, p := range parts {
		if p == coordPart {
			continue
		}
		if _, _, err := p.conn.Exec(x.end(p.shard), 0); err != nil {
			return abort(err)
		}
		p.ended = true
		if _, _, err := p.conn.Exec(x.prepare(p.shard), 0); err != nil {
			return abort(err)
		}
		p.prepared = true
	}
	// The decision: the coordinator's branch commits with the decision row,
	// or the row is written alone there.
	if coordPart != nil {
		if err := ss.writeDecision(coordPart.conn, x); err != nil {
			return abort(err)
		}
		if _, _, err := coordPart.conn.Exec(x.end(coord), 0); err != nil {
			return abort(err)
		}
		coordPart.ended = true
		if _, _, err := coordPart.conn.Exec(x.onePhase(coord), 0); err != nil {
			if coordPart.conn.IsBroken() {
				// Outcome unknown: the decision row says. Prepared parts
				// stay for the resolver (or an operator: docs/design/mysql-writes.md).
				return detach(inDoubt(x, err))
			}
			coordPart.started = false // the server rolled the branch back
			return abort(err)
		}
		coordPart.started = false
	} else if err := ss.logDecision(x, coord); err != nil {
		if isInDoubt(err) {
			return detach(err) // the prepared parts stay for the resolver
		}
		return abort(err)
	}
	// Phase two: committed, whatever happens now; a part that fails to
	// commit stays prepared, and the decision row commits it later.
	var failed error
	for _, p := range parts {
		if p == coordPart {
			continue
		}
		if _, _, err := p.conn.Exec(x.commit(p.shard), 0); err != nil && failed == nil {
			failed = err
			p.conn.MarkBroken()
		}
	}
	if failed != nil {
		return inDoubt(x, failed)
	}
	ss.c.StatusFlags = ss.flags &^ vmysql.ServerStatusInTrans
	return ss.answerWrite(parts, copies, callback)
}

// rollbackParts ends and rolls back every branch started (prepared or
// not). A connection whose branch did not end cleanly is closed: the
// server rolls an unprepared branch back then, and keeps a prepared one
// for the resolver.
func (ss *session) rollbackParts(x xid, parts []*part) {
	for _, p := range parts {
		if p == nil || !p.started {
			continue
		}
		if !p.ended && !p.prepared {
			p.conn.Exec(x.end(p.shard), 0) //nolint:errcheck // a branch marked rollback-only fails XA END; XA ROLLBACK follows
		}
		if _, _, err := p.conn.Exec(x.rollback(p.shard), 0); err != nil {
			p.conn.MarkBroken()
		}
	}
}

// inDoubt: the transaction was decided (or may have been) but a part's
// outcome is not known here.
func inDoubt(x xid, err error) error {
	e := sqlerr.New("08007", "the outcome of the write on several shards (XA %s) is not known here: %v", x.gtrid, err)
	e.Number = 1180 // ER_ERROR_DURING_COMMIT
	e.Hint = "The decision row in shardgate_2pc on the keyspace's first shard says whether it committed; prepared branches (XA RECOVER) follow it."
	e.Err = err
	return e
}

// ensureDecisionLog creates shardgate_2pc and shardgate_2pc_fence on the
// coordinator once per process, on c (a connection to it outside any
// branch).
func (ss *session) ensureDecisionLog(coord *shardmap.Shard, c ServerConn) error {
	key := logKey(coord)
	if _, ok := ss.s.xa.logged.Load(key); ok {
		return nil
	}
	for _, ddl := range []string{createDecisionLog, createFence} {
		if _, _, err := c.Exec(ddl, 0); err != nil {
			return err
		}
	}
	ss.s.xa.logged.Store(key, true)
	return nil
}

// logDecision writes the commit decision on the coordinator when it holds
// no part of the write, on a connection of its own, in autocommit: a lost
// connection leaves the outcome unknown then (an inDoubt error), and the
// prepared parts must stay for the resolver, which reads the row.
func (ss *session) logDecision(x xid, coord *shardmap.Shard) error {
	c, own, err := ss.borrow(coord)
	if err != nil {
		return err
	}
	defer ss.giveBack(coord, c, own)
	if err := ss.ensureDecisionLog(coord, c); err != nil {
		return err
	}
	if err := ss.writeDecision(c, x); err != nil {
		if c.IsBroken() {
			return inDoubt(x, err)
		}
		return err
	}
	return nil
}

// writeDecision writes x's commit decision on c: inside the anchor's
// transaction (it commits with it), or alone in autocommit. A resolver
// that decided first (the owner was slow) holds the row's key, and a
// fenced owner name inserts nothing: then the transaction must roll back,
// and this proxy takes a new name.
func (ss *session) writeDecision(c ServerConn, x xid) error {
	res, _, err := c.Exec(x.decisionRow(), 0)
	if err == nil && res.RowsAffected == 1 {
		return nil
	}
	if err == nil {
		ss.s.xa.rename(x.owner)
		return decisionLost(x, "this proxy's name %s is fenced (it stalled for longer than resolvers wait)", x.owner)
	}
	if e, ok := sqlerr.As(err); ok && e.Number == uint16(sqlerror.ERDupEntry) {
		ss.s.xa.rename(x.owner)
		return decisionLost(x, "a resolver decided it first, as this proxy was slow between the phases").Wrap(err)
	}
	return err
}

// decisionLost: the transaction rolls back because its owner lost the
// decision (XA_RBROLLBACK).
func decisionLost(x xid, why string, args ...any) *sqlerr.Error {
	e := sqlerr.New("XA100", "the write on several shards (XA %s) was rolled back: "+why, append([]any{x.gtrid}, args...)...)
	e.Number = 1402 // ER_XA_RBROLLBACK
	e.Hint = "Nothing of it committed; the transaction may be retried."
	return e
}

// isInDoubt: err is inDoubt's.
func isInDoubt(err error) bool {
	e, ok := sqlerr.As(err)
	return ok && e.Number == 1180 && e.Code == "08007"
}

// answerWrite answers a write on several shards (the caller set the
// status flags).
func (ss *session) answerWrite(parts []*part, copies bool, callback func(*sqltypes.Result) error) error {
	res := &sqltypes.Result{}
	var warnings uint16
	first := -1
	for _, p := range parts {
		warnings += p.warnings
		switch {
		case copies:
			res.RowsAffected = p.res.RowsAffected
		default:
			res.RowsAffected += p.res.RowsAffected
		}
		if len(p.res.Fields) > 0 {
			// INSERT … RETURNING: the rows of each shard in turn.
			res.Fields = p.res.Fields
			res.Rows = append(res.Rows, p.res.Rows...)
		}
		// The id MySQL reports is the first one generated; the piece with
		// the statement's earliest row that generated one says it.
		if p.res.InsertID != 0 && (first < 0 || p.first < first) {
			first, res.InsertID = p.first, p.res.InsertID
		}
	}
	ss.warnings = warnings
	if len(res.Fields) == 0 {
		ss.rowCount = int64(res.RowsAffected)
	} else {
		ss.rowCount = -1
	}
	if res.InsertID != 0 {
		ss.lastInsertID = res.InsertID
	}
	return callback(res)
}
