package pgwire

import (
	"strings"
	"time"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// A client's DISCARD. Its state lives on server connections the session
// may no longer hold, so the proxy answers most of it itself: what it
// discards is the session's, wherever the session left it.
//
//   - DISCARD ALL: the startup settings, no prepared statements, pinned
//     connections reset and given back, and no sequence state (below).
//     Like Postgres, never inside a transaction.
//   - DISCARD SEQUENCES: the session takes a new sequence identity, so
//     every connection its nextval calls left state on counts as another
//     session's and gets DISCARD SEQUENCES before this one's next
//     statement there (session_sequences.go). Inside a transaction that
//     already runs on a server it also reaches that server, where
//     currval must fail from now on; refused in one on several shards
//     (it would reach one of them).
//   - DISCARD TEMP: temporary tables live only on the connections the
//     session is pinned to (or keeps, under session pooling); it runs on
//     each of them. Inside a transaction it would be undone by a
//     rollback, which the proxy's bookkeeping of temporary names does not
//     follow: refused there while the session has temporary tables it
//     knows of; without any it does nothing (under session pooling it
//     reaches the transaction's connection, as routed).
//   - DISCARD PLANS: any server connection, as routed.

// clientDiscard handles a client's DISCARD (tag as commandTag gives it) given
// alone in a simple query; handled false lets it be routed.
func (s *session) clientDiscard(tag string) (handled bool, err error) {
	switch tag {
	case "DISCARD ALL":
		if s.txOpen {
			return true, sqlerr.New("25001", "DISCARD ALL cannot run inside a transaction block")
		}
		s.resetSettings()
		s.unpin()
		s.seq = nil
		return true, nil
	case "DISCARD SEQUENCES":
		if s.multiShardTx() {
			return true, sqlerr.New(sqlerr.FeatureNotSupported, "DISCARD SEQUENCES inside a transaction on several shards is not supported").
				WithHint("Run it outside the transaction.")
		}
		s.seq = nil
		return s.txLink == nil, nil
	case "DISCARD TEMP", "DISCARD TEMPORARY":
		if s.txOpen && !s.holdsTemp() && s.opts.Mode == SessionPooling {
			return false, nil // the transaction's connection, as routed
		}
		return true, s.discardTemp()
	}
	return false, nil
}

// discardTemp runs DISCARD TEMP on every connection the session keeps
// that may hold temporary objects (all of them under session pooling,
// where a function may have made some the analysis did not see).
func (s *session) discardTemp() error {
	if len(s.sessLinks) == 0 || !s.holdsTemp() && s.opts.Mode != SessionPooling {
		return nil // no connection of the session's has any
	}
	if s.txOpen {
		return sqlerr.New(sqlerr.FeatureNotSupported, "DISCARD TEMP inside a transaction is not supported while the session holds temporary tables on its server connections").
			WithHint("Run DISCARD TEMP outside the transaction, or DROP the temporary tables.")
	}
	for _, l := range s.sessLinks {
		l.conn.SetDeadline(time.Now().Add(resetTimeout))
		failed, err := s.runOwn(l, "DISCARD TEMP")
		l.conn.SetDeadline(time.Time{})
		if err != nil {
			s.breakLink(l)
			return serverLostBefore(err)
		}
		if failed != nil {
			return failed.SQLError()
		}
		if l.conn.TxStatus() != pgio.TxIdle {
			s.breakLink(l)
			return sqlerr.New(sqlerr.InternalError, "DISCARD TEMP left the server connection of shard %s in a transaction", l.shard.Name)
		}
		l.state.dirty &^= 1 << parser.PinTempObject
	}
	s.rs.Temp = nil
	return nil
}

// holdsTemp reports whether a connection the session keeps holds
// temporary objects it knows of.
func (s *session) holdsTemp() bool {
	if len(s.rs.Temp) > 0 {
		return true
	}
	for _, l := range s.sessLinks {
		if l.state.dirty&(1<<parser.PinTempObject) != 0 {
			return true
		}
	}
	return false
}

// discardTag is the tag Postgres answers a DISCARD with.
func discardTag(tag string) string {
	return strings.Replace(tag, "TEMPORARY", "TEMP", 1)
}
