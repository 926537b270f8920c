package proxy

import (
	"context"
	"net"
	"strconv"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/frontend/pgwire"
	"github.com/shardgate/shardgate/internal/netwait"
	"github.com/shardgate/shardgate/shardmap"
)

// shardConns gives the Postgres sessions connections to shard primaries,
// from a pool per (node, backend user, database).
type shardConns struct {
	pools *backend.Pools
	user  string
	// byShard caches each shard's pool, so an acquire does not hash the
	// pool key's strings, and its keyspace's name, so that a statement
	// held across a failover finds its shard in a newer map (failover.go).
	byShard  shardCache[*shardmap.Shard, shardEntry]
	failover *failoverState
}

// shardEntry is what shardConns keeps of a shard.
type shardEntry struct {
	pool     *backend.Pool
	keyspace string // "": not known (the shard's map version was gone)
}

func newShardConns(cfg *config.Config, snapshot func() *shardmap.Snapshot, listener backend.Listener, spin *netwait.Spin) *shardConns {
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
				Spin:           spin,
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
	if e, ok := c.byShard.load(shard); ok {
		return e.pool, nil
	}
	p, err := c.pools.Get(backend.PoolKey{Node: shard.Primary.Addr, User: c.user, Database: shard.Database})
	if err != nil {
		return nil, err
	}
	ks, _ := c.failover.keyspaceOf(shard)
	c.byShard.store(shard, shardEntry{pool: p, keyspace: ks})
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
