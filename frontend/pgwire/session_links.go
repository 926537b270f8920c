package pgwire

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/replicas"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// linksInBatch lists the server connections the pending queue uses.
func (s *session) linksInBatch() []*link {
	switch {
	case len(s.txParts) > 1:
		return s.txParts
	case s.txLink != nil:
		return []*link{s.txLink}
	case s.batch != nil:
		return []*link{s.batch}
	}
	return nil
}

// planShard picks the shard a plan runs on.
func (s *session) planShard(p router.Plan) *shardmap.Shard {
	switch p := p.(type) {
	case *router.Single: // s.route's one-shard plans (router.RouteOne)
		return p.Shard
	case router.Single:
		return p.Shard
	case router.AnyShard:
		return s.anyShard(p.Keyspace)
	case router.Scatter:
		// Where a Describe of it runs: any of its shards will do.
		return p.Shards[0]
	case router.Broadcast:
		return p.Shards[0]
	case router.SplitInsert:
		return p.Shards[0]
	}
	return nil
}

// anyShard is where a statement that may run anywhere goes: the shard the
// session already uses, else the first.
func (s *session) anyShard(ks *shardmap.Keyspace) *shardmap.Shard {
	if s.txLink != nil {
		return s.txLink.shard
	}
	for _, l := range s.linksInBatch() {
		return l.shard
	}
	for sh := range s.sessLinks {
		return sh
	}
	return ks.Shards()[0]
}

// errSpansShards refuses a batch or transaction that reaches a second shard.
func errSpansShards(have, want *shardmap.Shard) *sqlerr.Error {
	return sqlerr.New(sqlerr.FeatureNotSupported,
		"this statement needs shard %s, but the transaction or pipeline already runs on shard %s", want.Name, have.Name).
		WithHint("Until two-phase commit is supported, a transaction or a pipeline between Syncs stays on one shard.")
}

// linkFor returns the connection to use for shard, acquiring one if
// needed, and queues what the connection needs first: the session's
// settings and a deferred BEGIN.
func (s *session) linkFor(shard *shardmap.Shard) (*link, error) {
	return s.linkForUse(shard, true)
}

// linkForUse is linkFor; with pin false, a transaction that has not reached
// a server yet is not started on the connection (a Describe, which any
// shard answers, must not choose the transaction's shard).
func (s *session) linkForUse(shard *shardmap.Shard, pin bool) (*link, error) {
	if l := s.txLink; l != nil {
		if l.shard != shard {
			if s.inExtended && len(s.q) > 0 {
				// Switching shards inside a batch: what went to the
				// other shard must have succeeded first, or Postgres
				// would skip this statement (and a shard that did not
				// see the error would run it).
				if err := s.drain(true); err != nil {
					return nil, err
				}
				if s.skipping {
					return nil, errSkipBatch
				}
			}
			return s.joinTx(shard)
		}
		if s.txRestoreOn == l {
			s.restoreStartup(l)
		}
		return l, nil
	}
	if l := s.batch; l != nil && l.shard != shard && s.describedOnly(l) {
		// Only Describes went there (a statement described before its
		// Bind named the shard, as libpq's pipeline mode sends them): that
		// exchange ends, and the batch moves to the shard it needs.
		if err := s.syncAway(l); err != nil {
			return nil, err
		}
	} else if l != nil && l.shard != shard && s.setsOnly(l) {
		if err := s.moveSets(l); err != nil {
			return nil, err
		}
	}
	if l := s.batch; l != nil {
		if l.shard != shard {
			// Unless what went there failed: Postgres would skip this
			// statement, and the client gets that error alone.
			if err := s.drain(true); err != nil {
				return nil, err
			}
			if s.skipping {
				return nil, errSkipBatch
			}
			return nil, errSpansShards(l.shard, shard)
		}
		if pin && s.txOpen {
			// A Describe took this connection earlier in the batch; now
			// the transaction starts on it. (A BEGIN in an extended batch
			// turns its implicit transaction into the explicit one.)
			s.beginOn(l)
		}
		return l, nil
	}
	l, err := s.readyLink(shard)
	if err != nil {
		return nil, err
	}
	if s.txOpen && pin {
		s.beginOn(l)
	} else {
		s.batch = l
	}
	return l, nil
}

