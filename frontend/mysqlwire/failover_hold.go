package mysqlwire

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"vitess.io/vitess/go/mysql/sqlerror"

	"github.com/shardgate/shardgate/internal/sqlerr"
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
// for, or its successor in a newer map.
func (h *holdingConns) Acquire(ctx context.Context, shard *shardmap.Shard, foundRows bool) (ServerConn, error) {
	c, err := h.ConnSource.Acquire(ctx, shard, foundRows)
	if err == nil || !primaryDown(err) {
		return c, err
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
			return nil, cause
		case <-t.C:
		}
		now := time.Now()
		if now.After(deadline) {
			h.expired.Add(1)
			return nil, holdExpired(shard, h.buffer, cause)
		}
		moved := false
		if sh := sameShard(h.snapshot(), keyspace, shard); sh != nil && sh.Primary.Addr != cur.Primary.Addr {
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
		case err == nil:
			h.sent.Add(1)
			return c, nil
		case ctx.Err() != nil:
			h.failed.Add(1)
			return nil, err
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

// sameShard finds old's shard in the current map: the keyspace's shard of
// the same name; without a known keyspace (old came from a map version
// already replaced), the one shard of that name and database among the
// MySQL keyspaces (none when several: then only the old primary is tried).
func sameShard(snap *shardmap.Snapshot, keyspace string, old *shardmap.Shard) *shardmap.Shard {
	if snap == nil {
		return nil
	}
	var found *shardmap.Shard
	for _, ks := range snap.Keyspaces() {
		if ks.Engine() != shardmap.MySQL || (keyspace != "" && ks.Name() != keyspace) ||
			(keyspace == "" && ks.Database() != old.Database) {
			continue
		}
		for _, sh := range ks.Shards() {
			if sh.Name == old.Name {
				if found != nil {
					return nil
				}
				found = sh
			}
		}
	}
	return found
}
