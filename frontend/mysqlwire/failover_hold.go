package mysqlwire

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"vitess.io/vitess/go/mysql/sqlerror"
	"vitess.io/vitess/go/sqltypes"

	mysqlbackend "github.com/shardgate/shardgate/backend/mysql"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// The failover write hold, as on the Postgres endpoint (proxy/failover.go):
// a statement whose shard primary does not answer is held, unsent, for up
// to Options.FailoverBuffer (replicas.failover_buffer), waiting for a map
// version that names another primary for the same shard (a failover),
// and then runs there. Every 250 ms it also tries the same primary again,
// in case it only restarted.
//
// Past the buffer it fails with 1290 ER_OPTION_PREVENTS_STATEMENT,
// SQLSTATE HY000: what a MariaDB primary fenced by a switchover (read_only)
// answers a write, so a client meets one error for "the primary is moving"
// whichever side of the fence its statement fell on, and drivers that
// already take 1290 for a failover in progress retry it. Not 1053
// ER_SERVER_SHUTDOWN: its SQLSTATE 08S01 tells a client that its own
// connection broke, which it did not — the session goes on, and the
// statement reached no server. The message says so.
//
// A statement that was sent and whose connection broke (2013) has an
// unknown outcome: the session fails it and never retries it (house rule
// 9). The pools trust a connection used within the last second without a
// ping, so right after a crash a session's next statement may still go
// out on a dead connection and fail that way; later ones find the
// connections dead, dial, are refused, and are held.

const (
	// holdPoll is how often a held statement looks at the map (an atomic
	// load: it costs a wake-up).
	holdPoll = 10 * time.Millisecond
	// holdRedial is how often it tries the same primary again.
	holdRedial = 250 * time.Millisecond
)

// HoldStats count statements held because their primary did not answer,
// by how the hold ended.
type HoldStats struct {
	// Sent: a primary (the same or a new one) answered within the buffer.
	Sent uint64
	// Expired: failed with 1290 past the buffer.
	Expired uint64
	// Failed: another error (a refused login, the context ended).
	Failed uint64
}

// holdingConns is a ConnSource with the write hold in front of it.
type holdingConns struct {
	ConnSource
	snapshot func() *shardmap.Snapshot
	buffer   time.Duration

	sent, expired, failed atomic.Uint64
}

// withFailoverHold wraps o.Conns in the hold when a buffer is set.
func withFailoverHold(o Options) ConnSource {
	if o.FailoverBuffer <= 0 {
		return o.Conns
	}
	return &holdingConns{ConnSource: o.Conns, snapshot: o.Snapshot, buffer: o.FailoverBuffer}
}

// HoldStats reports the write hold's counters (zero without a buffer).
func (s *Server) HoldStats() HoldStats {
	h, ok := s.o.Conns.(*holdingConns)
	if !ok {
		return HoldStats{}
	}
	return HoldStats{Sent: h.sent.Load(), Expired: h.expired.Load(), Failed: h.failed.Load()}
}

// Acquire implements ConnSource: a primary that does not answer is waited
// for, or its successor in a newer map. A session's acquire passes its
// holdContext: the hold then ends when the statement is killed or the
// client leaves (see beginHold), and a statement that may run on any shard
// is not held but sent elsewhere (errElsewhere).
func (h *holdingConns) Acquire(ctx context.Context, shard *shardmap.Shard, foundRows bool) (ServerConn, error) {
	c, err := h.ConnSource.Acquire(ctx, shard, foundRows)
	if err == nil || !primaryDown(err) {
		return c, err
	}
	ss, _ := ctx.Value(holdKey{}).(*session)
	if ss != nil && ss.hold.anywhere {
		return nil, &elsewhereError{cause: err}
	}
	if ss != nil {
		hctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		stop := ss.beginHold(cancel)
		defer stop()
		ctx = hctx
	}
	return h.hold(ctx, shard, foundRows, err)
}

// primaryDown reports whether err, from acquiring a connection, says that
// the server does not answer — refused, timed out, the connection lost
// during the handshake, or the server shutting down (1053) — rather than
// that it refused the login (it answers: waiting would not help).
// backend/mysql raises 2003 (CR_CONN_HOST_ERROR) for every failed dial,
// with the server's own error, if any, in the chain.
func primaryDown(err error) bool {
	e, ok := sqlerr.As(err)
	if !ok || e.Number != 2003 {
		return false
	}
	var se *sqlerror.SQLError
	if !errors.As(err, &se) {
		return true // a timeout or a network error: nothing answered
	}
	if se.Num >= 2000 && se.Num < 3000 { // the client's own: no server answer
		return true
	}
	return se.Num == sqlerror.ERServerShutdown
}

