package pgwire

import (
	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// An extended batch outside a transaction runs on one server connection
// (its implicit transaction), so a statement that needs another shard than
// the batch's is refused (errSpansShards). A batch that so far ran only
// SETs the session records (pgx's `SET …` queued before a query, say) on a
// connection chosen before any shard was known moves instead: that
// connection is synced (the SETs commit there and are recorded), and the
// next one gets them with the session's settings.
//
// In Postgres the SETs would still be part of the batch's implicit
// transaction, undone if a later statement of the batch fails. The move
// keeps that: the session's settings from before the move come back then
// (settleMoved), and the connections the SETs reached carry them in their
// own settings key, so each is brought back to the session's settings
// before its next use. A transaction-control statement later in the same
// batch would decide the SETs' fate otherwise (ROLLBACK undoes them, BEGIN
// takes them into its transaction, COMMIT makes them stay whatever fails
// after it): refused after a move, which fails the batch as a whole, as
// the statement that needed another shard was refused before moves
// existed.

// movedSettings is what a move changed: the session's settings before it,
// and the server errors relayed by then; failed: the proxy answered an
// error after it (extError). status holds the ParameterStatus messages the
// moved connection sent at its Sync (a SET application_name, TimeZone,
// …): Postgres reports them just before the batch's ReadyForQuery, and
// not at all if the batch fails, so they wait for its end
// (releaseMovedStatus); capturing is set while they may come.
type movedSettings struct {
	settings  []string
	errors    int
	failed    bool
	capturing bool
	status    [][]byte
}

// setsOnly reports whether the batch's connection l has run nothing but
// recorded SETs in the batch's implicit transaction (Parses and Describes
// aside), and holds no portal of anything else.
func (s *session) setsOnly(l *link) bool {
	if l.replica || s.txOpen || s.txLink == l || s.batchRan != l || !s.batchSetsOnly {
		return false
	}
	for _, p := range s.portals.all() {
		if p.link == l && !trackedSet(p.cs.stmt) {
			return false
		}
	}
	return true
}

// moveSets ends the batch's exchange with l (its SETs answered and
// recorded), keeping what to restore if the batch fails later.
func (s *session) moveSets(l *link) error {
	if s.moved == nil {
		s.moved = &movedSettings{settings: append([]string(nil), s.settings...)}
	}
	s.moved.capturing = true
	err := s.syncAway(l)
	s.moved.capturing = false
	if err != nil {
		return err
	}
	s.moved.errors = s.errors
	return nil
}

// captureStatus keeps a ParameterStatus of the moved connection's Sync
// (reports whether it did).
func (s *session) captureStatus(body []byte) bool {
	m := s.moved
	if m == nil || !m.capturing {
		return false
	}
	m.status = append(m.status, append([]byte(nil), body...))
	return true
}

// releaseMovedStatus writes, just before the batch's ReadyForQuery to the
// client, the ParameterStatus messages of a move, if the batch did not
// fail.
func (s *session) releaseMovedStatus() {
	m := s.moved
	if m == nil || m.capturing || len(m.status) == 0 {
		return
	}
	if !m.failed && s.errors == m.errors {
		for _, body := range m.status {
			s.out.WriteRaw(pgio.TypeParameterStatus, body)
		}
	}
	m.status = nil
}

// settleMoved runs when the client's batch has ended: if a server error
// came after a move (or the proxy refused a statement), the batch's
// implicit transaction failed and its SETs would be undone, so the
// session's settings are those from before.
func (s *session) settleMoved() {
	m := s.moved
	if m == nil {
		return
	}
	s.moved = nil
	if m.failed || s.errors > m.errors {
		s.settings = m.settings
		s.settingsChanged()
	}
}

// refuseTxAfterMove refuses transaction control in a batch that moved
// (s.moved set).
func (s *session) refuseTxAfterMove(stmt *parser.Statement) error {
	switch stmt.Kind {
	case parser.KindBegin, parser.KindCommit, parser.KindRollback, parser.KindSavepoint:
		return sqlerr.New(sqlerr.FeatureNotSupported, "%s in a pipeline whose SETs moved to another shard's connection is not supported", stmt.Kind).
			WithHint("Send the SETs and the transaction in separate pipelines (a Sync between them).")
	}
	return nil
}
