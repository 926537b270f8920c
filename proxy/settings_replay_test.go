package proxy

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/config"
)

// TestRefusedSettingsReplayRunsNothing: a session's settings are replayed
// on each server connection that serves it. When a server refuses them
// (here a text search configuration that exists on one shard only), the
// statement must not run under the settings the connection had before —
// another session's, or the server's defaults — and the client gets the
// server's error: the write is not committed, the read not answered.
func TestRefusedSettingsReplayRunsNothing(t *testing.T) {
	ctx := context.Background()
	const conf = "public.sg_replay_conf"
	if err := cluster.Shards[0].Primary.Exec(ctx, "CREATE TEXT SEARCH CONFIGURATION "+conf+" (COPY = english)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cluster.Shards[0].Primary.Exec(context.Background(), "DROP TEXT SEARCH CONFIGURATION "+conf) })
	if err := cluster.Shards[1].Primary.Exec(ctx, "DROP TEXT SEARCH CONFIGURATION IF EXISTS "+conf); err != nil {
		t.Fatal(err)
	}
	p, url, _ := startProxyP(t, func(*config.Config) {})
	k0, k1 := keysOnTwoShards(t, 70400)
	if shardIndex(t, k0) != 0 {
		k0, k1 = k1, k0
	}
	cleanUsers(t, 70400, 70500)
	stats := p.SessionStats()
	for _, mode := range bothProtocols {
		t.Run(mode.String(), func(t *testing.T) {
			c := dialMode(t, url, mode)
			var name string
			if err := c.QueryRow(ctx, "SELECT name FROM products WHERE id = 1").Scan(&name); err != nil {
				t.Fatal(err)
			}
			// Set on shard 0 (where the proxy sends a session command
			// first), where it exists.
			if _, err := c.Exec(ctx, "SET default_text_search_config = '"+conf+"'"); err != nil {
				t.Fatal(err)
			}
			var got string
			var n int
			if err := c.QueryRow(ctx, "SELECT current_setting('default_text_search_config'), count(*) FROM users WHERE id = $1", k0).Scan(&got, &n); err != nil || got != conf {
				t.Fatalf("on shard 0: %q, %v; want %s", got, err, conf)
			}
			failures := stats.SettingsReplayFailures.Load()
			_, err := c.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'replayed')", k1)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "22023" {
				t.Errorf("write on shard 1, which refuses the settings: %v; want 22023 (the server's refusal)", err)
			}
			if n := countOn(t, 1, []int64{k1}); n != 0 {
				t.Errorf("the write ran on shard 1 under the server's default settings: %d rows", n)
			}
			if got := stats.SettingsReplayFailures.Load() - failures; got != 1 {
				t.Errorf("settings replay failures: %d, want 1", got)
			}
			err = c.QueryRow(ctx, "SELECT current_setting('default_text_search_config'), count(*) FROM users WHERE id = $1", k1).Scan(&got, &n)
			if !errors.As(err, &pe) || pe.Code != "22023" {
				t.Errorf("read on shard 1: %q, %v; want 22023", got, err)
			}
			// A read over both shards: shard 0's part is written before
			// shard 1 refuses; it is answered and dropped.
			err = c.QueryRow(ctx, "SELECT count(*) FROM users WHERE id BETWEEN 70400 AND 70500").Scan(&n)
			if !errors.As(err, &pe) || pe.Code != "22023" {
				t.Errorf("scatter read: %d, %v; want 22023", n, err)
			}
			// The session goes on: shard 0 answers, and after a RESET
			// shard 1 does too.
			if err := c.QueryRow(ctx, "SELECT current_setting('default_text_search_config'), count(*) FROM users WHERE id = $1", k0).Scan(&got, &n); err != nil || got != conf {
				t.Fatalf("on shard 0 after the refusal: %q, %v", got, err)
			}
			if _, err := c.Exec(ctx, "RESET default_text_search_config"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'after reset')", k1); err != nil {
				t.Fatalf("write on shard 1 after RESET: %v", err)
			}
			if n := countOn(t, 1, []int64{k1}); n != 1 {
				t.Errorf("after RESET: %d rows on shard 1, want 1", n)
			}
			if _, err := c.Exec(ctx, "DELETE FROM users WHERE id = $1", k1); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestScatterWhenAShardHasNoConnection: a read over both shards whose
// second shard has no free connection (its only one held by an open
// transaction) fails with the pool's error once the wait times out; the
// first shard's part, already written, is sent and read to its end, and
// the session and the pool go on.
func TestScatterWhenAShardHasNoConnection(t *testing.T) {
	ctx := context.Background()
	_, url, _ := startProxyP(t, func(c *config.Config) {
		c.Pools.MaxServerConnsPerNode = 1
		c.Pools.AcquireTimeout = 300 * time.Millisecond
	})
	k0, k1 := keysOnTwoShards(t, 70600)
	if shardIndex(t, k0) != 0 {
		k0, k1 = k1, k0
	}
	holder, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM users WHERE id = $1", k1).Scan(&n); err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = c.QueryRow(qctx, "SELECT count(*) FROM users WHERE id BETWEEN 70600 AND 70700").Scan(&n)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Fatalf("scatter read with shard 1's connection taken: %v; want the pool's error", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range []int64{k0, k1} {
		if err := c.QueryRow(ctx, "SELECT count(*) FROM users WHERE id = $1", k).Scan(&n); err != nil {
			t.Fatalf("key %d after the failed read: %v", k, err)
		}
	}
}

// TestRoleDoesNotLeakThroughReadsOnEveryShard: a session with SET ROLE is
// pinned where it ran the SET, but a read of every shard runs on other
// connections, where its settings — the role too — are replayed. RESET
// ALL does not undo a role: the next session's replay there must, or it
// reads as the role.
func TestRoleDoesNotLeakThroughReadsOnEveryShard(t *testing.T) {
	ctx := context.Background()
	for _, sh := range cluster.Shards {
		for _, q := range []string{
			"DO $$ BEGIN CREATE ROLE sg_reader NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
			"GRANT sg_reader TO app",
			"GRANT SELECT ON users TO sg_reader",
		} {
			if err := sh.Primary.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, url, _ := startProxyP(t, func(c *config.Config) { c.Pools.MaxServerConnsPerNode = 2 })
	k0, k1 := keysOnTwoShards(t, 72300)
	a, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	if _, err := a.Exec(ctx, "SET ROLE sg_reader"); err != nil {
		t.Fatal(err)
	}
	var n int
	var who string
	for range 3 {
		if err := a.QueryRow(ctx, "SELECT count(*) FROM users WHERE id BETWEEN 72300 AND 72400").Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.QueryRow(ctx, "SELECT current_user, count(*) FROM users WHERE id = $1", k1).Scan(&who, &n); err != nil || who != "sg_reader" {
		t.Fatalf("a's own read: %q, %v; want sg_reader", who, err)
	}
	for i := range 6 {
		b, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []int64{k0, k1} {
			if err := b.QueryRow(ctx, "SELECT current_user, count(*) FROM users WHERE id = $1", k).Scan(&who, &n); err != nil || who != "app" {
				t.Errorf("client %d, key %d: current_user %q, %v; want app (a's role leaked)", i, k, who, err)
			}
		}
		b.Close(ctx)
	}
}
