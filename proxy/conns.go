package proxy

import (
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/frontend/pgwire"
	"github.com/shardgate/shardgate/shardmap"
)

// shardConns gives the Postgres sessions connections to shard primaries,
// from a pool per (node, backend user, database).
type shardConns struct {
	pools *backend.Pools
	user  string
	// byShard caches the pool of each shard of the snapshots seen, so an
	// acquire does not hash the pool key's strings. A new map version
	// brings new shards (the cache starts over past maxCachedShards).
	byShard sync.Map // *shardmap.Shard → *backend.Pool
	cached  atomic.Int64
	// keyspaces maps each cached shard to its keyspace's name, so that a
	// statement held across a failover finds its shard in a newer map
	// (failover.go). Filled and cleared with byShard.
	keyspaces sync.Map // *shardmap.Shard → string
	failover  *failoverState
}

const maxCachedShards = 4096

func newShardConns(cfg *config.Config, snapshot func() *shardmap.Snapshot, listener backend.Listener) *shardConns {
	b := cfg.Backends.Postgres
	opts := func(k backend.PoolKey) backend.PoolOptions {
		host, portText, _ := net.SplitHostPort(k.Node)
		port, _ := strconv.Atoi(portText)
		return backend.PoolOptions{
			Dial: backend.DialOptions{
				Node: k.Node, Host: host, Port: port,
				User: k.User, Password: b.Password.Reveal(), Database: k.Database,
				TLS: backend.TLSMode(b.TLS.Mode), CAFile: b.TLS.CAFile,
				ConnectTimeout: cfg.Pools.ConnectTimeout,
				RuntimeParams:  map[string]string{"application_name": "shardgate"},
			},
			MaxConns:       cfg.Pools.MaxServerConnsPerNode,
			MinIdle:        cfg.Pools.MinIdle,
			IdleTimeout:    cfg.Pools.IdleTimeout,
			MaxLifetime:    cfg.Pools.ServerLifetime,
			AcquireTimeout: cfg.Pools.AcquireTimeout,
			Listener:       listener,
		}
	}
	return &shardConns{pools: backend.NewPools(opts), user: b.User, failover: newFailoverState(cfg, snapshot)}
}

func (c *shardConns) pool(shard *shardmap.Shard) (*backend.Pool, error) {
	if p, ok := c.byShard.Load(shard); ok {
		return p.(*backend.Pool), nil
	}
	p, err := c.pools.Get(backend.PoolKey{Node: shard.Primary.Addr, User: c.user, Database: shard.Database})
	if err != nil {
		return nil, err
	}
	if c.cached.Add(1) > maxCachedShards {
		c.byShard.Clear()
		c.keyspaces.Clear()
		c.cached.Store(0)
	}
	if ks, ok := c.failover.keyspaceOf(shard); ok {
		c.keyspaces.Store(shard, ks)
	}
	c.byShard.Store(shard, p)
	return p, nil
}

// Acquire implements pgwire.ConnSource.
func (c *shardConns) Acquire(ctx context.Context, shard *shardmap.Shard) (pgwire.ServerConn, error) {
	p, err := c.pool(shard)
	if err != nil {
		return nil, err
	}
	conn, err := p.Acquire(ctx)
	if err != nil {
		if primaryDown(err) {
			return c.hold(ctx, shard, err)
		}
		return nil, err
	}
	return conn, nil
}

// Release implements pgwire.ConnSource.
func (c *shardConns) Release(sc pgwire.ServerConn) {
	conn := sc.(*backend.Conn)
	conn.Pool().Release(conn)
}
