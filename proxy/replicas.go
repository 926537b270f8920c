package proxy

import (
	"context"
	"time"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/frontend/pgwire"
	"github.com/shardgate/shardgate/internal/netwait"
	"github.com/shardgate/shardgate/replicas"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// replicaReads gives the Postgres sessions replicas: the monitor picks
// one, the endpoint's pools (one per node, as for primaries) connect.
type replicaReads struct {
	*replicas.Monitor
	conns *shardConns
}

// AcquireReplica implements pgwire.ReplicaReads.
func (r replicaReads) AcquireReplica(ctx context.Context, sh *shardmap.Shard, node shardmap.Node) (pgwire.ServerConn, error) {
	p, err := r.conns.pools.Get(backend.PoolKey{Node: node.Addr, User: r.conns.user, Database: sh.Database})
	if err != nil {
		return nil, err
	}
	conn, err := p.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// Shared is what the endpoints of one proxy share: the replica monitor
// (lag, health, balancing), so that heartbeats are written once per
// primary and both endpoints' reads count in one balance. Run builds it
// and runs it once; an endpoint built without one builds its own.
type Shared struct {
	Monitor *replicas.Monitor
	// Spin is the proxy's one netwait.Spin (runtime.spin_wait): it
	// polls only while one client of either endpoint is at work.
	Spin *netwait.Spin
}

// NewMonitor builds the replica monitor of the config's replicas section,
// for Shared. It does nothing until its Run.
func NewMonitor(cfg *config.Config, snapshot func() *shardmap.Snapshot, l replicas.Listener) (*replicas.Monitor, error) {
	return newMonitor(cfg, snapshot, l)
}

// sharedSpin is the Spin of shared, if one was given, else a new one of
// the config's runtime.spin_wait (nil: off).
func sharedSpin(cfg *config.Config, shared []Shared) *netwait.Spin {
	for _, s := range shared {
		if s.Spin != nil {
			return s.Spin
		}
	}
	return netwait.NewSpin(cfg.Runtime.Spin())
}

// sharedMonitor is the monitor of shared, if one was given.
func sharedMonitor(shared []Shared) *replicas.Monitor {
	for _, s := range shared {
		if s.Monitor != nil {
			return s.Monitor
		}
	}
	return nil
}

// newMonitor builds the replica monitor of the config's replicas section.
func newMonitor(cfg *config.Config, snapshot func() *shardmap.Snapshot, l replicas.Listener) (*replicas.Monitor, error) {
	o := replicas.ConfigOptions(cfg)
	o.Snapshot = snapshot
	o.Listener = l
	return replicas.New(o)
}

// readSettings returns the sessions' replica-read defaults, per user and
// database, from the config's replicas section.
func readSettings(cfg *config.Config) func(user, database string) pgwire.ReadSettings {
	return func(user, database string) pgwire.ReadSettings {
		r := cfg.Replicas.ReadFor(user, database)
		read, _ := router.ParseReadPolicy(string(r.Read)) // validated
		return pgwire.ReadSettings{
			Read: read, MaxLag: r.MaxLag, WhenLagging: r.WhenLagging, WaitTimeout: r.WaitTimeout,
			ReadYourWrites: r.ReadYourWrites == nil || *r.ReadYourWrites,
			PrimaryWeight:  r.PrimaryWeight,
		}
	}
}

// RunReplicas runs the replica monitor (heartbeats, lag, health) until
// ctx ends. Without it, no replica fits and reads run on primaries. A
// monitor shared with the MySQL endpoint is run once, by its owner (Run).
func (p *Postgres) RunReplicas(ctx context.Context) error { return p.monitor.Run(ctx) }

// Replicas is the endpoint's replica monitor.
func (p *Postgres) Replicas() *replicas.Monitor { return p.monitor }

// waitMonitored waits until the monitor has a view of every replicated
// shard of snap (tests and the demo use it before sending replica reads).
func waitMonitored(ctx context.Context, m *replicas.Monitor, snap *shardmap.Snapshot, maxLag time.Duration) error {
	for {
		ready := true
		for _, ks := range snap.Keyspaces() {
			for _, sh := range ks.Shards() {
				if len(sh.Replicas) == 0 {
					continue
				}
				l, ok := m.Pick(sh, maxLag, replicas.Position{})
				l.Release()
				ready = ready && ok
			}
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
