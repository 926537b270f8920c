package mysqltest

import (
	"context"
	"testing"
)

// SET TRANSACTION (the next transaction only) followed by a write on
// several shards outside a transaction: each shard's part would run as a
// transaction of its own without it (a READ ONLY write succeeding), and
// the one-shot would then hold for a later statement instead. It is
// refused, and nothing is written; a read on several shards takes the
// one-shot (it changes nothing for one statement's read); inside START
// TRANSACTION it applies to the write.
func TestSetTransactionBeforeStatementOnSeveralShards(t *testing.T) {
	ctx := context.Background()
	ids := idsOnEachShard(t, 75200)
	c := conn(t, "interpolateParams=true")
	execOK(t, c, "DELETE FROM users WHERE id IN (?, ?)", ids[0], ids[1])
	execOK(t, c, "SET TRANSACTION READ ONLY")
	_, err := c.ExecContext(ctx, "INSERT INTO users VALUES (?, 'a'), (?, 'b')", ids[0], ids[1])
	wantMySQLError(t, err, 1235, "42000")
	if got := one(t, c, "SELECT COUNT(*) FROM users WHERE id IN (?, ?)", ids[0], ids[1]); got != "0" {
		t.Fatalf("rows written: %s", got)
	}
	// The read took the one-shot: this write is not read only.
	execOK(t, c, "INSERT INTO users VALUES (?, 'a')", ids[0])
	execOK(t, c, "DELETE FROM users WHERE id = ?", ids[0])
	execOK(t, c, "SET TRANSACTION READ ONLY")
	execOK(t, c, "START TRANSACTION")
	_, err = c.ExecContext(ctx, "INSERT INTO users VALUES (?, 'a'), (?, 'b')", ids[0], ids[1])
	wantMySQLError(t, err, 1792, "25006")
	execOK(t, c, "ROLLBACK")
	execOK(t, c, "INSERT INTO users VALUES (?, 'a'), (?, 'b')", ids[0], ids[1])
	execOK(t, c, "DELETE FROM users WHERE id IN (?, ?)", ids[0], ids[1])
}
