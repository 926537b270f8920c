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
// statement gen on link (on any of the transaction's connections when all
// is set: a scatter read, all of whose parts were cancelled) becomes err,
// and fired says the client got it.
type deadlockVictim struct {
	link  *link
	all   bool
	gen   uint64
	err   *sqlerr.Error
	fired atomic.Bool
}

// noteBegin records when the client's transaction began (explicit: its
// BEGIN), the age by which the detector picks its victim. The proxy's own
// implicit transaction around a write on several shards reaches them all
// at once: its age is taken when it is watched.
func (s *session) noteBegin(explicit bool) {
	if explicit {
		s.txStart = time.Now()
	} else {
		s.txStart = time.Time{}
	}
}

// watchTx registers the open transaction with the detector once it runs on
// several shards (again when another shard joins).
func (s *session) watchTx() {
	d := s.opts.Deadlocks
	if d == nil || len(s.txParts) < 2 {
		return
	}
	tx := d.watch(s, s.txParts, s.txStart)
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
//
// The cancel goes only while the session still waits for l's answer: the
// same statement (gen) in flight, and l's connection the one the session
// reads (a scatter read: one of its parts, and then every part is
// cancelled, as the client's own cancel would). A CancelRequest cancels
// whatever the backend runs when it lands, so a race is left: the wait
// ends (a third party broke the cycle) and the backend starts the next
// statement of the same pipeline between the detector's second look at
// the locks and the cancel. That statement belongs to the same
// transaction (gen only advances at a ReadyForQuery, and a transaction
// on several shards only ends through the proxy after one), which gets
// the 40P01 a moment after it was in the cycle: accepted, as Postgres'
// pg_cancel_backend and Citus accept it (docs/design/deadlocks.md).
func (s *session) cancelForDeadlock(tx *txWatch, l *link, gen uint64, e *sqlerr.Error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen || !s.inFlight || l.conn == nil {
		return false
	}
	target := s.active
	v := &deadlockVictim{link: l, gen: gen, err: e}
	sc, _ := s.active.(*scatterConns)
	switch {
	case s.active == l.conn:
	case sc != nil && sc.has(l.conn):
		v.all = true
	default:
		return false // the session reads another connection: l's statement is over
	}
	tx.victim.Store(v)
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	if err := target.Cancel(ctx); err != nil {
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
	if v == nil || (v.link != l && !v.all) || v.gen != s.gen || v.fired.Load() {
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

// forgetDeadlockVictim clears the victim marker the client has got (a
// scatter read's error, whose parts the scatter failed itself).
func (s *session) forgetDeadlockVictim() {
	for _, l := range s.txParts {
		if l.watch == nil {
			continue
		}
		if v := l.watch.victim.Load(); v != nil && v.fired.Load() {
			l.watch.victim.CompareAndSwap(v, nil)
		}
	}
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
