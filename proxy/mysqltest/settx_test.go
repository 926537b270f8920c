package mysqltest

import (
	"context"
	"testing"
	"time"
)

// TestSetInTransactionOnSeveralShards: a SET while a transaction holds
// connections on two shards reaches both (it once reached the connection
// in use only, and the transaction went on with the old time_zone on the
// other shard). Before the second shard a SET is replayed on the shard the
// transaction joins.
func TestSetInTransactionOnSeveralShards(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ids := idsOnEachShard(t, 9_200_000)
	conn, err := open(t, "app", "app", "").Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	zone := func(id int64) string {
		t.Helper()
		var z string
		var n int
		if err := conn.QueryRowContext(ctx, "SELECT @@time_zone, count(*) FROM users WHERE id = ?", id).Scan(&z, &n); err != nil {
			t.Fatal(err)
		}
		return z
	}
	for _, q := range []string{"BEGIN", "SET time_zone = '+09:00'"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	zone(ids[0]) // the transaction's first shard
	if z := zone(ids[1]); z != "+09:00" {
		t.Errorf("the shard the transaction joined after the SET: time_zone %q, want +09:00", z)
	}
	for _, last := range ids { // the SET on either shard's connection
		zone(last)
		if _, err := conn.ExecContext(ctx, "SET time_zone = '+03:00'"); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if z := zone(id); z != "+03:00" {
				t.Errorf("SET after a statement on the shard of %d; shard of %d: time_zone %q, want +03:00", last, id, z)
			}
		}
		if _, err := conn.ExecContext(ctx, "SET time_zone = '+09:00'"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "SET time_zone = '+03:00'"); err != nil {
		t.Errorf("SET after the transaction: %v", err)
	}
}
