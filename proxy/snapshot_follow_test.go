package proxy

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/shardmap"
)

// TestTransactionFollowsNewMapVersion: a new map version that leaves the
// transaction's shard as it was (another shard failed over, a map edit)
// must not make the transaction's next statement take its shard for
// another one: it runs on the transaction's connection and sees the
// transaction's own write. (Shards are pointers into their version; the
// transaction once joined a second connection to the same server, which
// read the old row, and would wait on the transaction's own locks.)
func TestTransactionFollowsNewMapVersion(t *testing.T) {
	cleanUsers(t, 70400, 70499)
	cfg, err := testConfig(cluster)
	if err != nil {
		t.Fatal(err)
	}
	var cur atomic.Pointer[shardmap.Snapshot]
	cur.Store(snap)
	_, url, _ := startProxyMaps(t, func(*config.Config) {}, &cur)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	k := int64(70400)
	if _, err := c.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'before')", k); err != nil {
		t.Fatal(err)
	}
	for version := uint64(2); version <= 3; version++ {
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "UPDATE users SET name = 'in tx' WHERE id = $1", k); err != nil {
			t.Fatal(err)
		}
		next, err := shardmap.Compile(version, *cfg.Topology) // the same shards, a new version
		if err != nil {
			t.Fatal(err)
		}
		cur.Store(next)
		var name string
		if err := tx.QueryRow(ctx, "SELECT name FROM users WHERE id = $1", k).Scan(&name); err != nil || name != "in tx" {
			t.Errorf("map version %d: the transaction reads %q, %v; want its own write", version, name, err)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
