package proxy

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shardgate/shardgate/config"
)

// TestSetsInATextAreRecorded: SETs inside a multi-statement text hold for
// the session as SETs of their own do, on whichever connection serves it
// next (they were lost: the connection was marked unknown and reset, and
// the session's next transaction ran on another one without them); a
// text that fails sets nothing, as on Postgres (one implicit
// transaction); inside a transaction they end with it.
func TestSetsInATextAreRecorded(t *testing.T) {
	ctx := context.Background()
	_, url, _ := startProxyP(t, func(c *config.Config) { c.Pools.MaxServerConnsPerNode = 2 })
	a := dialMode(t, url, pgx.QueryExecModeSimpleProtocol)
	b := dial(t, url)
	check := func(when, wantApp, wantTimeout string) {
		t.Helper()
		// b holds a connection for a while, so a runs on one or the
		// other in turn.
		for i := 0; i < 4; i++ {
			tx, err := b.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, "SELECT 1"); err != nil {
				t.Fatal(err)
			}
			var app, timeout string
			if err := a.QueryRow(ctx, "SELECT current_setting('application_name'), current_setting('statement_timeout')").Scan(&app, &timeout); err != nil {
				t.Fatal(err)
			}
			if app != wantApp || timeout != wantTimeout {
				t.Errorf("%s, round %d: application_name %q, statement_timeout %q; want %q, %q", when, i, app, timeout, wantApp, wantTimeout)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := a.Exec(ctx, "SET statement_timeout = '7s'; SET application_name = 'text_app'; SELECT 1"); err != nil {
		t.Fatal(err)
	}
	check("after the text", "text_app", "7s")
	if _, err := a.Exec(ctx, "SET application_name = 'failed_app'; SELECT 1/0"); pgCode(err) != "22012" {
		t.Fatalf("a failing text: %v", err)
	}
	check("after a failing text", "text_app", "7s")
	tx, err := a.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SET application_name = 'rolled_back'; SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	check("after a rolled back transaction", "text_app", "7s")
	if _, err := a.Exec(ctx, "RESET statement_timeout; SELECT 1"); err != nil {
		t.Fatal(err)
	}
	check("after a RESET in a text", "text_app", "0")
	// A SET ending with a line comment, then another: the replay of both
	// on another connection must not let the comment swallow the ';'.
	for _, sql := range []string{"SET application_name = 'commented' -- why", "SET statement_timeout = '9s'"} {
		if _, err := a.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	check("after a SET with a trailing comment", "commented", "9s")
}

// TestSetInATextJoiningAShardRefused: inside a transaction on one shard, a
// text with a SET whose statements take the transaction to a second shard
// is refused, as a SET inside a transaction on several shards is (the SET
// would reach the second shard only, and be recorded for both).
func TestSetInATextJoiningAShardRefused(t *testing.T) {
	ctx := context.Background()
	k0, k1 := keysOnTwoShards(t, 73700)
	c := dialMode(t, proxyURL, pgx.QueryExecModeSimpleProtocol)
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "UPDATE users SET name = name WHERE id = $1", k0); err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(ctx, "SET application_name = 'joined'; SELECT count(*) FROM users WHERE id = "+fmt.Sprint(k1))
	if pgCode(err) != "0A000" {
		t.Errorf("a text with a SET taking the transaction to a second shard: %v; want 0A000", err)
	}
}