// readyLink is the session's connection to shard (kept, or acquired)
// with the session's settings queued on it.
func (s *session) readyLink(shard *shardmap.Shard) (*link, error) {
	l := s.sessLinks[shard]
	if l == nil {
		conn, err := s.acquire(shard)
		if err != nil {
			return nil, err
		}
		l = newLink(conn, shard)
		if s.opts.Mode == SessionPooling {
			s.sessLinks[shard] = l
		}
	}
	if err := s.syncSettings(l); err != nil {
		s.dropFailedLink(l, err)
		return nil, err
	}
	s.forgetOthersSequences(l)
	if s.roleSet {
		s.pin(l, parser.PinRole, nil)
	}
	return l, nil
}

// dropFailedLink lets go of l, just readied for a statement that will not
// run on it (err): broken if the server failed, else back to the pool
// unless the session keeps it.
func (s *session) dropFailedLink(l *link, err error) {
	if errors.Is(err, errServerGone) {
		s.breakLink(l)
		return
	}
	s.releaseLink(l)
}

// beginOn starts the session's deferred transaction on l.
func (s *session) beginOn(l *link) {
	if s.txBegin != "" {
		l.w.WriteQuery(s.txBegin)
		// If the server skips the BEGIN (an error earlier in the batch),
		// the transaction never started there: it is failed, on the
		// proxy only, as Postgres would have failed it.
		s.queue(pending{exp: expQuery, link: l, swallow: true, undo: func() {
			if s.txLink == l {
				s.txLink = nil
			}
			s.dropPart(l)
			s.txFailed = true
		}})
	}
	s.txLink = l
	s.notePart(l)
	if s.batch == l {
		s.batch = nil
	}
}

// syncSettings brings the connection's session settings to this
// session's, when they differ: RESET ALL, then the session's SETs. The
// replay runs before the client's statement is sent, and the statement is
// sent only if it succeeded: a server that refuses it (a role missing on
// this shard, a cancel) has kept the settings it had, another session's,
// and the client gets the server's error instead of an answer given under
// them. It costs a round trip only when a connection changes hands between
// sessions whose settings differ (PgBouncer waits for its SETs too).
//
// l has nothing of the session's in flight: it was just acquired, or is
// the session's own between batches. Inside a transaction nothing is
// replayed: a connection whose settings the proxy lost track of there (a
// SET in a multi-statement text) has the transaction's own, which a
// RESET ALL would wipe; it is reset before its next session instead.
func (s *session) syncSettings(l *link) error {
	st := l.state
	if st.applied == s.settingsKey {
		return nil
	}
	sql := s.settingsReplay(l)
	// In flight from now, as the statement it goes before: the client's
	// cancel ends the replay, and then the statement never runs. After a
	// replay that succeeded the connection stays the active one: the
	// statement goes in flight on it next, and a cancel in between is
	// repeated until it lands on the statement.
	s.setActive(l.conn)
	failed, err := s.runOwn(l, sql)
	if err == nil && failed == nil && l.conn.TxStatus() == pgio.TxIdle {
		s.opts.Stats.SettingsReplays.Add(1)
		if !strings.HasPrefix(sql, "SELECT 1") {
			st.untracked = false
		}
		if strings.Contains(sql, "RESET ROLE") {
			st.roleApplied = false
		}
		st.roleApplied = st.roleApplied || s.roleSet
		st.applied = s.settingsKey
		return nil
	}
	s.statementDone() // a cancel that is still being delivered stops here
	s.setActive(nil)
	if err != nil {
		return serverLostBefore(err)
	}
	s.opts.Stats.SettingsReplayFailures.Add(1)
	return settingsRefused(failed, l.shard)
}

