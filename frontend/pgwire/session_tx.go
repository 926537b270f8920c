package pgwire

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// Transactions on several shards (docs/design/two-phase-commit.md). An
// explicit transaction starts on the shard of its first statement; a
// statement that needs another shard joins that shard to it: a connection
// there gets the transaction's BEGIN (as written, with its SET LOCALs)
// and SETs, and the statement runs there. txParts lists the connections
// in the order they joined; txLink is the one of the last statement.
// COMMIT of a transaction on several shards is two-phase: PREPARE
// TRANSACTION on each, the decision written to the keyspace's decision log
// (executor/twophase), COMMIT PREPARED on each. ROLLBACK goes to all.

// partOn returns the transaction's connection on shard, if it has one.
func (s *session) partOn(shard *shardmap.Shard) *link {
	for _, l := range s.txParts {
		if l.shard == shard {
			return l
		}
	}
	return nil
}

// notePart records that the transaction runs on l.
func (s *session) notePart(l *link) {
	if s.partOn(l.shard) == nil {
		s.txParts = append(s.txParts, l)
		if len(s.txParts) > 1 {
			s.watchTx()
		}
	}
}

// dropPart forgets l as a connection of the transaction.
func (s *session) dropPart(l *link) {
	for i, p := range s.txParts {
		if p == l {
			s.txParts = append(s.txParts[:i:i], s.txParts[i+1:]...)
			return
		}
	}
}

// multiShardTx reports whether the open transaction runs on several shards.
func (s *session) multiShardTx() bool { return len(s.txParts) > 1 }

// joinTx returns the transaction's connection on shard, joining the shard
// to the transaction if it is not part of it yet.
func (s *session) joinTx(shard *shardmap.Shard) (*link, error) {
	if l := s.partOn(shard); l != nil {
		s.txLink = l
		if s.txRestoreOn == l {
			s.restoreStartup(l)
		}
		return l, nil
	}
	if err := s.canJoin(s.txLink.shard, shard); err != nil {
		return nil, err
	}
	l, err := s.joinReplica(shard)
	if err != nil {
		return nil, err
	}
	if l == nil {
		if l, err = s.readyLink(shard); err != nil {
			return nil, err
		}
	}
	var b strings.Builder
	b.WriteString(s.txBeginAll)
	for _, set := range s.txSets {
		b.WriteString(stmtSep)
		b.WriteString(set)
	}
	if s.txRestore != "" {
		// A restore not sent yet (session_reset.go): the joined shard's
		// replay of the transaction's SETs ends with it.
		b.WriteString(stmtSep)
		b.WriteString(s.txRestore)
	}
	l.w.WriteQuery(b.String())
	s.queue(pending{exp: expQuery, link: l, swallow: true, undo: func() { s.txFailed = true }})
	s.txParts = append(s.txParts, l)
	s.txLink = l
	s.watchTx()
	s.opts.Stats.TxJoins.Add(1)
	return l, nil
}

// mayJoinShards reports whether the open transaction may reach other
// shards at all: two-phase commit is on, or it is READ ONLY (it writes
// nothing: each part commits on its own). canJoin checks the rest.
func (s *session) mayJoinShards() bool {
	return s.opts.TwoPhase != nil || s.txOpen && s.txReadOnly
}

// canJoin says whether the open transaction may reach shard want.
func (s *session) canJoin(have, want *shardmap.Shard) error {
	tp := s.opts.TwoPhase
	if s.txReadOnly && !s.txSavepoints && s.txBeginAll != "" && !s.snapshotIsolationOn(want) {
		return nil // it writes nothing: each part commits on its own
	}
	if tp == nil {
		return sqlerr.New(sqlerr.FeatureNotSupported,
			"this statement needs shard %s, but the transaction already runs on shard %s, and two-phase commit is off", want.Name, have.Name).
			WithHint("Set transactions.two_phase_commit: on, or keep the transaction's rows on one shard.")
	}
	switch {
	case s.txBeginAll == "":
		return sqlerr.New(sqlerr.FeatureNotSupported, "this statement needs shard %s, but its transaction was opened inside a multi-statement query on shard %s", want.Name, have.Name).
			WithHint("Send BEGIN as a statement of its own to let a transaction reach several shards.")
	case s.txSavepoints:
		return sqlerr.New(sqlerr.FeatureNotSupported, "this statement needs shard %s, but the transaction made a savepoint on shard %s; savepoints in a transaction on several shards are not supported", want.Name, have.Name)
	case s.snapshotIsolationOn(want):
		return sqlerr.New(sqlerr.FeatureNotSupported, "this statement needs shard %s, but the transaction runs at REPEATABLE READ or SERIALIZABLE on shard %s: a second shard would read another snapshot", want.Name, have.Name).
			WithHint("Use READ COMMITTED for transactions that span shards, or keep the transaction on one shard.")
	}
	ks, ok := s.opts.Snapshot().Keyspace(shardmap.Postgres, s.c.Database)
	if !ok {
		return sqlerr.New("3D000", "database %q does not exist", s.c.Database)
	}
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	return tp.Available(ctx, ks)
}

// refuseInMultiShardTx refuses what a transaction on several shards cannot
// run: statements whose effect would reach only one of its connections.
// errSetOnSeveral refuses a SET that would reach one shard of a
// transaction on several.
var errSetOnSeveral = sqlerr.New(sqlerr.FeatureNotSupported, "SET inside a transaction on several shards is not supported").
	WithHint("SET before BEGIN, or SET LOCAL right after it: those reach every shard the transaction joins.")

