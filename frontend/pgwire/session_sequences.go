package pgwire

import "github.com/shardgate/shardgate/parser"

// Sequences under transaction pooling. nextval and setval leave state in
// the server session (what currval and lastval answer) that outlives the
// transaction and cannot be replayed on another connection. Pinning on
// every statement that may call them (any INSERT into a table with a
// serial column) would end transaction pooling for writers, so the proxy
// does what the reset list says instead: a connection whose
// sequence state another session left is given DISCARD SEQUENCES before
// this session's first statement on it, in the same write. currval or
// lastval in a later transaction than the nextval then fails with 55000
// ("not yet defined in this session") when the transaction lands on
// another connection, as on a fresh session, instead of answering with
// another client's value. Within one transaction (one connection) they
// work as on the server.

// seqOwner identifies the session that left sequence state on a
// connection (connState.seqOwner). Not empty, so that each is distinct.
type seqOwner struct{ pid uint32 }

// touchesSequences reports whether stmt may call nextval or setval:
// directly, through a column default, a trigger or a function. Only
// plain reads and session commands without volatile calls cannot.
func touchesSequences(stmt *parser.Statement) bool {
	if len(stmt.Parts) > 0 || stmt.Volatile {
		return true
	}
	switch stmt.Kind {
	case parser.KindSelect, parser.KindShow, parser.KindBegin, parser.KindCommit, parser.KindRollback,
		parser.KindSavepoint, parser.KindSet, parser.KindEmpty, parser.KindListen, parser.KindLock,
		parser.KindDiscard, parser.KindDeallocate, parser.KindPrepare:
		return false
	}
	return true
}

// ownSequences records that the session may leave sequence state on l.
func (s *session) ownSequences(l *link) {
	if s.seq == nil {
		s.seq = new(seqOwner)
		if s.c != nil {
			s.seq.pid = s.c.ProcessID
		}
	}
	l.state.seqOwner = s.seq
}

// forgetOthersSequences queues DISCARD SEQUENCES on a connection another
// session left sequence state on, before anything of this session's.
func (s *session) forgetOthersSequences(l *link) {
	st := l.state
	if st.seqOwner == nil || st.seqOwner == s.seq {
		return
	}
	l.w.WriteQuery("DISCARD SEQUENCES")
	s.queue(pending{exp: expQuery, link: l, swallow: true})
	st.seqOwner = nil
	s.opts.Stats.SequenceResets.Add(1)
}
