package pgwire

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
)

// The session's side of the cross-shard deadlock detector (deadlock.go).
// Nothing here runs on a single-shard statement: a transaction is watched
// from the moment a second shard joins it.

// deadlockDetected is SQLSTATE 40P01 (deadlock_detected).
const deadlockDetected = "40P01"

// deadlockVictim marks the connection of a watched transaction whose
// waiting statement the detector cancelled: the server's 57014 for
// statement gen on link becomes err, and fired says the client got it.
type deadlockVictim struct {
	link  *link
	gen   uint64
	err   *sqlerr.Error
	fired atomic.Bool
}

// watchTx registers the open transaction with the detector once it runs on
// several shards (again when another shard joins).
func (s *session) watchTx() {
	d := s.opts.Deadlocks
	if d == nil || len(s.txParts) < 2 {
		return
	}
	tx := d.watch(s, s.txParts)
	for _, l := range s.txParts {
		l.watch = tx
	}
}

// unwatchLink ends the watch of the transaction l was a part of: the
// transaction ended, or l leaves the session.
func (s *session) unwatchLink(l *link) {
	if l.watch != nil {
		s.opts.Deadlocks.unwatch(l.watch)
		l.watch = nil
	}
}

// unwatchTx ends the watch of the open transaction.
func (s *session) unwatchTx() {
	for _, l := range s.txParts {
		s.unwatchLink(l)
	}
}

// cancelForDeadlock cancels statement gen, waiting on l, so that its
// client gets e. Like the client's own cancel, it holds mu while the
// cancel is delivered: the statement cannot end and the connection cannot
// go back to the pool meanwhile. False: the statement is over.
func (s *session) cancelForDeadlock(tx *txWatch, l *link, gen uint64, e *sqlerr.Error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen || !s.inFlight {
		return false
	}
	v := &deadlockVictim{link: l, gen: gen, err: e}
	tx.victim.Store(v)
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	if err := l.conn.Cancel(ctx); err != nil {
		tx.victim.CompareAndSwap(v, nil)
		return false
	}
	return true
}

// deadlockError is a server error on l, a connection of a watched
// transaction: the cancel of the statement the detector chose (57014)
// becomes the deadlock error. Any other error passes unchanged.
func (s *session) deadlockError(l *link, body []byte) []byte {
	v := l.watch.victim.Load()
	if v == nil || v.link != l || v.gen != s.gen || v.fired.Load() {
		return body
	}
	f, err := pgio.DecodeErrorFields(body)
	if err != nil || f.Code != sqlerr.QueryCanceled {
		return body
	}
	f.Code, f.Message, f.Detail, f.Hint = deadlockDetected, v.err.Message, v.err.Detail, v.err.Hint
	f.File, f.Line, f.Routine = "", "", "" // the server's cancel, not ours
	v.fired.Store(true)
	return pgio.AppendErrorFields(nil, pgio.TypeErrorResponse, &f)[5:]
}

// afterDeadlock runs at the ReadyForQuery the client gets: if a part of
// the transaction was a deadlock victim, every other part fails on its
// server now, as Postgres fails a victim's whole transaction, so their
// locks go at once, not when the client rolls back. The parts are idle:
// this is the batch's last answer.
func (s *session) afterDeadlock() error {
	hit := false
	for _, l := range s.txParts {
		if l.watch == nil {
			continue
		}
		if v := l.watch.victim.Load(); v != nil && v.fired.Load() {
			l.watch.victim.CompareAndSwap(v, nil)
			hit = true
		}
	}
	if !hit {
		return nil
	}
	s.txFailed = true
	var others []*link
	for _, l := range s.txParts {
		if l.conn.TxStatus() == pgio.TxInBlock {
			l.w.WriteQuery(abortSQL)
			others = append(others, l)
		}
	}
	return s.brokenParts(s.runOnParts(others))
}
