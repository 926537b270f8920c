package mysqlwire

import (
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// A transaction may read on several shards, and write on one of them:
// each shard gets its own server connection in the transaction (txOthers
// holds those not in use), and COMMIT commits each — the parts that only
// read commit nothing, so the transaction stays atomic. Writes on a second
// shard need two-phase commit: parts that join are XA branches
// (session_txxa.go), unless the transaction began with options XA START
// cannot carry; then such a write is refused, and the transaction goes on.
// Savepoints in a transaction on several shards are refused too (a
// ROLLBACK TO would reach one shard only).
//
// This is what autocommit=0 (PyMySQL's default) needs: there every read
// opens a transaction, and an application reading users on two shards
// before its COMMIT must not be refused.

// writes: the statement may write (anything but a SELECT without locking,
// SHOW, and the transaction's own control statements).
func writes(stmt *parser.Statement) bool {
	switch stmt.Kind {
	case parser.KindSelect:
		return stmt.Locking || stmt.Pins() != parser.PinNone
	case parser.KindShow, parser.KindEmpty, parser.KindCommit, parser.KindRollback, parser.KindBegin, parser.KindSet, parser.KindSavepoint:
		return false
	}
	return true
}

func errWritesOnTwoShards(shard, writer *shardmap.Shard, off bool) error {
	if off {
		return sqlerr.New(sqlerr.FeatureNotSupported,
			"this statement writes on shard %s, but the open transaction wrote on shard %s, and transactions.two_phase_commit is off", shard.Name, writer.Name).
			WithHint("Commit first, or keep a transaction's writes on one shard (it may read anywhere).")
	}
	return sqlerr.New(sqlerr.FeatureNotSupported,
		"this statement writes on shard %s, but the open transaction wrote on shard %s and began with options an XA transaction cannot carry (READ ONLY, WITH CONSISTENT SNAPSHOT), so it writes on one shard only", shard.Name, writer.Name).
		WithHint("Begin the transaction with a plain BEGIN to write on several shards (XA), or keep its writes on one shard (it may read anywhere).")
}

// join moves the open transaction to shard for stmt: the current
// connection waits in txOthers, and shard's connection of the transaction
// (or a new one, which gets the transaction's start replayed) becomes
// current. It refuses what would need two-phase commit.
func (ss *session) join(stmt *parser.Statement, shard *shardmap.Shard) error {
	switch {
	case ss.txSavepointsUsed:
		return sqlerr.New(sqlerr.FeatureNotSupported,
			"this statement needs shard %s, but the open transaction runs on shard %s and uses savepoints, which cannot span shards", shard.Name, ss.shard.Name).
			WithHint("Keep a transaction with savepoints on one shard.")
	case writes(stmt) && ss.txWriter != nil && ss.txWriter != shard && !ss.xaJoinable():
		return errWritesOnTwoShards(shard, ss.txWriter, ss.s.o.NoTwoPhase)
	}
	if ss.txOthers == nil {
		ss.txOthers = map[*shardmap.Shard]ServerConn{}
	}
	ss.txOthers[ss.shard] = ss.conn
	ss.conn, ss.shard = nil, nil
	if c, ok := ss.txOthers[shard]; ok {
		delete(ss.txOthers, shard)
		ss.conn, ss.shard = c, shard
		return nil
	}
	ss.holding.Store(false)
	ss.joining = true
	return nil
}

// resume makes one of the transaction's waiting parts current (the
// written one if any), after the current one went.
func (ss *session) resume() {
	if ss.conn != nil || len(ss.txOthers) == 0 {
		return
	}
	sh := ss.txWriter
	if _, ok := ss.txOthers[sh]; !ok {
		for s := range ss.txOthers {
			sh = s
			break
		}
	}
	ss.conn, ss.shard = ss.txOthers[sh], sh
	delete(ss.txOthers, sh)
	ss.holding.Store(true)
}

// implicitCommit: statements MariaDB runs after committing the open
// transaction (DDL, BEGIN, LOCK TABLES, SET autocommit=1, …).
func implicitCommit(stmt *parser.Statement, sql string) bool {
	switch stmt.Kind {
	case parser.KindDDL, parser.KindBegin, parser.KindLock:
		return true
	case parser.KindSet:
		return containsFold(sql, "autocommit")
	}
	return false
}

// noteWrite remembers the shard a transaction wrote on.
func (ss *session) noteWrite(stmt *parser.Statement, shard *shardmap.Shard) {
	if ss.conn == nil || !ss.conn.InTransaction() {
		return
	}
	if stmt.Kind == parser.KindSavepoint {
		ss.txSavepointsUsed = true
	}
	if ss.txReadOnly() {
		// It cannot write (the server refused whatever tried): a write
		// statement there must not count as the shard it wrote on, or the
		// next one on another shard would be refused for a write that never
		// happened, instead of getting the server's own 1792.
		return
	}
	if writes(stmt) && ss.txWriter == nil {
		ss.txWriter = shard
	}
	if writes(stmt) {
		ss.noteBranchWrite(shard)
	}
}

// txReadOnly: the open transaction began READ ONLY.
func (ss *session) txReadOnly() bool {
	for _, p := range ss.txStart {
		if (firstWord(p, "begin") || firstWord(p, "start")) && readOnlyBegin(p) {
			return true
		}
	}
	return false
}

// endOthers ends the transaction's parts on the other shards with
// COMMIT (commit) or ROLLBACK, the written part first, and gives their
// connections back. An error is returned only if the written part failed
// to commit: the read-only parts committed nothing.
func (ss *session) endOthers(commit bool) error {
	var err error
	end := func(sh *shardmap.Shard, c ServerConn) {
		text := "ROLLBACK"
		if commit && err == nil {
			text = "COMMIT"
		}
		if ss.txXA != nil && ss.txXA.branches[sh] {
			// A branch ends with XA ROLLBACK (COMMIT goes through
			// endXATx): an implicit end, a lost connection, the client gone.
			c.Exec(ss.txXA.id.end(sh), 0) //nolint:errcheck // XA ROLLBACK follows
			text = "XA ROLLBACK " + ss.txXA.id.branch(sh)
		}
		if _, _, e := c.Exec(text, 0); e != nil && sh == ss.txWriter && commit {
			err = e
		}
		ss.s.o.Conns.Release(c) // closed by the pool if still in a transaction
		delete(ss.txOthers, sh)
	}
	if c, ok := ss.txOthers[ss.txWriter]; ok {
		end(ss.txWriter, c)
	}
	for sh, c := range ss.txOthers {
		end(sh, c)
	}
	return err
}

// txEnded forgets the transaction's shape once no server has it.
func (ss *session) txEnded() {
	if len(ss.txOthers) > 0 {
		// The current part ended by itself (an implicit commit: DDL,
		// BEGIN, SET autocommit=1): so do the others.
		ss.endOthers(true) //nolint:errcheck // as the server's implicit commit, silently
	}
	ss.txWriter = nil
	ss.txXA = nil
	ss.txStart = nil
	ss.txSavepointsUsed = false
	ss.joining = false
}