// settingsReplay is the text that brings l's settings to the session's.
func (s *session) settingsReplay(l *link) string {
	var b strings.Builder
	if (l.state.untracked || l.state.dirty&(1<<parser.PinSetConfig) != 0) && s.sessLinks[l.shard] == l {
		// The session's own connection (session pooling, or pinned), with
		// settings of its own the proxy could not follow (SETs in a
		// multi-statement text, set_config(…, false)): they stay (a RESET
		// ALL would lose them); the tracked ones are applied over them,
		// after resetting those it had that the session no longer has (a
		// RESET that ran on another connection) and the role.
		b.WriteString("SELECT 1")
		if l.state.roleApplied {
			b.WriteString(";\nSET SESSION AUTHORIZATION DEFAULT;\nRESET ROLE")
		}
		have := appliedNames(s.settingsKey)
		for name := range appliedNames(l.state.applied) {
			if !have[name] && name != "role" && name != "authorization" && plainName(name) {
				b.WriteString(";\nRESET ")
				b.WriteString(name)
			}
		}
	} else {
		if l.state.roleApplied {
			b.WriteString("SET SESSION AUTHORIZATION DEFAULT;\nRESET ROLE;\n")
		}
		b.WriteString("RESET ALL")
	}
	for _, set := range s.settings {
		b.WriteString(stmtSep)
		b.WriteString(set)
	}
	return b.String()
}

// settingsRefused is the client's error when a server refused the
// session's settings: the server's own, saying the statement did not run.
func settingsRefused(f *pgio.ErrorFields, shard *shardmap.Shard) *sqlerr.Error {
	if f == nil {
		return sqlerr.New(sqlerr.InternalError, "the session's settings left the server connection of shard %s in a transaction", shard.Name)
	}
	e := f.SQLError()
	if e.Detail == "" {
		e.Detail = fmt.Sprintf("The proxy replays the session's settings on each server connection that serves it; the one of shard %s refused them, so the statement did not run.", shard.Name)
	}
	return e
}

// noteReady handles a server's ReadyForQuery: the end of a batch or
// statement. It updates the transaction state and gives the connection
// back when the transaction is over (transaction pooling).
func (s *session) noteReady(l *link, body []byte, swallow bool) error {
	st, err := pgio.DecodeReadyForQuery(body)
	if err != nil {
		return err
	}
	l.conn.SetTxStatus(st)
	l.skipping = false
	if st != pgio.TxIdle && s.inPipe(l) {
		// A shared connection's batch is a read outside a transaction:
		// one that is not idle after it is out of step with the pipe.
		// (drain breaks the link, as for any failed answer.)
		s.breakPipe()
		return s.serverFailure(errPipeOutOfStep)
	}
	if swallow {
		return nil
	}
	s.statementDone()
	s.skipping, s.pathSent = false, false
	if len(s.batchSets) > 0 {
		s.settleBatchSets(st)
	}
	if s.textSets != nil {
		s.settleTextSets(l)
	}
	s.txEnded, s.txEndSent = false, false
	if s.txOpen && s.txLink == nil && st == pgio.TxIdle {
		// A side connection (a Describe) while the transaction has not
		// reached a server: the client's status is the proxy's.
		if s.batch == l {
			s.batch = nil
		}
		s.dropPart(l)
		s.out.WriteReadyForQuery(s.clientStatus())
		s.releaseLink(l)
		return nil
	}
	switch st {
	case pgio.TxIdle:
		if len(s.txSets) > 0 {
			// The transaction ended without the proxy seeing the
			// statement that ended it complete (its SETs are settled
			// there, txControlDone): whether they hold on l is a guess,
			// so l is reset before another session uses it.
			s.endTxSettings(l, s.lastTag == "COMMIT")
			markUnknown(l)
		} else if len(s.txMarks) > 0 || s.txSetsUnsure {
			s.endTxSettings(l, false)
		}
		s.txOpen, s.txFailed, s.txBegin, s.txLink = false, false, "", nil
		s.txParts, s.txBeginAll, s.txBeginChain, s.txSavepoints = nil, "", "", false
		s.forgetRestore()
		s.endTxPath()
		s.clearPortals()
	case pgio.TxInBlock:
		// Also after ROLLBACK TO SAVEPOINT in a failed transaction; on
		// several shards a failure stays (they have no savepoints).
		s.txOpen, s.txFailed, s.txBegin, s.txLink = true, s.txFailed && s.multiShardTx(), "", l
		s.notePart(l)
	case pgio.TxFailed:
		s.txOpen, s.txFailed, s.txBegin, s.txLink = true, true, "", l
		s.notePart(l)
	}
	if s.batch == l {
		s.batch = nil
	}
	if len(s.txParts) > 1 && s.out != s.nowhere { // the client's ReadyForQuery
		if err := s.afterDeadlock(); err != nil {
			return err
		}
	}
	if s.moved != nil && s.out != s.nowhere {
		s.releaseMovedStatus()
	}
	s.out.WriteReadyForQuery(s.clientStatus())
	if st == pgio.TxIdle {
		s.answered()
		s.releaseLink(l)
	}
	return nil
}