func (s *session) refuseInMultiShardTx(stmt *parser.Statement) error {
	if !s.multiShardTx() {
		return nil
	}
	parts := stmt.Parts
	if len(parts) == 0 {
		parts = []*parser.Statement{stmt}
	}
	for _, p := range parts {
		switch {
		case p.Kind == parser.KindSavepoint:
			return sqlerr.New(sqlerr.FeatureNotSupported, "savepoints in a transaction on several shards are not supported")
		case p.Kind == parser.KindSet: // SET CONSTRAINTS too: it would reach one shard
			return errSetOnSeveral
		case p.Tx.Prepared:
			return sqlerr.New(sqlerr.FeatureNotSupported, "PREPARE TRANSACTION, COMMIT PREPARED and ROLLBACK PREPARED belong to shardgate in a transaction on several shards")
		case len(parts) > 1 && (p.Kind == parser.KindCommit || p.Kind == parser.KindRollback || p.Kind == parser.KindBegin):
			return sqlerr.New(sqlerr.FeatureNotSupported, "a transaction on several shards must end with COMMIT or ROLLBACK as a statement of its own")
		}
	}
	return nil
}

// noteSavepoints remembers that the transaction made a savepoint: it may
// not reach another shard after that (a ROLLBACK TO would reach only one).
func (s *session) noteSavepoints(stmt *parser.Statement) {
	if !s.txOpen && len(stmt.Parts) == 0 {
		return
	}
	if stmt.Kind == parser.KindSavepoint {
		s.txSavepoints = true
	}
	for _, p := range stmt.Parts {
		if p.Kind == parser.KindSavepoint {
			s.txSavepoints = true
		}
	}
}

// errSkipBatch: an error earlier in the extended batch, found while
// switching shards: the rest of the batch is skipped until Sync.
var errSkipBatch = errors.New("pgwire: skip the rest of the batch")

// setBeforeTx records a SET LOCAL or SET TRANSACTION sent before the
// transaction reached a server: it is replayed with BEGIN on every shard
// the transaction reaches; SET TRANSACTION also on a chained transaction.
func (s *session) setBeforeTx(stmt *parser.Statement, sql string) {
	if stmt.Set != nil && stmt.Set.Name == "transaction" && stmt.Tx.ReadOnly && !stmt.Tx.ReadWrite {
		s.txReadOnly = true
	} else if s.txReadOnly {
		s.noteReadWrite(stmt, sql)
	}
	s.txBegin += stmtSep + sql
	s.txBeginAll += stmtSep + sql
	if stmt.Set != nil && stmt.Set.Name == "search_path" {
		s.txEarlyPath = sql // a SET LOCAL (local)
		s.txSetsChanged()
	}
	if stmt.Set != nil && stmt.Set.Name == "transaction" {
		s.txBeginChain += stmtSep + sql
	}
}

// noteReadWrite runs for each statement of a READ ONLY transaction before
// it is routed: a SET that may turn the transaction read-write (SET
// [LOCAL] transaction_read_only to anything but a true value, RESET or
// DEFAULT, SET TRANSACTION READ WRITE, SET SESSION CHARACTERISTICS …
// READ WRITE) makes it count as read-write from then on, so it may no
// longer join shards without two-phase commit (mayJoinShards, canJoin).
// When in doubt, read-write. A set_config() call cannot turn it: Postgres
// refuses the change once the transaction took a snapshot, which the
// query calling it has.
func (s *session) noteReadWrite(stmt *parser.Statement, sql string) {
	if len(stmt.Parts) == 0 {
		if stmt.Kind == parser.KindSet && turnsReadWrite(stmt, sql) {
			s.txReadOnly = false
		}
		return
	}
	for _, p := range stmt.Parts {
		if p.Kind == parser.KindSet && turnsReadWrite(p, "") { // a part's own text is not at hand
			s.txReadOnly = false
		}
	}
}

// turnsReadWrite reports whether a SET (sql its text, "" if unknown) may
// make the open transaction read-write.
func turnsReadWrite(stmt *parser.Statement, sql string) bool {
	if stmt.Set == nil {
		return true
	}
	switch stmt.Set.Name {
	case "transaction", "session characteristics":
		return stmt.Tx.ReadWrite
	case "transaction_read_only":
		if stmt.Set.Reset || sql == "" {
			return true
		}
		words := strings.Fields(stripLeadingComments(sql))
		if len(words) < 2 {
			return true
		}
		rest := words[1:]
		if w := strings.ToUpper(rest[0]); (w == "LOCAL" || w == "SESSION") && len(rest) > 1 {
			rest = rest[1:]
		}
		_, value := splitSet(strings.Join(rest, " "))
		return !trueValue(value)
	}
	return false
}

// trueValue reports whether a SET value is one Postgres reads as true
// (parse_bool: a prefix of true or yes, on, 1), quoted or not.
func trueValue(v string) bool {
	v = strings.ToLower(strings.TrimSpace(v))
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		v = v[1 : len(v)-1]
	}
	switch v {
	case "t", "tr", "tru", "true", "y", "ye", "yes", "on", "1":
		return true
	}
	return false
}
