package proxy

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/failover"
	"github.com/shardgate/shardgate/frontend/mysqlwire"
	"github.com/shardgate/shardgate/frontend/pgwire"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/shardmap"
)

// The write hold: a statement whose shard primary does not answer is held,
// unsent, for up to replicas.failover_buffer, waiting for a map version
// that names another primary for the same shard (a failover), then runs
// there. Past the buffer it fails with 57P03 cannot_connect_now: like the
// server's own "the database system is starting up", it says the statement
// reached no server and that trying again later may work. A class-08 code
// would say the client's own connection broke, which it did not.
//
// A statement whose connection broke while it ran is not held: its outcome
// is unknown, and the session fails it (never retried).

const (
	// holdPoll is how often a held statement looks for a new map version:
	// the map is an atomic load, so this costs nothing but a wake-up.
	holdPoll = 10 * time.Millisecond
	// holdRedial is how often a held statement tries the same primary
	// again (it may just be restarting).
	holdRedial = 250 * time.Millisecond
)

// failoverState is what the pools need to hold statements across a
// failover, and its counters.
type failoverState struct {
	snapshot func() *shardmap.Snapshot
	buffer   time.Duration

	// Held statements, by how the hold ended.
	heldSent, heldExpired, heldFailed atomic.Uint64
	// Replicas found promoted outside shardgate, by whether the map
	// change that made them primary succeeded.
	detected, detectFailed atomic.Uint64
}

func newFailoverState(cfg *config.Config, snapshot func() *shardmap.Snapshot) *failoverState {
	return &failoverState{snapshot: snapshot, buffer: cfg.Replicas.FailoverBuffer}
}

// primaryDown reports whether err, from acquiring a connection to a
// primary, says that the server does not answer (refused, timed out,
// shutting down, starting up), rather than that it refused the login.
func primaryDown(err error) bool {
	e, ok := sqlerr.As(err)
	if !ok || e.Code != sqlerr.ConnectionFailure || !backend.SafeToRetry(err) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "57P") // admin shutdown, crash shutdown, cannot connect now
	}
	return true
}

// hold waits for shard's primary, or for a new primary of the shard in a
// newer map, up to the failover buffer, and acquires a connection there.
// cause is the failed acquire that started the hold.
func (c *shardConns) hold(ctx context.Context, shard *shardmap.Shard, cause error) (pgwire.ServerConn, error) {
	f := c.failover
	if f == nil || f.snapshot == nil || f.buffer <= 0 {
		return nil, cause
	}
	deadline := time.Now().Add(f.buffer)
	e, _ := c.byShard.load(shard)
	keyspace := e.keyspace
	cur := shard
	nextDial := time.Now().Add(holdRedial)
	t := time.NewTicker(holdPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			f.heldFailed.Add(1)
			return nil, cause
		case <-t.C:
		}
		now := time.Now()
		if now.After(deadline) {
			f.heldExpired.Add(1)
			return nil, holdExpired(shard, f.buffer, cause)
		}
		moved := false
		sh, changed := sameShard(f.snapshot(), keyspace, shard)
		if changed {
			f.heldFailed.Add(1)
			return nil, layoutChanged(shard, cause)
		}
		if sh != nil && sh.Primary.Addr != cur.Primary.Addr {
			cur, moved = sh, true
		}
		if !moved && now.Before(nextDial) {
			continue
		}
		nextDial = now.Add(holdRedial)
		p, err := c.pool(cur)
		if err != nil {
			f.heldFailed.Add(1)
			return nil, err
		}
		actx, cancel := context.WithDeadline(ctx, deadline)
		conn, err := p.Acquire(actx)
		cancel()
		switch {
		case err == nil:
			f.heldSent.Add(1)
			return conn, nil
		case ctx.Err() != nil:
			f.heldFailed.Add(1)
			return nil, err
		case time.Now().After(deadline):
			f.heldExpired.Add(1)
			return nil, holdExpired(shard, f.buffer, err)
		case !primaryDown(err):
			f.heldFailed.Add(1)
			return nil, err
		}
		cause = err
	}
}

func holdExpired(shard *shardmap.Shard, buffer time.Duration, cause error) error {
	return sqlerr.New(sqlerr.CannotConnectNow, "the primary of shard %s does not answer, and no new primary came within the failover buffer (%s)", shard.Name, buffer).
		WithDetail("The statement was not sent to any server.").
		WithHint("Retry it. If the primary stays down, promote a replica: shardgate failover --shard %s", shard.Name).
		Wrap(cause)
}

// layoutChanged: the held statement's shard covers another key range (or
// is gone) in the current map: its rows may now be on another shard, so it
// is not re-routed silently but fails, unsent, for the client to re-run.
func layoutChanged(shard *shardmap.Shard, cause error) error {
	return sqlerr.New(sqlerr.CannotConnectNow, "the shard layout changed while the statement waited for a new primary of shard %s (%s)", shard.Name, shard.Range).
		WithDetail("The statement was not sent to any server.").
		WithHint("Re-run it: it will be routed with the new map.").
		Wrap(cause)
}

