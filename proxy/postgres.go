package proxy

import (
	"context"
	"errors"
	"net"

	"github.com/shardgate/shardgate/auth"
	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/executor/pgvalue"
	"github.com/shardgate/shardgate/executor/twophase"
	"github.com/shardgate/shardgate/frontend/pgwire"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/parser/pgsql"
	"github.com/shardgate/shardgate/replicas"
	"github.com/shardgate/shardgate/shardmap"
)

// Events are the endpoint's callbacks, for logging and metrics at the edge.
type Events struct {
	Server   pgwire.EventListener
	Backend  backend.Listener
	TwoPhase twophase.Listener
	Replicas replicas.Listener
	// Deadlocks: the cross-shard deadlock detector's work.
	Deadlocks pgwire.DeadlockListener
}

// Postgres is the Postgres endpoint: the wire server, its sessions, and the
// pools behind them. Its shape is net/http's: Serve(ln) until Shutdown.
type Postgres struct {
	server   *pgwire.Server
	conns    *shardConns
	analyzer *pgsql.Analyzer
	stats    *pgwire.Stats
	// pipes lets sessions share server connections for reads
	// (pools.pipeline_depth; nil when off).
	pipes *pgwire.Pipes
	// twoPhase commits transactions on several shards (nil: off).
	twoPhase *twophase.Coordinator
	// globalIDs fills generated columns INSERTs leave out.
	globalIDs *globalIDs
	// knobs are the sessions' two-phase-commit test hooks: empty, except
	// in tests that simulate a crash.
	knobs pgwire.TwoPhaseKnobs
	// monitor measures replica lag and health and picks replicas for
	// reads (replicas.go); it does nothing until RunReplicas.
	monitor *replicas.Monitor
	// deadlocks breaks deadlocks across shards; it runs beside the
	// server, on control connections of its own (deadlock.go).
	deadlocks     *pgwire.Deadlocks
	deadlockConns *controlPools
}

