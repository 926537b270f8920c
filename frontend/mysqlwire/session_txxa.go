package mysqlwire

import (
	"errors"
	"strings"

	vmysql "vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/mysql/sqlerror"
	"vitess.io/vitess/go/sqltypes"

	"github.com/shardgate/shardgate/shardmap"
)

// A client's transaction that writes on several shards commits with XA
// (docs/design/mysql-writes.md). Its first shard's part (the anchor) is a
// plain transaction, begun as the client began it: a transaction that
// stays on one shard costs nothing more. Every shard it joins later starts
// an XA branch of the transaction's id instead of the client's BEGIN. At
// COMMIT the written branches end and prepare, the decision row goes into
// the anchor's own transaction, and the anchor's COMMIT is the decision:
// then the branches commit (XA COMMIT), or roll back if it failed. One
// written branch beside an anchor that wrote nothing commits in one phase.
//
// MariaDB refuses XA START inside an open transaction, so only parts that
// start as branches can join a write on several shards: a transaction
// begun with options XA START cannot carry (READ ONLY, WITH CONSISTENT
// SNAPSHOT) keeps its writes on one shard, as before.

// txXA is the XA side of the client's open transaction.
type txXA struct {
	id     xid
	anchor *shardmap.Shard
	// branches are the shards whose part is an XA branch; wrote the shards
	// (branch or anchor) that wrote.
	branches map[*shardmap.Shard]bool
	wrote    map[*shardmap.Shard]bool
}

// xaJoinable: the open transaction's new parts can be XA branches, so its
// writes may reach several shards.
func (ss *session) xaJoinable() bool {
	if ss.s.o.NoTwoPhase {
		return false
	}
	for _, p := range ss.txStart {
		if firstWord(p, "begin") || firstWord(p, "start") {
			switch strings.Join(strings.Fields(strings.ToLower(strings.TrimRight(p, "; \t\n"))), " ") {
			case "begin", "begin work", "start transaction", "start transaction read write":
			default:
				return false
			}
		}
	}
	return true
}

// xaStart is what a part joining the transaction on shard runs first:
// the transaction's SET TRANSACTION, then XA START instead of its BEGIN.
// (The anchor's shard has the decision log: see xaIDs.ensureLog.)
func (ss *session) xaStart(shard *shardmap.Shard) ([]string, error) {
	if ss.txXA == nil {
		// The anchor is the transaction's first part, waiting now.
		var anchor *shardmap.Shard
		for sh := range ss.txOthers {
			anchor = sh
		}
		ss.txXA = &txXA{id: ss.s.xa.next(anchor), anchor: anchor, branches: map[*shardmap.Shard]bool{}, wrote: map[*shardmap.Shard]bool{}}
		if ss.txWriter != nil {
			// The anchor wrote before any branch existed.
			ss.txXA.wrote[ss.txWriter] = true
		}
	}
	var pending []string
	for _, p := range ss.txStart {
		if !firstWord(p, "begin") && !firstWord(p, "start") {
			pending = append(pending, p)
		}
	}
	return append(pending, ss.txXA.id.start(shard)), nil
}

// noteBranchWrite remembers every shard the transaction wrote on.
func (ss *session) noteBranchWrite(shard *shardmap.Shard) {
	if ss.txXA != nil {
		ss.txXA.wrote[shard] = true
	}
}

// txParts are the open transaction's parts: the current one and the
// waiting ones.
func (ss *session) txParts() map[*shardmap.Shard]ServerConn {
	parts := make(map[*shardmap.Shard]ServerConn, len(ss.txOthers)+1)
	for sh, c := range ss.txOthers {
		parts[sh] = c
	}
	if ss.conn != nil {
		parts[ss.shard] = ss.conn
	}
	return parts
}

