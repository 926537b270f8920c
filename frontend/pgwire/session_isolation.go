package pgwire

import (
	"encoding/binary"
	"strings"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// A transaction's isolation level, as the proxy must know it before a
// second shard joins or a read runs beside the transaction: from its
// BEGIN, SET TRANSACTION and the session's recorded SETs, else asked of a
// server (a role's or database's default_transaction_isolation is only
// visible there), else unknown (docs/design/postgres-endpoint.md).

// snapshotIsolation reports whether the open transaction runs at
// REPEATABLE READ or SERIALIZABLE: each shard would take its own snapshot,
// so a transaction on several shards could see half of another one. An
// isolation the proxy cannot tell counts as one of those.
func (s *session) snapshotIsolation() bool { return s.snapshotIsolationOn(nil) }

// snapshotIsolationOn is snapshotIsolation, asking a server of shard spare
// if one must be asked (askIsolation; nil: any).
func (s *session) snapshotIsolationOn(spare *shardmap.Shard) bool {
	iso, known := s.txIsolation(spare)
	return !known || iso == "repeatable read" || iso == "serializable"
}

// txIsolation is the open transaction's isolation: as its BEGIN or SET
// TRANSACTION says, else as the session's recorded SETs say, else — a
// default set on the server (ALTER ROLE or ALTER DATABASE … SET
// default_transaction_isolation, postgresql.conf), which no text the proxy
// parses shows — as a server of shard spare says (askIsolation; nil: any).
// known is false when none
// could tell. A transaction the proxy opened around one statement of its
// own (a write on several shards, COPY: no BEGIN of the client's, so no
// txBeginChain) needs no single snapshot: "", known.
func (s *session) txIsolation(spare *shardmap.Shard) (iso string, known bool) {
	if st, _, err := s.opts.Analyzer.Analyze(s.txBeginAll, nil); err == nil {
		parts := st.Parts
		if len(parts) == 0 {
			parts = []*parser.Statement{st}
		}
		for _, p := range parts {
			if p.Tx.Isolation != "" {
				iso = p.Tx.Isolation
			}
		}
	}
	if iso != "" {
		return iso, true
	}
	if s.txBeginChain == "" {
		return "", true
	}
	if s.settingsUntracked() {
		// A default set where neither the session's recorded SETs nor
		// reset_val show it (set_config on a pinned connection, a SET in
		// a multi-statement text): the parts could differ.
		return "", false
	}
	if iso = s.defaultIsolation(); iso != "" {
		return iso, true
	}
	return s.askIsolation(spare)
}

// settingsUntracked reports whether a connection of the open transaction
// or one the session keeps (which a joining shard would use) may hold
// session settings the proxy does not know.
func (s *session) settingsUntracked() bool {
	untracked := func(l *link) bool {
		return l.state.untracked || l.state.dirty&(1<<parser.PinSetConfig) != 0
	}
	for _, l := range s.txParts {
		if untracked(l) {
			return true
		}
	}
	if s.txLink != nil && untracked(s.txLink) {
		return true
	}
	for _, l := range s.sessLinks {
		if untracked(l) {
			return true
		}
	}
	return false
}

// idleOwnLink is the session's own connection to shard (session pooling,
// or pinned) when a question of the proxy's may run on it now: not a part
// of the transaction nor of the extended batch, owing the client nothing,
// idle. Asking it, rather than the pool, never waits for a connection the
// session itself holds.
func (s *session) idleOwnLink(shard *shardmap.Shard) *link {
	l := s.sessLinks[shard]
	if l == nil || s.partOn(shard) != nil || l == s.txLink || l.w.Buffered() > 0 || l.conn.TxStatus() != pgio.TxIdle {
		return nil
	}
	if l == s.batch || l == s.batchRan {
		return nil
	}
	for i := range s.q {
		if s.q[i].link == l {
			return nil
		}
	}
	return l
}

// defaultIsolationSQL reads the isolation a transaction gets on a
// connection without SETs: RESET's value, whatever SETs another client
// left on a pooled connection.
const defaultIsolationSQL = "SELECT reset_val FROM pg_settings WHERE name = 'default_transaction_isolation'"

// askIsolation asks a server the isolation the open transaction's BEGIN
// got, and writes the answer into the text every joining shard replays
// (and, before the transaction reached a server, into its BEGIN): it is
// asked once per transaction, and every part runs at that isolation. It is
// asked only when a second shard or a cross-shard read needs it, never on
// the one-shard path.
//
// A pooled connection answers, to spare's shard (the one about to join),
// else to a shard the transaction has not reached: not a part of the
// transaction, whose connection may be in COPY mode, or owe a pipeline
// answers, and whose pg_stat_activity should show the client's statement,
// and not a second connection to a node the session holds one to (a full
// pool would make it wait for itself). The shards are expected to share
// their roles' and databases' defaults. A default_transaction_isolation
// SET the proxy could not follow (sent through the extended protocol) is
// missed.
func (s *session) askIsolation(spare *shardmap.Shard) (iso string, known bool) {
	if !s.txOpen || s.txFailed {
		return "", false
	}
	if spare == nil {
		ks, ok := s.opts.Snapshot().Keyspace(shardmap.Postgres, s.c.Database)
		if !ok {
			return "", false
		}
		spare = s.anyShard(ks)
		for _, sh := range ks.Shards() {
			if s.partOn(sh) == nil {
				spare = sh
				break
			}
		}
	}
	var r partResult
	if own := s.idleOwnLink(spare); own != nil {
		own.w.WriteQuery(defaultIsolationSQL)
		r = s.runOnParts([]*link{own})[0]
		if r.ioErr != nil {
			s.breakLink(own)
		}
	} else {
		conn, err := s.acquire(spare)
		if err != nil {
			return "", false
		}
		conn.Writer().WriteQuery(defaultIsolationSQL)
		r = s.runOnParts([]*link{newLink(conn, spare)})[0]
		if r.ioErr != nil {
			conn.MarkBroken()
		}
		s.opts.Conns.Release(conn)
	}
	if r.ioErr != nil || r.err != nil {
		return "", false
	}
	iso, ok := firstText(r.row)
	switch {
	case !ok:
		return "", false
	case iso != "read uncommitted" && iso != "read committed" && iso != "repeatable read" && iso != "serializable":
		return "", false
	case s.txSavepoints:
		// A SAVEPOINT replayed before it would make the SET fail (not in
		// a subtransaction): asked again next time.
		return iso, true
	}
	set := ";\nSET TRANSACTION ISOLATION LEVEL " + strings.ToUpper(iso)
	if s.txLink == nil {
		s.txBegin += set
	}
	s.txBeginAll += set
	return iso, true
}

// firstText is the first column of a DataRow body, as text.
func firstText(row []byte) (string, bool) {
	if len(row) < 6 || binary.BigEndian.Uint16(row) < 1 {
		return "", false
	}
	n := int32(binary.BigEndian.Uint32(row[2:]))
	if n < 0 || int(n) > len(row)-6 {
		return "", false
	}
	return string(row[6 : 6+n]), true
}

// defaultIsolation is the session's default transaction isolation as its
// last recorded SET says: SET default_transaction_isolation, or its SQL
// standard spelling, SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION
// LEVEL … (read from the parsed statement). "" when none says.
func (s *session) defaultIsolation() string {
	for i := len(s.settings) - 1; i >= 0; i-- {
		set := s.settings[i]
		switch settingName(set) {
		case "default_transaction_isolation":
			if v, ok := s.settingValue("default_transaction_isolation"); ok {
				return strings.ToLower(v)
			}
			return ""
		case "characteristics":
			st, _, err := s.opts.Analyzer.Analyze(set, nil)
			if err != nil || st.Set == nil || st.Set.Name != "session characteristics" {
				continue
			}
			if st.Tx.Isolation != "" {
				return st.Tx.Isolation
			}
		}
	}
	return ""
}