// NewPostgres builds the endpoint from a loaded config. snapshot returns the
// current shard map (it changes when the store does). shared, if given,
// brings the proxy's replica monitor; without it the endpoint builds its
// own.
func NewPostgres(cfg *config.Config, snapshot func() *shardmap.Snapshot, ev Events, shared ...Shared) (*Postgres, error) {
	if cfg.Listeners.Postgres == nil {
		return nil, errors.New("proxy: listeners.postgres is not configured")
	}
	if cfg.Backends.Postgres == nil {
		return nil, errors.New("proxy: backends.postgres is not configured")
	}
	users := make(map[string]auth.SCRAMVerifier)
	for _, u := range cfg.Users {
		if u.SCRAMSHA256 == "" {
			continue
		}
		v, err := auth.ParseSCRAMVerifier(u.SCRAMSHA256)
		if err != nil {
			return nil, err
		}
		users[u.Name] = v
	}
	tlsConf, err := pgwire.LoadTLSConfig(cfg.Listeners.Postgres.TLS)
	if err != nil {
		return nil, err
	}
	spin := sharedSpin(cfg, shared)
	p := &Postgres{
		conns:    newShardConns(cfg, snapshot, ev.Backend, spin),
		analyzer: pgsql.NewAnalyzer(pgsql.Options{}),
		stats:    new(pgwire.Stats),
	}
	if cfg.Transactions.TwoPhaseCommit != config.TwoPhaseOff {
		p.twoPhase = newCoordinator(cfg, snapshot, ev.TwoPhase)
	}
	// Also without two-phase commit: READ ONLY transactions reach several
	// shards.
	if p.deadlocks, p.deadlockConns, err = newDeadlocks(cfg, ev.Deadlocks); err != nil {
		return nil, err
	}
	if p.globalIDs, err = newGlobalIDs(cfg); err != nil {
		return nil, err
	}
	if p.monitor = sharedMonitor(shared); p.monitor == nil {
		if p.monitor, err = newMonitor(cfg, snapshot, ev.Replicas); err != nil {
			return nil, err
		}
	}
	mode := pgwire.TransactionPooling
	if cfg.Pools.Mode == config.PoolSession {
		mode = pgwire.SessionPooling
	}
	p.pipes = pgwire.NewPipes(cfg.Pools.PipelineDepth)
	handler := pgwire.NewProxy(pgwire.SessionOptions{
		Snapshot: snapshot,
		Analyzer: p.analyzer,
		Conns:    p.conns,
		Mode:     mode,
		Stats:    p.stats,
		RewriteScatter: func(sql string, param func(int) (int64, bool, bool)) (string, *parser.Merge, error) {
			return pgsql.RewriteScatter(sql, param)
		},
		Decoder:           pgvalue.New(),
		DenyPins:          cfg.Pools.Pin == config.PinDeny,
		TwoPhase:          p.twoPhase,
		DenyScatterWrites: cfg.Transactions.ScatterWrites == config.ScatterWritesDeny,
		SplitInsert:       pgsql.SplitInsertSQL,
		IDs:               p.globalIDs.Fill,
		AddColumn:         pgsql.AddInsertColumn,
		TwoPhaseKnobs:     &p.knobs,
		Deadlocks:         p.deadlocks,
		Replicas:          replicaReads{Monitor: p.monitor, conns: p.conns},
		ReadSettings:      readSettings(cfg),
		Admin:             adminSQL{snapshot: snapshot, monitor: p.monitor},

		MaxMessageSize:  cfg.Limits.MaxMessageSize,
		MaxMergeGroups:  cfg.Limits.MaxMergeGroups,
		Spin:            spin,
		Pipes:           p.pipes,
		IdleTimeout:     cfg.Limits.ClientIdleTimeout,
		IdleInTxTimeout: cfg.Limits.IdleInTransactionTimeout,
	})
	var background func(context.Context)
	if p.deadlocks != nil {
		background = p.deadlocks.Run
	}
	p.server, err = pgwire.NewServer(pgwire.Options{
		Background: background,
		Handler:    handler,
		Users: func(name string) (auth.SCRAMVerifier, bool) {
			v, ok := users[name]
			return v, ok
		},
		TLS:            tlsConf,
		TLSMode:        cfg.Listeners.Postgres.TLS.Mode,
		MaxClientConns: cfg.Pools.MaxClientConns,
		StartupTimeout: cfg.Limits.StartupTimeout,
		Listener:       ev.Server,
	})
	if err != nil {
		p.conns.pools.Close()
		if p.deadlockConns != nil {
			p.deadlockConns.close()
		}
		return nil, err
	}
	return p, nil
}

// Serve accepts clients on ln until Shutdown.
func (p *Postgres) Serve(ln net.Listener) error { return p.server.Serve(ln) }

// Shutdown stops accepting, lets sessions finish their transactions until
// ctx ends, then closes what remains and the pools.
func (p *Postgres) Shutdown(ctx context.Context) error {
	err := p.server.Shutdown(ctx) // stops the deadlock detector too
	p.conns.pools.Close()
	if p.deadlockConns != nil {
		p.deadlockConns.close()
	}
	if p.twoPhase != nil {
		p.twoPhase.Close()
	}
	p.globalIDs.Close()
	return err
}

// AnalyzerStats reports the statement analyzer's cache counters.
func (p *Postgres) AnalyzerStats() pgsql.Stats { return p.analyzer.Stats() }

// SessionStats are the endpoint's session counters.
func (p *Postgres) SessionStats() *pgwire.Stats { return p.stats }

// PoolStats reports every backend pool's counters.
func (p *Postgres) PoolStats() map[backend.PoolKey]backend.Stats { return p.conns.pools.Stats() }

// Deadlocks is the endpoint's cross-shard deadlock detector (nil: off).
func (p *Postgres) Deadlocks() *pgwire.Deadlocks { return p.deadlocks }

// TwoPhase is the endpoint's two-phase-commit coordinator (nil: off).
func (p *Postgres) TwoPhase() *twophase.Coordinator { return p.twoPhase }

// RunResolver runs the two-phase-commit resolver until ctx ends. Stop it
// after Shutdown: it keeps this proxy's lease while sessions still commit.
func (p *Postgres) RunResolver(ctx context.Context) error {
	if p.twoPhase == nil {
		return nil
	}
	return p.twoPhase.Run(ctx)
}
