package proxy

import (
	"context"

	"go.uber.org/zap"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/frontend/pgwire"
	"github.com/shardgate/shardgate/shardmap"
)

// lockWaitsSQL lists the backends of the shard's database server that wait
// for a lock, each with the backends it waits for. pg_locks (not
// pg_stat_activity, whose wait columns other roles cannot see) names
// every waiter; pg_blocking_pids needs no privilege either.
const lockWaitsSQL = `SELECT w.pid, pg_blocking_pids(w.pid)
FROM (SELECT DISTINCT pid FROM pg_catalog.pg_locks WHERE NOT granted AND pid IS NOT NULL) w`

// missingSQL lists those of the process IDs $1 that no backend of the
// server has. pg_stat_activity shows every backend's pid to any role.
const missingSQL = `SELECT p FROM unnest($1::int4[]) AS p
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.pid = p)`

// newDeadlocks builds the cross-shard deadlock detector: it reads the
// shards' locks through control connections of its own.
func newDeadlocks(cfg *config.Config, ev pgwire.DeadlockListener) (*pgwire.Deadlocks, *controlPools, error) {
	pools := newControlPools(controlLogin(cfg, "shardgate-deadlocks"), 2)
	d, err := pgwire.NewDeadlocks(pgwire.DeadlockOptions{
		Interval: cfg.Transactions.DeadlockCheck,
		LockWaits: func(ctx context.Context, sh *shardmap.Shard) ([]pgwire.LockWait, error) {
			return lockWaits(ctx, pools, sh)
		},
		Missing: func(ctx context.Context, sh *shardmap.Shard, pids []uint32) ([]uint32, error) {
			return missingBackends(ctx, pools, sh, pids)
		},
		Listener: ev,
	})
	if err != nil {
		pools.close()
		return nil, nil, err
	}
	return d, pools, nil
}

func lockWaits(ctx context.Context, pools *controlPools, sh *shardmap.Shard) ([]pgwire.LockWait, error) {
	p, err := pools.pool(sh.Primary, sh.Database)
	if err != nil {
		return nil, err
	}
	rows, err := p.Query(ctx, lockWaitsSQL)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pgwire.LockWait
	for rows.Next() {
		var pid int32
		var by []int32
		if err := rows.Scan(&pid, &by); err != nil {
			return nil, err
		}
		w := pgwire.LockWait{PID: uint32(pid), BlockedBy: make([]uint32, len(by))}
		for i, b := range by {
			w.BlockedBy[i] = uint32(b)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

func missingBackends(ctx context.Context, pools *controlPools, sh *shardmap.Shard, pids []uint32) ([]uint32, error) {
	p, err := pools.pool(sh.Primary, sh.Database)
	if err != nil {
		return nil, err
	}
	arg := make([]int32, len(pids))
	for i, pid := range pids {
		arg[i] = int32(pid)
	}
	rows, err := p.Query(ctx, missingSQL, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []uint32
	for rows.Next() {
		var pid int32
		if err := rows.Scan(&pid); err != nil {
			return nil, err
		}
		out = append(out, uint32(pid))
	}
	return out, rows.Err()
}

// deadlockEvents logs the detector's work.
func deadlockEvents(log *zap.Logger) pgwire.DeadlockListener {
	return pgwire.DeadlockListener{
		Broken: func(i pgwire.DeadlockInfo) {
			log.Warn("broke a deadlock across shards", zap.Uint32("victim_client", i.Victim),
				zap.Strings("shards", i.Shards), zap.String("cycle", i.Detail))
		},
		Error: func(err error) { log.Warn("deadlock detector", zap.Error(err)) },
		Unmapped: func(shard string, pids []uint32) {
			log.Warn("deadlock detector: the backend process IDs of this shard's connections are not its backends' "+
				"(a pooler such as PgBouncer between shardgate and the shard?); cross-shard deadlocks through it are not detected",
				zap.String("shard", shard), zap.Uint32s("pids", pids))
		},
	}
}