func (h *holdingConns) hold(ctx context.Context, shard *shardmap.Shard, foundRows bool, cause error) (ServerConn, error) {
	deadline := time.Now().Add(h.buffer)
	keyspace := keyspaceOf(h.snapshot(), shard)
	cur := shard
	nextDial := time.Now().Add(holdRedial)
	t := time.NewTicker(holdPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			h.failed.Add(1)
			return nil, holdInterrupted(ctx, cause)
		case <-t.C:
		}
		now := time.Now()
		if now.After(deadline) {
			h.expired.Add(1)
			return nil, holdExpired(shard, h.buffer, cause)
		}
		moved := false
		sh, changed := sameShard(h.snapshot(), keyspace, shard)
		if changed {
			h.failed.Add(1)
			return nil, layoutChanged(shard, cause)
		}
		if sh != nil && sh.Primary.Addr != cur.Primary.Addr {
			cur, moved = sh, true
		}
		if !moved && now.Before(nextDial) {
			continue
		}
		nextDial = now.Add(holdRedial)
		actx, cancel := context.WithDeadline(ctx, deadline)
		c, err := h.ConnSource.Acquire(actx, cur, foundRows)
		cancel()
		switch {
		case err == nil && ctx.Err() == nil:
			h.sent.Add(1)
			return c, nil
		case err == nil: // killed as the connection came: still unsent
			h.ConnSource.Release(c)
			h.failed.Add(1)
			return nil, holdInterrupted(ctx, cause)
		case ctx.Err() != nil:
			h.failed.Add(1)
			return nil, holdInterrupted(ctx, err)
		case time.Now().After(deadline):
			h.expired.Add(1)
			return nil, holdExpired(shard, h.buffer, err)
		case !primaryDown(err):
			h.failed.Add(1)
			return nil, err
		}
		cause = err
	}
}

func holdExpired(shard *shardmap.Shard, buffer time.Duration, cause error) error {
	return sqlerr.New(sqlerr.ReadOnlySQLTransaction, "the primary of shard %s does not answer, and no new primary came within the failover buffer (%s)", shard.Name, buffer).
		WithDetail("the statement was not sent to any server").
		WithHint("Retry it. If the primary stays down, promote a replica: shardgate failover --shard %s", shard.Name).
		Wrap(cause)
}

// keyspaceOf names the MySQL keyspace of snap that holds shard (by
// pointer: the session routed with that snapshot), or "".
func keyspaceOf(snap *shardmap.Snapshot, shard *shardmap.Shard) string {
	if snap == nil {
		return ""
	}
	for _, ks := range snap.Keyspaces() {
		if ks.Engine() != shardmap.MySQL {
			continue
		}
		for _, sh := range ks.Shards() {
			if sh == shard {
				return ks.Name()
			}
		}
	}
	return ""
}

// layoutChanged: the held statement's shard has another key range (or is
// gone) in the current map. Its rows may now live on another shard, so it
// is not re-routed silently: it fails, unsent, for the client to re-run.
func layoutChanged(shard *shardmap.Shard, cause error) error {
	return sqlerr.New(sqlerr.ReadOnlySQLTransaction, "the shard layout changed while the statement waited for a new primary of shard %s (%s)", shard.Name, shard.Range).
		WithDetail("the statement was not sent to any server").
		WithHint("Re-run it: it will be routed with the new map.").
		Wrap(cause)
}

// holdInterrupted is a hold ended by its context: KILL QUERY, KILL
// CONNECTION, the client's hang-up or Shutdown. MariaDB's 1317
// ER_QUERY_INTERRUPTED (SQLSTATE 70100): the statement did not run.
func holdInterrupted(ctx context.Context, cause error) error {
	why := "the statement was killed"
	if c := context.Cause(ctx); errors.Is(c, errClientGone) {
		why = "the client connection closed"
	}
	return sqlerr.New(sqlerr.QueryCanceled, "Query execution was interrupted").
		WithDetail("%s while it waited for a new primary; it was not sent to any server", why).
		Wrap(cause)
}

// sameShard finds old's shard in the current map: the keyspace's shard of
// the same name; without a known keyspace (old came from a map version
// already replaced), the one shard of that name and database among the
// MySQL keyspaces (none when several: then only the old primary is tried).
// changed reports that the shard found covers another key range, or that
// the keyspace no longer has it: the layout changed under the held
// statement, which must not follow the name to other rows.
func sameShard(snap *shardmap.Snapshot, keyspace string, old *shardmap.Shard) (_ *shardmap.Shard, changed bool) {
	if snap == nil {
		return nil, false
	}
	var found *shardmap.Shard
	seen := false // the keyspace is in the map
	for _, ks := range snap.Keyspaces() {
		if ks.Engine() != shardmap.MySQL || (keyspace != "" && ks.Name() != keyspace) ||
			(keyspace == "" && ks.Database() != old.Database) {
			continue
		}
		seen = true
		for _, sh := range ks.Shards() {
			if sh.Name == old.Name {
				if found != nil {
					return nil, false
				}
				found = sh
			}
		}
	}
	switch {
	case found != nil && !sameLayout(found, old):
		return nil, true
	case found == nil && seen && keyspace != "":
		return nil, true
	}
	return found, false
}

