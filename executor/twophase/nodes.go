package twophase

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shardgate/shardgate/shardmap"
)

// nodes keeps one small control-plane pool per (node, database): the
// decision log's coordinator and the participants the resolver visits.
type nodes struct {
	config func(node shardmap.Node, database string) (*pgconn.Config, error)

	mu    sync.Mutex
	pools map[string]*pgxpool.Pool
}

func (n *nodes) pool(ctx context.Context, node shardmap.Node, database string) (*pgxpool.Pool, error) {
	key := node.Addr + "/" + database
	n.mu.Lock()
	defer n.mu.Unlock()
	if p := n.pools[key]; p != nil {
		return p, nil
	}
	cc, err := n.config(node, database)
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, err
	}
	pc.ConnConfig.Config = *cc
	// Decisions are few small statements: no statement cache to keep in
	// step with a server that may restart.
	pc.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	pc.MaxConns = 4
	p, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, err
	}
	if n.pools == nil {
		n.pools = make(map[string]*pgxpool.Pool)
	}
	n.pools[key] = p
	return p, nil
}

func (n *nodes) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for k, p := range n.pools {
		p.Close()
		delete(n.pools, k)
	}
}
