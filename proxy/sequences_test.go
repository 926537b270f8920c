package proxy

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/config"
)

// TestSequenceStateDoesNotLeak: under transaction pooling, what nextval
// leaves in a server session (currval, lastval) must not reach another
// client that gets the connection next; it answers 55000 as a fresh
// session would. Within one transaction currval works as on the server.
func TestSequenceStateDoesNotLeak(t *testing.T) {
	ctx := context.Background()
	for _, sh := range cluster.Shards {
		for _, q := range []string{
			"CREATE SEQUENCE IF NOT EXISTS handoff_seq",
			"GRANT USAGE, SELECT, UPDATE ON SEQUENCE handoff_seq TO app",
		} {
			if err := sh.Primary.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	url, _ := startProxy(t, func(c *config.Config) { c.Pools.MaxServerConnsPerNode = 1 })
	k, _ := keysOnTwoShards(t, 70200) // every statement on k's shard, on its one connection
	connect := func() *pgx.Conn {
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(ctx) })
		return c
	}
	a, b := connect(), connect()
	var v, n int64
	if err := a.QueryRow(ctx, "SELECT nextval('handoff_seq'), count(*) FROM users WHERE id = $1", k).Scan(&v, &n); err != nil {
		t.Fatal(err)
	}
	err := b.QueryRow(ctx, "SELECT currval('handoff_seq'), count(*) FROM users WHERE id = $1", k).Scan(&v, &n)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "55000" {
		t.Errorf("another client's currval after a nextval it never ran: %d, %v; want 55000", v, err)
	}
	if err := b.QueryRow(ctx, "SELECT lastval(), count(*) FROM users WHERE id = $1", k).Scan(&v, &n); !errors.As(err, &pe) || pe.Code != "55000" {
		t.Errorf("another client's lastval: %d, %v; want 55000", v, err)
	}
	// One transaction keeps its connection: currval answers its nextval.
	tx, err := a.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var next, cur int64
	if err := tx.QueryRow(ctx, "SELECT nextval('handoff_seq'), count(*) FROM users WHERE id = $1", k).Scan(&next, &n); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, "SELECT currval('handoff_seq'), count(*) FROM users WHERE id = $1", k).Scan(&cur, &n); err != nil || cur != next {
		t.Errorf("currval in the transaction of its nextval: %d, %v; want %d", cur, err, next)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRow(ctx, "SELECT currval('handoff_seq'), count(*) FROM users WHERE id = $1", k).Scan(&v, &n); !errors.As(err, &pe) || pe.Code != "55000" {
		t.Errorf("another client's currval after a committed nextval: %d, %v; want 55000", v, err)
	}
}