// sameShard finds old's shard in snap: the keyspace's shard of the same
// name. Without a known keyspace ("": old's map version was gone before
// its first acquire), a shard of that name and database in a single Postgres
// keyspace. changed reports that the shard found covers another key range,
// or that the known keyspace no longer has a shard of that name: a layout
// change, which a held statement must not follow by name.
func sameShard(snap *shardmap.Snapshot, keyspace string, old *shardmap.Shard) (_ *shardmap.Shard, changed bool) {
	if snap == nil {
		return nil, false
	}
	if keyspace != "" {
		ks, ok := snap.Keyspace(shardmap.Postgres, keyspace)
		if !ok {
			return nil, false
		}
		for _, sh := range ks.Shards() {
			if sh.Name == old.Name {
				if !sameLayout(sh, old) {
					return nil, true
				}
				return sh, false
			}
		}
		return nil, true
	}
	var found *shardmap.Shard
	for _, ks := range snap.Keyspaces() {
		if ks.Engine() != shardmap.Postgres || ks.Database() != old.Database {
			continue
		}
		for _, sh := range ks.Shards() {
			if sh.Name == old.Name {
				if found != nil {
					return nil, false // ambiguous: wait for the primary
				}
				found = sh
			}
		}
	}
	if found != nil && !sameLayout(found, old) {
		return nil, true
	}
	return found, false
}

// sameLayout: sh and old are the same shard of their keyspace — name, key
// range and database — whatever their nodes.
func sameLayout(sh, old *shardmap.Shard) bool {
	return sh.Name == old.Name && sh.Range == old.Range && sh.Database == old.Database
}

// keyspaceOf finds shard's keyspace in the current map, for a later hold:
// called once per shard of each map version (the pool cache's misses).
func (f *failoverState) keyspaceOf(shard *shardmap.Shard) (string, bool) {
	if f == nil || f.snapshot == nil {
		return "", false
	}
	snap := f.snapshot()
	if snap == nil {
		return "", false
	}
	for _, ks := range snap.Keyspaces() {
		if ks.Engine() != shardmap.Postgres {
			continue
		}
		for _, sh := range ks.Shards() {
			if sh == shard {
				return ks.Name(), true
			}
		}
	}
	return "", false
}

// RunFailoverDetector watches the replicas of the current map until ctx
// ends: one promoted outside shardgate becomes its shard's primary through
// the store, and the old primary is fenced (package failover). It logs
// into the nodes as the backend's control user.
func (p *Postgres) RunFailoverDetector(ctx context.Context, cfg *config.Config, store *shardmap.Store, snapshot func() *shardmap.Snapshot, log *zap.Logger) error {
	f := p.conns.failover
	return runDetector(ctx, shardmap.Postgres, cfg.Backends.Postgres, cfg, store, snapshot, log, func(err error) {
		if err != nil {
			f.detectFailed.Add(1)
		} else {
			f.detected.Add(1)
		}
	})
}

// RunFailoverDetector is Postgres.RunFailoverDetector for the MariaDB
// shards (a replica whose replication was reset, or stopped with
// read_only off). Its adoptions are logged, not counted in metrics yet.
func (m *MySQL) RunFailoverDetector(ctx context.Context, cfg *config.Config, store *shardmap.Store, snapshot func() *shardmap.Snapshot, log *zap.Logger) error {
	return runDetector(ctx, shardmap.MySQL, cfg.Backends.MySQL, cfg, store, snapshot, log, func(error) {})
}

// FailoverHoldStats counts the MySQL statements held because their
// primary did not answer (frontend/mysqlwire's write hold).
func (m *MySQL) FailoverHoldStats() mysqlwire.HoldStats { return m.server.HoldStats() }

func runDetector(ctx context.Context, e shardmap.Engine, b *config.Backend, cfg *config.Config, store *shardmap.Store,
	snapshot func() *shardmap.Snapshot, log *zap.Logger, count func(error)) error {
	login := failover.LoginFromConfig(b)
	login.ConnectTimeout = cfg.Pools.ConnectTimeout
	d := failover.NewDetector(failover.DetectorOptions{
		Engine: e, Store: store, Snapshot: snapshot, Login: login,
		Adopted: func(res failover.Result, err error) {
			count(err)
			if err != nil {
				log.Error("a replica was promoted outside shardgate; making it the primary in the map failed (retrying)",
					zap.Stringer("engine", e), zap.String("keyspace", res.Keyspace), zap.String("shard", res.Shard), zap.String("node", res.To.Name), zap.Error(err))
				return
			}
			log.Warn("a replica was promoted outside shardgate: it is the shard's primary now",
				zap.Stringer("engine", e), zap.String("keyspace", res.Keyspace), zap.String("shard", res.Shard),
				zap.String("primary", res.To.Name), zap.String("old_primary", res.From.Name),
				zap.Bool("old_primary_fenced", res.Fenced), zap.Uint64("map_version", res.MapVersion),
				zap.Strings("warnings", res.Warnings))
		},
		Step: func(s failover.Step) {
			log.Info("failover step", zap.Stringer("engine", e), zap.String("step", s.Name), zap.String("node", s.Node), zap.String("detail", s.Detail), zap.Error(s.Err))
		},
	})
	return d.Run(ctx)
}
