package mysqltest

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"
)

// A READ ONLY transaction reading two shards (on primaries, the default
// read policy): each shard's part is begun READ ONLY and committed in one
// phase — no XA branch, no decision row; a write inside is refused, by
// the server on one shard and by the proxy when it needs several; a read
// of both shards in one statement runs on those READ ONLY parts; the
// connections go back out of their transactions. (On a replica
// a READ ONLY transaction stays on one shard: replicas_test.go.)
func TestReadOnlyTxAcrossShards(t *testing.T) {
	ctx := context.Background()
	ids := idsOnEachShard(t, 9100)
	setup := conn(t, "")
	execOK(t, setup, "DELETE FROM users WHERE id IN (?, ?)", ids[0], ids[1])
	execOK(t, setup, "INSERT INTO users VALUES (?, 'ro0'), (?, 'ro1')", ids[0], ids[1])
	decisions := func() string {
		return countOn(t, 0, "SELECT COUNT(*) FROM shardgate_2pc") + "+" + countOn(t, 1, "SELECT COUNT(*) FROM shardgate_2pc")
	}
	before := decisions()

	for _, begin := range []string{"START TRANSACTION READ ONLY", "driver"} {
		t.Run(strings.ReplaceAll(begin, " ", "_"), func(t *testing.T) {
			c := conn(t, "")
			var q interface {
				QueryRowContext(context.Context, string, ...any) *sql.Row
				ExecContext(context.Context, string, ...any) (sql.Result, error)
			}
			var tx *sql.Tx
			if begin == "driver" {
				// go-sql-driver sends START TRANSACTION READ ONLY itself.
				var err error
				if tx, err = c.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}); err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback() //nolint:errcheck // after a failure: the connection must close
				q = tx
			} else {
				execOK(t, c, begin)
				defer c.ExecContext(ctx, "ROLLBACK") //nolint:errcheck // after a failure
				q = c
			}
			if got := one(t, q, "SELECT name FROM users WHERE id = ?", ids[0]); got != "ro0" {
				t.Fatalf("shard 0 row: %q", got)
			}
			if got := one(t, q, "SELECT name FROM users WHERE id = ?", ids[1]); got != "ro1" {
				t.Fatalf("shard 1 row: %q", got)
			}
			// A statement reading both shards at once reads on the
			// transaction's READ ONLY parts (no XA branch: see decisions).
			var n int
			if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE id IN (?, ?)", ids[0], ids[1]).Scan(&n); err != nil || n != 2 {
				t.Fatalf("read of both shards: %d, %v", n, err)
			}
			var err error
			// Writes are refused: by the server on each shard (each part is
			// a READ ONLY transaction), by the proxy when they need several
			// (XA START cannot carry READ ONLY).
			for sh := range 2 {
				_, err = q.ExecContext(ctx, "UPDATE users SET name = 'w' WHERE id = ?", ids[sh])
				wantMySQLError(t, err, 1792, "25006")
			}
			_, err = q.ExecContext(ctx, "INSERT INTO users VALUES (?, 'a'), (?, 'b')", ids[0]+1000000, ids[1]+1000000)
			me := wantMySQLError(t, err, 1235, "42000")
			if !strings.Contains(me.Message, "READ ONLY") {
				t.Fatalf("refusal: %q", me.Message)
			}
			// The transaction goes on after the refusals.
			if got := one(t, q, "SELECT name FROM users WHERE id = ?", ids[1]); got != "ro1" {
				t.Fatalf("after the refusals: %q", got)
			}
			if tx != nil {
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
			} else {
				execOK(t, c, "COMMIT")
			}
			// Nothing left open: no transaction of the proxy on either shard
			// (innodb_trx is a cache refreshed at most every 100 ms).
			time.Sleep(200 * time.Millisecond)
			for sh := range 2 {
				if got := adminOne(t, sh, "SELECT COUNT(*) FROM information_schema.innodb_trx WHERE trx_mysql_thread_id <> CONNECTION_ID()"); got != "0" {
					t.Errorf("shard %d: %s transactions still open after COMMIT: %s", sh, got, adminOne(t, sh, "SELECT GROUP_CONCAT(CONCAT_WS(' ', x.trx_state, x.trx_is_read_only, x.trx_started, p.user, p.command, IFNULL(p.info, '-'))) FROM information_schema.innodb_trx x LEFT JOIN information_schema.processlist p ON p.id = x.trx_mysql_thread_id WHERE x.trx_mysql_thread_id <> CONNECTION_ID()"))
				}
			}
		})
	}
	if after := decisions(); after != before {
		t.Errorf("decision rows %s before, %s after: a READ ONLY transaction wrote a decision", before, after)
	}
	noPreparedBranches(t)
	for sh := range 2 {
		if got := countOn(t, sh, "SELECT name FROM users WHERE id = ?", ids[sh]); got != "ro"+string(rune('0'+sh)) {
			t.Fatalf("shard %d: row changed to %q", sh, got)
		}
	}
}

// adminOne runs a query on a shard's primary as its administrator
// (information_schema.innodb_trx needs PROCESS).
func adminOne(t *testing.T, shard int, query string) string {
	t.Helper()
	db, err := sql.Open("mysql", cluster.Shards[shard].Primary.AdminDSN("app"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return one(t, db, query)
}
