package mysqltest

import (
	"context"
	"fmt"
	"testing"
)

// A statement that takes a named lock and then fails (a duplicate key
// after GET_LOCK ran) leaves the lock in its server session: it pins the
// client as a successful one would, so the connection is reset before
// anyone else gets it. Before, the connection went back to the pool with
// the lock, and a later client owned it (its RELEASE_LOCK returned 1).
func TestFailedStatementWithLockPins(t *testing.T) {
	ctx := context.Background()
	id := idsOnEachShard(t, 75100)[0]
	setup := conn(t, "")
	execOK(t, setup, "DELETE FROM users WHERE id = ?", id)
	execOK(t, setup, "INSERT INTO users VALUES (?, 'x')", id)
	for _, tc := range []struct{ name, lock, params string }{
		{"text", "failed_text_lock", "interpolateParams=true"},
		{"prepared", "failed_prepared_lock", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := open(t, "app", "app", tc.params)
			a, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.ExecContext(ctx, fmt.Sprintf("INSERT INTO users VALUES (?, GET_LOCK('%s', 0))", tc.lock), id)
			wantMySQLError(t, err, 1062, "23000")
			if got := one(t, a, fmt.Sprintf("SELECT IS_USED_LOCK('%s') IS NOT NULL", tc.lock)); got != "1" {
				t.Fatalf("the failed statement took no lock: %s", got)
			}
			a.Close()
			db.Close()
			// Later clients use the shard's pooled connections.
			for i := range 4 {
				b := conn(t, "")
				one(t, b, "SELECT COUNT(*) FROM users WHERE id = ?", id)
				if got := one(t, b, fmt.Sprintf("SELECT COALESCE(RELEASE_LOCK('%s'), 'NULL')", tc.lock)); got == "1" {
					t.Fatalf("client %d released the departed client's lock: it got that client's server connection", i)
				}
				b.Close()
			}
		})
	}
	execOK(t, setup, "DELETE FROM users WHERE id = ?", id)
}