// sameLayout: sh and old are the same shard of their keyspace — name, key
// range and database — whatever their nodes.
func sameLayout(sh, old *shardmap.Shard) bool {
	return sh.Name == old.Name && sh.Range == old.Range && sh.Database == old.Database
}

// holdState is a session's side of the hold.
type holdState struct {
	// ctx is what the session acquires with: it carries the session, so
	// that a hold can register with it (made once per session).
	ctx context.Context
	// anywhere: the statement may run on any shard (it reads no shard's
	// own rows); a primary that does not answer is not waited for.
	anywhere bool
	// cancel ends the statement's hold; set while it waits, under the
	// session's mu (KILL and the watcher call it from other goroutines).
	cancel context.CancelCauseFunc
}

type holdKey struct{}

// holdContext is the context of the session's acquires.
func (ss *session) holdContext() context.Context {
	if ss.hold.ctx == nil {
		ss.hold.ctx = mysqlbackend.WithWaiter(context.WithValue(context.Background(), holdKey{}, ss), ss)
	}
	return ss.hold.ctx
}

// BeginWait implements backend/mysql's Waiter: a statement waiting for a
// pooled connection (all in use) ends, never to run, on KILL QUERY or
// KILL CONNECTION, or when its client hangs up — as a held one does.
func (ss *session) BeginWait(ctx context.Context) (context.Context, func()) {
	ss.mu.Lock()
	held := ss.hold.cancel != nil
	ss.mu.Unlock()
	if held {
		// A wait inside a failover hold: the hold's context, ctx's
		// parent, already ends on KILL and hang-up.
		return ctx, func() {}
	}
	wctx, cancel := context.WithCancelCause(ctx)
	stop := ss.beginHold(cancel)
	return wctx, func() {
		stop()
		cancel(nil)
	}
}

// errClientGone ends a hold whose client closed its connection (or whose
// connection KILL CONNECTION or Shutdown closed).
var errClientGone = errors.New("mysqlwire: the client connection closed")

// errHoldKilled ends a hold by KILL QUERY.
var errHoldKilled = errors.New("mysqlwire: statement killed")

// holdWatch is how often a held statement checks that its client is still
// there.
const holdWatch = 20 * time.Millisecond

// beginHold registers the statement's hold with its session, for KILL
// (cancelHold), and watches the client's connection until stop: a client
// that hangs up, or whose connection KILL CONNECTION or Shutdown closes,
// ends the hold — its statement must not run for no one. Nothing reads
// the client's socket while its statement waits, so the watcher looks at
// it without reading (clientGone).
func (ss *session) beginHold(cancel context.CancelCauseFunc) (stop func()) {
	ss.mu.Lock()
	ss.hold.cancel = cancel
	ss.mu.Unlock()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(holdWatch)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if ss.c.IsClosed() || clientGone(ss.c.GetRawConn()) {
				cancel(errClientGone)
				return
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		ss.mu.Lock()
		ss.hold.cancel = nil
		ss.mu.Unlock()
	}
}

// cancelHoldLocked ends the session's hold, if its statement is held (ss.mu
// held), and says whether it was.
func (ss *session) cancelHoldLocked(cause error) bool {
	if ss.hold.cancel == nil {
		return false
	}
	ss.hold.cancel(cause)
	return true
}

// elsewhereError: the primary of the shard picked for a statement that may
// run anywhere does not answer (holdingConns.Acquire with hold.anywhere).
type elsewhereError struct{ cause error }

func (e *elsewhereError) Error() string { return "primary down, try another shard: " + e.cause.Error() }
func (e *elsewhereError) Unwrap() error { return e.cause }

// runAnywhere runs a statement that may run on any shard (anyShard picked
// shard: a SELECT of no table, say) and holds no server connection yet.
// When shard's primary does not answer, the statement — unsent — tries
// the keyspace's other primaries at once, and is held for shard's only
// when none answers: a health check need not wait out a failover buffer
// while another shard could answer it.
func (ss *session) runAnywhere(shard *shardmap.Shard, sql string, pin parser.Pin, callback func(*sqltypes.Result) error) error {
	if _, ok := ss.s.o.Conns.(*holdingConns); !ok || ss.conn != nil {
		return ss.run(shard, sql, pin, "", callback)
	}
	ss.hold.anywhere = true
	defer func() { ss.hold.anywhere = false }()
	err := ss.run(shard, sql, pin, "", callback)
	var ee *elsewhereError
	if !errors.As(err, &ee) {
		return err
	}
	if snap := ss.s.o.Snapshot(); snap != nil {
		name := keyspaceOf(snap, shard)
		for _, ks := range snap.Keyspaces() {
			if ks.Engine() != shardmap.MySQL || ks.Name() != name {
				continue
			}
			for _, sh := range ks.Shards() {
				if sh == shard {
					continue
				}
				if err = ss.run(sh, sql, pin, "", callback); !errors.As(err, &ee) {
					return err
				}
			}
		}
	}
	ss.hold.anywhere = false // every primary is down: wait for shard's
	return ss.run(shard, sql, pin, "", callback)
}
