package pgwire

import (
	"strings"
	"time"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// Pinning. Under transaction pooling a statement that leaves state on its
// server connection that the proxy cannot replay elsewhere (parser.Pin: a
// temporary table, a session advisory lock, LISTEN, a WITH HOLD cursor,
// SET ROLE, set_config(…, false)) pins the session to that connection: it
// joins sessLinks, as under session pooling, until the session ends or the
// client runs DISCARD ALL. Before a pinned connection goes back to the
// pool it is reset with statements that keep the proxy's own prepared
// statements (never DISCARD ALL or DEALLOCATE); if the reset fails the
// connection is closed instead. With pin: deny such statements are refused.

// checkPin refuses a pinning statement when the config says deny.
func (s *session) checkPin(stmt *parser.Statement) error {
	pin := stmt.Pins()
	if pin == parser.PinNone || s.opts.Mode != TransactionPooling || !s.opts.DenyPins {
		return nil
	}
	return sqlerr.New(sqlerr.FeatureNotSupported, "%s is not allowed with transaction pooling (pin: deny): it would stay on a server connection other clients share", pin).
		WithHint("%s", pinHint(pin))
}

// refusePinOnSeveral refuses, under transaction pooling, a statement that
// pins (a session advisory lock taken in a WHERE clause, say) but runs on
// several shards: the fan-out's connections go back to the pool after
// it, and would carry the state to other clients.
func (s *session) refusePinOnSeveral(stmt *parser.Statement) error {
	pin := stmt.Pins()
	if pin == parser.PinNone || s.opts.Mode != TransactionPooling {
		return nil
	}
	return sqlerr.New(sqlerr.FeatureNotSupported, "%s on several shards is not supported with transaction pooling: it would stay on server connections other clients share", pin).
		WithHint("%s", pinHint(pin))
}

func pinHint(p parser.Pin) string {
	switch p {
	case parser.PinAdvisoryLock:
		return "Use pg_advisory_xact_lock inside a transaction, or set pools.pin: allow."
	case parser.PinSetConfig:
		return "Use set_config(name, value, true) or SET LOCAL inside a transaction, or plain SET (which shardgate replays)."
	}
	return "Set pools.pin: allow, or use session pooling."
}

// pin keeps l for the rest of the session and notes what it left there
// (every part's pin, for a multi-statement text).
func (s *session) pin(l *link, p parser.Pin, stmt *parser.Statement) {
	l.state.dirty |= 1 << p
	if stmt != nil {
		for _, part := range stmt.Parts {
			l.state.dirty |= 1 << part.Pin
		}
	}
	l.state.dirty &^= 1 << parser.PinNone
	if l.state.dirty&(1<<parser.PinTempObject) != 0 && stmt != nil {
		s.noteTempCreated(stmt, l)
	}
	if s.sessLinks[l.shard] == l {
		return
	}
	s.sessLinks[l.shard] = l
	if s.opts.Mode == TransactionPooling {
		s.opts.Stats.Pins.Add(1)
		if !s.pinCounted {
			s.pinCounted = true
			s.opts.Stats.PinnedSessions.Add(1)
		}
	}
}

// noteTempCreated records the temporary relation a statement creates, so
// that the router sends statements naming it to l's shard.
func (s *session) noteTempCreated(stmt *parser.Statement, l *link) {
	parts := stmt.Parts
	if len(parts) == 0 {
		parts = []*parser.Statement{stmt}
	}
	for _, p := range parts {
		if p.Pin != parser.PinTempObject || len(p.Tables) == 0 {
			continue
		}
		if s.rs.Temp == nil {
			s.rs.Temp = make(map[string]*shardmap.Shard)
		}
		s.rs.Temp[p.Tables[0].Name] = l.shard
	}
}

// afterSimple settles the session's temporary-table names once a simple
// query has run: a failed CREATE created nothing; a DROP of a temporary
// table forgets it.
func (s *session) afterSimple(stmt *parser.Statement) {
	if len(s.rs.Temp) == 0 {
		return
	}
	if s.queryFailed && stmt.Pins() == parser.PinTempObject && len(stmt.Parts) == 0 && len(stmt.Tables) > 0 {
		delete(s.rs.Temp, stmt.Tables[0].Name)
		return
	}
	if !s.queryFailed && stmt.Kind == parser.KindDDL && len(stmt.Parts) == 0 && strings.HasPrefix(s.lastTag, "DROP") {
		for _, t := range stmt.Tables {
			delete(s.rs.Temp, t.Name)
		}
	}
}

// pinReset undoes whatever a pinned session may have left on its
// connection, keeping prepared statements (never DISCARD ALL or
// DEALLOCATE). It resets every kind of state, not just the kinds the
// session's statements were seen to pin for: the analysis keeps one pin
// per statement, and one statement can leave several (`SELECT
// pg_advisory_lock(1), set_config('x', 'y', false)`, `LISTEN a; CREATE
// TEMP TABLE …`); set_config('role', …) sets a role as SET ROLE does.
// RESET ALL does not reset the role or the session authorization, hence
// their own statements. It runs once per pinned connection, when the
// session lets go of it.
const pinReset = "CLOSE ALL; UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD TEMP; " +
	"SET SESSION AUTHORIZATION DEFAULT; RESET ROLE; RESET ALL"

// resetTimeout bounds a reset; a server slower than this loses the
// connection instead.
const resetTimeout = 5 * time.Second

// resetLink undoes what a session left on l, outside the pending queue
// (nothing of the client is in flight on l), and reports whether l is
// clean and idle.
func (s *session) resetLink(l *link) bool {
	st := l.state
	l.conn.SetDeadline(time.Now().Add(resetTimeout))
	defer l.conn.SetDeadline(time.Time{})
	failed, err := s.runOwn(l, pinReset)
	if err != nil || failed != nil || l.conn.TxStatus() != pgio.TxIdle {
		return false
	}
	st.dirty, st.roleApplied, st.applied = 0, false, resetMark
	return true
}

// unpin resets and gives back every pinned connection: at the end of the
// session, and at DISCARD ALL. A connection the reset fails on is closed.
func (s *session) unpin() {
	for sh, l := range s.sessLinks {
		if l == s.txLink || l == s.batch || s.partOn(sh) == l {
			continue // the caller breaks these
		}
		delete(s.sessLinks, sh)
		// Under session pooling every connection is reset, as PgBouncer's
		// session mode resets each with its server_reset_query: a session
		// may leave state the analysis cannot see (a lock taken inside a
		// function, a pinning statement run on several shards).
		if l.state.dirty != 0 || s.opts.Mode == SessionPooling {
			if s.resetLink(l) {
				s.opts.Stats.Resets.Add(1)
			} else {
				s.opts.Stats.ResetFailures.Add(1)
				l.conn.MarkBroken()
			}
		}
		if l.state.untracked {
			// SETs the proxy could not follow stay on a session's own
			// connection (syncSettings); whoever gets it next resets it.
			l.state.applied, l.state.untracked = appliedUnknown, false
		}
		s.dropPortals(l)
		s.giveBack(l) // and its replica lease, if any
	}
	s.rs.Temp = nil
	if s.pinCounted {
		s.pinCounted = false
		s.opts.Stats.PinnedSessions.Add(-1)
	}
}
