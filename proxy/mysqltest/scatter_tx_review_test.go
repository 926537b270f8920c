package mysqltest

import (
	"context"
	"fmt"
	"testing"
)

// Review of scatter reads inside MySQL transactions (7ff325a, 6be86d9,
// 204c167).

// With autocommit off (PyMySQL's default) a read of both shards now
// opens the transaction on both (scatterInTx), so the transaction spans
// shards although it wrote nothing; then SET autocommit = 1, which MariaDB
// runs after committing the open transaction, is refused (1235, "would
// commit, implicitly, a transaction that spans shards": settings.go set),
// as are BEGIN and DDL. One server accepts all of them; before 7ff325a the
// read did not make the transaction span shards. The client is stuck
// until it finds COMMIT on its own.
func TestScatterTxReviewAutocommitOnAfterRead(t *testing.T) {
	ids := idsOnEachShard(t, 9_720)
	c := conn(t, "")
	execOK(t, c, "SET autocommit = 0")
	q := fmt.Sprintf("SELECT COUNT(*) FROM users WHERE id IN (%d, %d)", ids[0], ids[1])
	one(t, c, q)
	if _, err := c.ExecContext(context.Background(), "SET autocommit = 1"); err != nil {
		t.Fatalf("SET autocommit = 1 after a read of both shards (autocommit off): %v, want it to commit and succeed", err)
	}
	if got := one(t, c, "SELECT @@in_transaction"); got != "0" {
		t.Errorf("after SET autocommit = 1: in_transaction %s", got)
	}
	execOK(t, c, "BEGIN")
	one(t, c, q)
	if _, err := c.ExecContext(context.Background(), "BEGIN"); err != nil {
		t.Errorf("BEGIN after BEGIN and a read of both shards: %v, want the first committed implicitly", err)
	}
	execOK(t, c, "ROLLBACK")
	noPreparedBranches(t)
}