// endXATx is COMMIT or ROLLBACK of a transaction with XA branches; chain
// opens the next transaction (AND CHAIN).
func (ss *session) endXATx(commit, chain bool, callback func(*sqltypes.Result) error) error {
	tx := ss.txXA
	parts := ss.txParts()
	var anchor *shardmap.Shard
	for sh := range parts {
		if !tx.branches[sh] {
			anchor = sh
		}
	}
	// Every connection goes back, whatever happens; a part left in a
	// transaction is closed by its pool (the server rolls an unprepared
	// branch back, and keeps a prepared one for the resolver).
	defer func() {
		for _, c := range parts {
			ss.s.o.Conns.Release(c)
		}
		ss.conn, ss.shard = nil, nil
		ss.holding.Store(false)
		ss.txOthers = nil
		ss.txXA = nil
		ss.txWriter = nil
		ss.txStart = nil
		ss.txSavepointsUsed = false
		ss.joining = false
		ss.c.StatusFlags = ss.flags &^ (vmysql.ServerStatusInTrans | vmysql.ServerStatusInTransReadonly)
		ss.txBegin, ss.txNext, ss.txSavepoints = "", "", nil
		if chain {
			ss.txBegin = "START TRANSACTION"
			ss.c.StatusFlags |= vmysql.ServerStatusInTrans
		}
	}()
	x := tx.id
	var prepared []*shardmap.Shard
	rollbackAll := func() {
		for sh, c := range parts {
			switch {
			case sh == anchor:
				c.Exec("ROLLBACK", 0) //nolint:errcheck // a failed rollback closes the connection (in a transaction at release)
			case contains(prepared, sh):
				if _, _, err := c.Exec(x.rollback(sh), 0); err != nil {
					c.MarkBroken()
				}
			default:
				c.Exec(x.end(sh), 0) //nolint:errcheck // a rollback-only branch fails XA END; XA ROLLBACK follows
				if _, _, err := c.Exec(x.rollback(sh), 0); err != nil {
					c.MarkBroken()
				}
			}
		}
	}
	if !commit {
		rollbackAll()
		return ss.answerEnd(callback)
	}
	// Branches that only read end now: they have nothing to commit.
	var written []*shardmap.Shard
	for sh, c := range parts {
		if sh == anchor {
			continue
		}
		if !tx.wrote[sh] {
			c.Exec(x.end(sh), 0) //nolint:errcheck // XA ROLLBACK follows
			if _, _, err := c.Exec(x.rollback(sh), 0); err != nil {
				c.MarkBroken()
			}
			ss.s.o.Conns.Release(c)
			delete(parts, sh)
			continue
		}
		if _, _, err := c.Exec(x.end(sh), 0); err != nil {
			rollbackAll()
			return err
		}
		written = append(written, sh)
	}
	switch {
	case len(written) == 1 && (anchor == nil || !tx.wrote[anchor]):
		// One written part: it commits alone, in one phase.
		sh := written[0]
		if _, _, err := parts[sh].Exec(x.onePhase(sh), 0); err != nil {
			prepared = append(prepared, sh) // ended: XA ROLLBACK only
			rollbackAll()
			return err
		}
		if anchor != nil {
			parts[anchor].Exec("COMMIT", 0) //nolint:errcheck // it only read
		}
		return ss.answerEnd(callback)
	case len(written) == 0:
		if anchor != nil {
			if _, _, err := parts[anchor].Exec("COMMIT", 0); err != nil {
				return err
			}
		}
		return ss.answerEnd(callback)
	}
	// Two-phase: prepare the branches, then the anchor's COMMIT, carrying
	// the decision row, decides.
	for _, sh := range written {
		if _, _, err := parts[sh].Exec(x.prepare(sh), 0); err != nil {
			prepared = append(prepared, sh) // ended (a failed prepare rolls it back; XA ROLLBACK is harmless)
			rollbackAll()
			return err
		}
		prepared = append(prepared, sh)
	}
	// The outcome unknown: the prepared branches stay for the resolver,
	// their connections dropped (see fanOutWrite's detach).
	detach := func(err error) error {
		for _, sh := range prepared {
			parts[sh].MarkBroken()
		}
		return err
	}
	if anchor == nil {
		// The anchor's part ended by itself (it started nothing): the row
		// goes there on its own.
		if err := ss.logDecision(x, tx.anchor); err != nil {
			if isInDoubt(err) {
				return detach(err) // the prepared branches stay for the resolver
			}
			rollbackAll()
			return err
		}
	} else {
		ac := parts[anchor]
		if err := ss.writeDecision(ac, x); err != nil {
			rollbackAll()
			return err
		}
		if _, _, err := ac.Exec("COMMIT", 0); err != nil {
			if ac.IsBroken() {
				return detach(inDoubt(x, err))
			}
			rollbackAll()
			return err
		}
	}
	var failed error
	for _, sh := range written {
		if _, _, err := parts[sh].Exec(x.commit(sh), 0); err != nil && failed == nil {
			failed = err
			parts[sh].MarkBroken()
		}
	}
	if failed != nil {
		return inDoubt(x, failed)
	}
	return ss.answerEnd(callback)
}

// answerEnd answers COMMIT or ROLLBACK (the flags are set by endXATx).
func (ss *session) answerEnd(callback func(*sqltypes.Result) error) error {
	ss.rowCount = 0
	return callback(&sqltypes.Result{})
}

func contains(list []*shardmap.Shard, sh *shardmap.Shard) bool {
	for _, s := range list {
		if s == sh {
			return true
		}
	}
	return false
}

// partRolledBack: a deadlock makes MariaDB roll back the whole
// transaction of the victim's connection, and the client learns it from
// error 1213; in a transaction on several shards the other parts must go
// too, or statements after the error would go on in them and COMMIT would
// commit half a transaction.
func (ss *session) partRolledBack(err error) error {
	var se *sqlerror.SQLError
	if !errors.As(err, &se) || se.Num != sqlerror.ERLockDeadlock {
		return err
	}
	switch {
	case ss.txXA != nil:
		ss.endXATx(false, false, func(*sqltypes.Result) error { return nil }) //nolint:errcheck // a rollback
	case len(ss.txOthers) > 0:
		ss.endOthers(false) //nolint:errcheck // a rollback
		if ss.conn != nil {
			ss.conn.Exec("ROLLBACK", 0) //nolint:errcheck // a failed one leaves the connection in a transaction: its pool closes it
			ss.settle()
		}
	}
	return err
}

// endLostBranch ends the current part's XA branch when the server says no
// transaction is open there any more: a branch always is, from its XA
// START, so the server rolled it back (a deadlock) and left it ROLLBACK
// ONLY, which its status flags do not show; the connection must not go
// back to its pool so.
func (ss *session) endLostBranch() {
	if ss.txXA == nil || !ss.txXA.branches[ss.shard] {
		return
	}
	ss.conn.Exec(ss.txXA.id.end(ss.shard), 0) //nolint:errcheck // fails on a rollback-only branch; XA ROLLBACK follows
	if _, _, err := ss.conn.Exec(ss.txXA.id.rollback(ss.shard), 0); err != nil {
		ss.conn.MarkBroken()
	}
	delete(ss.txXA.branches, ss.shard)
}
