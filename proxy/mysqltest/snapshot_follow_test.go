package mysqltest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shardgate/shardgate/shardmap"
)

// TestTransactionFollowsNewMapVersion: a new map version that leaves the
// transaction's shard as it was must not make its next statement take
// that shard for another: it runs on the transaction's connection and
// sees the transaction's own write. (Shards are pointers into their
// version; the transaction once joined a second connection to the same
// server.) A session pinned to its connection goes on too.
func TestTransactionFollowsNewMapVersion(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := testConfig()
	if err != nil {
		t.Fatal(err)
	}
	var cur atomic.Pointer[shardmap.Snapshot]
	cur.Store(snap)
	addr, _ := ownEndpoint(t, cfg, cur.Load)
	id := idsOnEachShard(t, 9_300_000)[0]
	conn, err := openDSN(t, "app:app@tcp("+addr+")/app").Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	execOK(t, conn, "DELETE FROM users WHERE id = ?", id)
	execOK(t, conn, "INSERT INTO users VALUES (?, 'before')", id)
	version := uint64(1)
	newVersion := func() {
		t.Helper()
		version++
		next, err := shardmap.Compile(version, *cfg.Topology) // the same shards
		if err != nil {
			t.Fatal(err)
		}
		cur.Store(next)
	}
	execOK(t, conn, "BEGIN")
	execOK(t, conn, "UPDATE users SET name = 'in tx' WHERE id = ?", id)
	newVersion()
	if got := one(t, conn, "SELECT name FROM users WHERE id = ?", id); got != "in tx" {
		t.Errorf("the transaction reads %q after a new map version, want its own write", got)
	}
	execOK(t, conn, "ROLLBACK")
	// Pinned by a user variable: every statement runs on its connection.
	one(t, conn, "SELECT CONCAT(name, @mine := 1) FROM users WHERE id = ?", id)
	newVersion()
	if got := one(t, conn, "SELECT CONCAT(name, ' ', @mine) FROM users WHERE id = ?", id); got != "before 1" {
		t.Errorf("the pinned session after a new map version: %q, want \"before 1\"", got)
	}
}
