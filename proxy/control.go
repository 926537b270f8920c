package proxy

import (
	"context"
	"errors"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/shardmap"
)

// controlLogin returns the control-plane login to a node's database: the
// backend's control user (its main user when none is set), with the
// backend's TLS and connect timeout. application names the work in
// pg_stat_activity (e.g. shardgate-2pc).
func controlLogin(cfg *config.Config, application string) func(node shardmap.Node, database string) (*pgconn.Config, error) {
	b := cfg.Backends.Postgres
	user, password := b.EffectiveControlUser()
	return func(node shardmap.Node, database string) (*pgconn.Config, error) {
		return backend.PgConnConfig(backend.DialOptions{
			Node: node.Addr, Host: node.Host, Port: node.Port,
			User: user, Password: password.Reveal(), Database: database,
			TLS: backend.TLSMode(b.TLS.Mode), CAFile: b.TLS.CAFile,
			ConnectTimeout: cfg.Pools.ConnectTimeout,
			RuntimeParams:  map[string]string{"application_name": application},
		})
	}
}

// controlPools keeps one small pgx pool per (node, database) for
// control-plane statements, logged in by login. Safe for concurrent use.
type controlPools struct {
	login    func(node shardmap.Node, database string) (*pgconn.Config, error)
	maxConns int32

	mu     sync.Mutex
	pools  map[string]*pgxpool.Pool
	closed bool
}

func newControlPools(login func(shardmap.Node, string) (*pgconn.Config, error), maxConns int32) *controlPools {
	return &controlPools{login: login, maxConns: maxConns, pools: make(map[string]*pgxpool.Pool)}
}

// pool returns the node's database's pool, creating it (without
// connecting) on first use.
func (c *controlPools) pool(node shardmap.Node, database string) (*pgxpool.Pool, error) {
	key := node.Addr + "/" + database
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errors.New("proxy: control connections are closed")
	}
	if p := c.pools[key]; p != nil {
		return p, nil
	}
	cc, err := c.login(node, database)
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, err
	}
	pc.ConnConfig.Config = *cc
	// A few small statements: no statement cache to keep in step with a
	// server that may restart or fail over.
	pc.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	pc.MaxConns = c.maxConns
	// NewWithConfig connects lazily (MinConns is 0): ctx is unused here.
	p, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		return nil, err
	}
	c.pools[key] = p
	return p, nil
}

// close closes every pool; pool fails afterwards.
func (c *controlPools) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for k, p := range c.pools {
		p.Close()
		delete(c.pools, k)
	}
}
