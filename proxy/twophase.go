package proxy

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/executor/twophase"
	"github.com/shardgate/shardgate/shardmap"
)

// newCoordinator builds the two-phase-commit coordinator: its control
// connections log in as the backend's control user.
func newCoordinator(cfg *config.Config, snapshot func() *shardmap.Snapshot, ev twophase.Listener) *twophase.Coordinator {
	return twophase.New(twophase.Options{
		ProxyID:         cfg.ProxyID,
		Snapshot:        snapshot,
		Config:          controlLogin(cfg, "shardgate-2pc"),
		ResolveInterval: cfg.Transactions.ResolveInterval,
		Lease:           cfg.Transactions.Lease,
		Listener:        ev,
		Writer:          cfg.Backends.Postgres.User,
	})
}

// reportTwoPhase says at start, per Postgres keyspace, whether
// transactions on several shards can commit.
func reportTwoPhase(ctx context.Context, c *twophase.Coordinator, snap *shardmap.Snapshot, log *zap.Logger) {
	if c == nil {
		log.Info("two-phase commit is off: transactions reaching a second shard are refused")
		return
	}
	for _, ks := range snap.Keyspaces() {
		if ks.Engine() != shardmap.Postgres || len(ks.Shards()) < 2 {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := c.Available(cctx, ks)
		cancel()
		if err != nil {
			log.Warn("two-phase commit unavailable: writes reaching several shards are refused", zap.String("keyspace", ks.Name()), zap.Error(err))
			continue
		}
		log.Info("two-phase commit ready", zap.String("keyspace", ks.Name()), zap.String("owner", c.Owner()))
	}
}

// twoPhaseEvents logs the resolver's work.
func twoPhaseEvents(log *zap.Logger) twophase.Listener {
	return twophase.Listener{
		Resolved: func(gid string, d twophase.Decision) {
			log.Info("resolved a prepared transaction left by its owner", zap.String("gid", gid), zap.Stringer("decision", d))
		},
		Error: func(err error) { log.Warn("two-phase commit resolver", zap.Error(err)) },
	}
}