// answered sends the client its answer before the bookkeeping after it
// (giving the connection back): the client's wait ends here. Only for the
// last entry of a drain with no more client messages buffered, where the
// serve loop would flush next anyway: one write either way, and no
// statement is retried once its answer is complete.
func (s *session) answered() {
	if s.lastDue && s.in.Buffered() == 0 && s.out != s.nowhere {
		s.out.Flush() // an error sticks: the serve loop's Flush ends the session
	}
}

// releaseLink gives a connection back to the pool, unless the session
// keeps it (session pooling, or pinned).
func (s *session) releaseLink(l *link) {
	if s.sessLinks[l.shard] == l || l.keep {
		return // session pooling, or pinned; or an answer is still due
	}
	s.dropPortals(l)
	if s.inFlight {
		// Waits for a cancel being delivered on l's connection, which
		// must not go back to the pool meanwhile. Once inFlight is false
		// (statementDone, under mu), no cancel is delivered: active is
		// left as it was, read by nobody until setActive sets both.
		s.setActive(nil)
	}
	s.giveBack(l)
}

// giveBack returns l's connection to its pool and ends its replica lease.
func (s *session) giveBack(l *link) {
	if l.watch != nil {
		s.unwatchLink(l)
	}
	l.lease.Release()
	l.lease, l.keep = replicas.Lease{}, false
	if s.inPipe(l) && !s.leavePipe() {
		return // the pipe's next member reads on
	}
	s.opts.Conns.Release(l.conn)
}

// dropPortals forgets the portals that live on l: once l goes back to the
// pool, an Execute of them must not reach it (it may serve another client).
func (s *session) dropPortals(l *link) {
	for name, p := range s.portals.all() {
		if p.link == l {
			s.forgetPortal(name, p)
		}
	}
}

// breakLink drops a connection that failed or lost sync with the protocol.
func (s *session) breakLink(l *link) {
	l.conn.MarkBroken()
	if s.inPipe(l) {
		s.breakPipe()
	}
	s.dropPortals(l)
	if s.txLink == l {
		s.txLink = nil
	}
	s.dropPart(l)
	if s.batch == l {
		s.batch = nil
	}
	if s.sessLinks[l.shard] == l {
		delete(s.sessLinks, l.shard)
	}
	s.setActive(nil)
	s.giveBack(l)
}

// releaseAll gives back every connection when the session ends. A
// connection inside a transaction is not idle: the pool closes it, which
// rolls the transaction back on the server.
func (s *session) releaseAll() {
	if t := s.pipe; t != nil && t.victim {
		s.out, t.out, t.victim = t.out, nil, false
	}
	seen := map[*link]bool{}
	for _, l := range append([]*link{s.txLink, s.batch}, s.txParts...) {
		if l != nil && !seen[l] {
			seen[l] = true
			// The client left in the middle of a batch or a transaction:
			// what the server holds (uncommitted writes, a pending error)
			// must die with the connection, never reach another client.
			l.conn.MarkBroken()
			if s.inPipe(l) {
				s.breakPipe() // its answer, unread, is nobody else's
			}
			if s.sessLinks[l.shard] == l {
				delete(s.sessLinks, l.shard)
			}
			s.giveBack(l)
		}
	}
	s.unpin()
	s.txLink, s.batch, s.sessLinks, s.txParts = nil, nil, nil, nil
	s.setActive(nil)
	s.in.Release()
	s.out.Release()
}

// serverFailure turns an I/O error with a server into the error the
// client gets: the statement's outcome is unknown, and it is not retried.
// serverLostBefore is serverFailure for a connection lost before the
// client's statement was sent on it.
func serverLostBefore(err error) error {
	return errors.Join(errServerGone, sqlerr.New(sqlerr.ConnectionFailure,
		"lost the connection to the server before the statement was sent").Wrap(err))
}

func (s *session) serverFailure(err error) error {
	return errors.Join(errServerGone, sqlerr.New(sqlerr.ConnectionFailure,
		"lost the connection to the server; the statement's outcome is unknown").Wrap(err))
}

