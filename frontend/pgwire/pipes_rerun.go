package pgwire

import (
	"errors"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
)

// A shared batch that cannot be answered where it was sent runs again on a
// connection of its own: a victim of a cancel meant for the member before
// it, or one whose turn did not come (docs/design/pipelines.md). Both are
// reads outside a transaction with nothing of their answer sent (house
// rule 9).

// markPipeAnswer notes, before the first answer read on the pipe, where
// the client's output of the batch begins (after the proxy's own answers
// that went first, a ParseComplete, which a rerun does not repeat).
func (s *session) markPipeAnswer(l *link) {
	if t := s.pipe; t != nil && !t.marked && t.p != nil && t.p.conn == l.conn {
		t.mark, t.marked = s.out.Mark(), true
	}
}

// pipeVictim reports whether an error the server sent on the session's
// pipe (body) is a cancel the session did not ask for, sent for the
// member before it while its statement was ending, and whether none of
// the answer has reached the client yet: then the batch can run again.
func (s *session) pipeVictim(body []byte) bool {
	t := s.pipe
	if s.noPipe || !t.marked || s.cancels.Load() != t.cancels || !s.out.Rewindable(t.mark) {
		return false
	}
	if f, err := pgio.DecodeErrorFields(body); err != nil || f.Code != sqlerr.QueryCanceled {
		return false
	}
	ps := s.opts.Pipes
	ps.mu.Lock()
	n := t.p.cancels + t.p.prevCancels
	ps.mu.Unlock()
	return n > 0
}

// dropVictimAnswer drops what the client got of a victim's answer and
// the rest of it, until endPipeBatch.
func (s *session) dropVictimAnswer() {
	t := s.pipe
	t.victim = true
	s.out.Rewind(t.mark)
	t.out, s.out = s.out, s.discarding()
	s.opts.Stats.PipeVictims.Add(1)
}

// endPipeBatch ends a batch that may have gone through a pipe, and
// reports whether it must run again on a connection of its own: it was a
// victim of another member's cancel, or its turn did not come (*err,
// errPipeGaveUp, then cleared). A victim's run that failed otherwise
// keeps its error.
func (s *session) endPipeBatch(err *error) bool {
	s.pipeOK = false
	t := s.pipe
	if t == nil {
		return false
	}
	gaveUp := errors.Is(*err, errPipeGaveUp)
	if gaveUp {
		*err = nil
	}
	if t.victim {
		t.victim = false
		s.out, t.out = t.out, nil
		return *err == nil
	}
	return gaveUp
}

// rerunBatch runs an extended batch again, unshared (endPipeBatch).
func (s *session) rerunBatch() error {
	s.noPipe = true
	defer func() { s.noPipe = false }()
	s.inExtended, s.discard, s.skipping = false, false, false
	rest := s.pipe.batch
	for len(rest) > 0 {
		typ, body, next, ok := pgio.NextMessage(rest)
		if !ok {
			break
		}
		rest = next
		if err := s.extended(typ, body); err != nil {
			return err
		}
	}
	return nil
}

// noteCancel counts a cancel sent to conn's server while sessions share
// it (pipeVictim).
func (ps *Pipes) noteCancel(conn ServerConn) {
	st, ok := conn.Attachment().(*connState)
	if !ok {
		return
	}
	ps.mu.Lock()
	if len(st.pipe.members) > 0 {
		st.pipe.cancels++
	}
	ps.mu.Unlock()
}
