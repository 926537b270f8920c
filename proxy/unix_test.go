package proxy

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/shardmap"
)

// Shards named by their Unix socket folders: the proxy's server
// connections go over the sockets (the servers see no client address),
// statements route to both shards, and a cancel reaches the server over
// the socket too.
func TestShardsOnUnixSockets(t *testing.T) {
	cfg, err := testConfig(cluster)
	if err != nil {
		t.Fatal(err)
	}
	spec := *cfg.Topology
	ks := spec.Keyspaces[0]
	ks.Shards = append([]shardmap.ShardSpec(nil), ks.Shards...)
	for i := range ks.Shards {
		ks.Shards[i].Primary.Host = cluster.Shards[i].Primary.Dir
	}
	spec.Keyspaces = []shardmap.KeyspaceSpec{ks}
	m, err := shardmap.Compile(1, spec)
	if err != nil {
		t.Fatal(err)
	}
	_, url, _ := startProxyMap(t, func(*config.Config) {}, m)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)

	// Keys over both shards, each written in a transaction rolled back.
	seen := map[string]bool{}
	for id := int64(9_100_000_001); id <= 9_100_000_008; id++ {
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var addr string
		err = tx.QueryRow(ctx, "INSERT INTO users (id, name) VALUES ($1, 'unix') RETURNING coalesce(inet_client_addr()::text, 'unix') || ' ' || current_setting('port')", id).Scan(&addr)
		if err != nil {
			t.Fatalf("id %d: %v", id, err)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		seen[addr] = true
	}
	for _, sh := range cluster.Shards {
		if !seen["unix "+strconv.Itoa(sh.Primary.Port)] {
			t.Errorf("no statement reached %s over its socket; seen %v", sh.Primary.Name, seen)
		}
	}
	if len(seen) != len(cluster.Shards) {
		t.Errorf("answers from %v, want only the shards' sockets", seen)
	}

	qctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	cc := connectCancellingURL(t, url)
	start := time.Now()
	_, err = cc.Exec(qctx, "SELECT pg_sleep(30)")
	if pgCode(err) != "57014" || time.Since(start) > 10*time.Second {
		t.Fatalf("cancel over the socket: %v after %v", err, time.Since(start))
	}
}