// acquire waits for a server connection; the client's cancel ends the wait
// (57014), as it would end a statement running on a server.
func (s *session) acquire(shard *shardmap.Shard) (ServerConn, error) {
	ctx := s.acq
	if ctx == nil || !ctx.reset(s.ctx) {
		// Published once per context, not per acquire: two lock pairs
		// of mu per transaction less.
		ctx = &acquireCtx{Context: s.ctx}
		if s.c != nil {
			nc := s.c.Conn()
			ctx.gone = func() bool { return clientGone(nc) }
		}
		s.acq = ctx
		s.mu.Lock()
		s.waiting = ctx
		s.mu.Unlock()
	}
	conn, err := s.opts.Conns.Acquire(ctx, shard)
	if canceled := ctx.end(); err != nil && canceled && s.ctx.Err() == nil {
		return nil, errCanceled
	}
	return conn, err
}

// acquireCtx is the context of one acquire: the session's, ended early by
// the client's cancel. Almost every acquire in transaction pooling finds
// an idle connection and only asks Err; the cancelable child context a
// wait or a dial needs (context.WithCancel registers it with the session's
// context, under that context's lock, and unregisters it after) is made
// only when something asks for Done.
type acquireCtx struct {
	context.Context // the session's

	// canceled: by the client. derived: Done was asked, child exists.
	// Atomics, so that an acquire that finds an idle connection (reset,
	// Err, end) takes no lock.
	canceled atomic.Bool
	derived  atomic.Bool

	mu    sync.Mutex // guards child, stop, watched
	child context.Context
	stop  context.CancelFunc
	// gone reports the client's hang-up; while a wait runs (a failover
	// hold, a full pool) a watcher asks it and ends the wait: nothing is
	// sent for a client that left. watched is closed when it ends.
	gone    func() bool
	watched chan struct{}
}

func (c *acquireCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.child == nil {
		c.child, c.stop = context.WithCancel(c.Context)
		c.derived.Store(true)
		if c.canceled.Load() {
			c.stop()
		}
		if c.gone != nil {
			c.watched = make(chan struct{})
			go watchClient(c.child, c.stop, c.gone, c.watched)
		}
	}
	return c.child.Done()
}

// watchClient ends ctx (stop) when the client hangs up, until ctx ends.
func watchClient(ctx context.Context, stop context.CancelFunc, gone func() bool, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if gone() {
			stop()
			return
		}
	}
}

func (c *acquireCtx) Err() error {
	if c.canceled.Load() {
		return context.Canceled
	}
	if c.derived.Load() {
		c.mu.Lock()
		child := c.child
		c.mu.Unlock()
		// Once end stopped the child, Done is closed: Err must say so, or
		// a context derived from this one (a dial, a failover hold) panics
		// ("context: internal error: missing cancel error") when it sees
		// Done closed with a nil Err.
		if err := child.Err(); err != nil {
			return err
		}
	}
	return c.Context.Err()
}

// reset readies c for the session's next acquire, unless a context was
// derived from it (Done was asked): such a context may still reach c from
// another goroutine, so the next acquire gets a new one. An acquire that
// found an idle connection, the usual case, only asked Err, and nothing
// holds c after it. Reusing c saves its allocation on every transaction.
// Only the session calls reset; a cancel racing with it is either before
// (cleared, as a cancel between acquires does nothing) or after (seen).
func (c *acquireCtx) reset(parent context.Context) bool {
	if c.derived.Load() {
		return false
	}
	c.Context = parent
	c.canceled.Store(false)
	return true
}

// cancel is the client's cancel: it ends the wait.
func (c *acquireCtx) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.canceled.Store(true)
	if c.stop != nil {
		c.stop()
	}
}

// end releases the child context, if one was made, and reports whether
// the client canceled.
func (c *acquireCtx) end() (canceled bool) {
	if !c.derived.Load() {
		return c.canceled.Load()
	}
	c.mu.Lock()
	if c.stop != nil {
		c.stop()
	}
	watched := c.watched
	c.mu.Unlock()
	if watched != nil {
		<-watched
	}
	return c.canceled.Load()
}

var errCanceled = sqlerr.New(sqlerr.QueryCanceled, "canceling statement due to user request")
