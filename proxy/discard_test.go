package proxy

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shardgate/shardgate/config"
)

// TestDiscardSequences: DISCARD SEQUENCES and DISCARD ALL forget the
// session's sequence state wherever its nextval left it, as on a server:
// currval afterwards fails with 55000, also on a connection that is not
// the one the proxy would send a DISCARD to (the state stays on a
// pooled connection of another shard than the first).
func TestDiscardSequences(t *testing.T) {
	ctx := context.Background()
	for _, sh := range cluster.Shards {
		for _, q := range []string{
			"CREATE SEQUENCE IF NOT EXISTS discard_seq",
			"GRANT USAGE, SELECT, UPDATE ON SEQUENCE discard_seq TO app",
		} {
			if err := sh.Primary.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, url, _ := startProxyP(t, func(c *config.Config) { c.Pools.MaxServerConnsPerNode = 1 })
	a, b := keysOnTwoShards(t, 70400)
	k := a
	if shardIndex(t, k) == 0 {
		k = b // not on the shard a statement of no table goes to
	}
	// No named statements: DISCARD ALL drops them, as on a server.
	c := dialMode(t, url, pgx.QueryExecModeExec)
	for _, discard := range []string{"DISCARD SEQUENCES", "DISCARD ALL"} {
		var v, n int64
		if err := c.QueryRow(ctx, "SELECT nextval('discard_seq'), count(*) FROM users WHERE id = $1", k).Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRow(ctx, "SELECT currval('discard_seq'), count(*) FROM users WHERE id = $1", k).Scan(&v, &n); err != nil {
			t.Fatalf("currval after its nextval, before %s: %v", discard, err)
		}
		if _, err := c.Exec(ctx, discard); err != nil {
			t.Fatal(err)
		}
		err := c.QueryRow(ctx, "SELECT currval('discard_seq'), count(*) FROM users WHERE id = $1", k).Scan(&v, &n)
		if pgCode(err) != "55000" {
			t.Errorf("currval after %s: %d, %v; want 55000", discard, v, err)
		}
	}
	// Inside a transaction on a server, DISCARD SEQUENCES reaches it.
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var v, n int64
	if err := tx.QueryRow(ctx, "SELECT nextval('discard_seq'), count(*) FROM users WHERE id = $1", k).Scan(&v, &n); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "DISCARD SEQUENCES"); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, "SELECT currval('discard_seq'), count(*) FROM users WHERE id = $1", k).Scan(&v, &n); pgCode(err) != "55000" {
		t.Errorf("currval after DISCARD SEQUENCES in the transaction: %d, %v; want 55000", v, err)
	}
}

// TestDiscardTemp: a client's DISCARD TEMP drops the temporary tables on
// every connection the session is pinned to (here one per shard), and the
// proxy forgets their names: each can be created again. Inside a
// transaction it is refused while such connections exist.
func TestDiscardTemp(t *testing.T) {
	ctx := context.Background()
	_, url, _ := startProxyP(t, func(c *config.Config) { c.Pools.MaxServerConnsPerNode = 2 })
	c := dial(t, url)
	create := func() error {
		for i := range cluster.Shards {
			if _, err := c.Exec(ctx, rvOnShard(i, "CREATE TEMP TABLE discard_tmp_"+string(rune('a'+i))+" (x int)")); err != nil {
				return err
			}
		}
		return nil
	}
	if err := create(); err != nil {
		t.Fatal(err)
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "DISCARD TEMP"); pgCode(err) != "0A000" {
		t.Errorf("DISCARD TEMP in a transaction: %v; want 0A000", err)
	}
	tx.Rollback(ctx)
	for _, discard := range []string{"DISCARD TEMP", "DISCARD TEMPORARY"} {
		tag, err := c.PgConn().Exec(ctx, discard).ReadAll()
		if err != nil || len(tag) != 1 || tag[0].CommandTag.String() != "DISCARD TEMP" {
			t.Fatalf("%s: %v, %v", discard, tag, err)
		}
		if _, err := c.Exec(ctx, "SELECT * FROM discard_tmp_a"); pgCode(err) != "42P01" {
			t.Errorf("temporary table after %s: %v; want 42P01", discard, err)
		}
		if err := create(); err != nil {
			t.Errorf("temporary tables again after %s: %v", discard, err)
		}
	}
	// A session pinned for something else (LISTEN) has no temporary
	// tables to lose: DISCARD TEMP in a transaction does nothing.
	l := dial(t, url)
	if _, err := l.Exec(ctx, "LISTEN discard_chan"); err != nil {
		t.Fatal(err)
	}
	tx, err = l.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "DISCARD TEMP"); err != nil {
		t.Errorf("DISCARD TEMP in a transaction of a session without temporary tables: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}
