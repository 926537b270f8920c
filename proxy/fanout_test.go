package proxy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/config"
)

// simpleExec runs one simple-protocol statement and returns its results.
func simpleExec(t *testing.T, c *pgx.Conn, sql string) ([]*pgconn.Result, error) {
	t.Helper()
	return c.PgConn().Exec(context.Background(), sql).ReadAll()
}

// countOnShard counts rows of a query run directly on shard i.
func countOnShard(t *testing.T, i int, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := directShard(t, i).QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("shard %d: %s: %v", i, sql, err)
	}
	return n
}

// A multi-row INSERT over two shards is split by key and commits on both
// or neither; RETURNING returns every row.
func TestFanOutSplitInsert(t *testing.T) {
	a, b := keysOnTwoShards(t, 660000)
	a2, b2 := keysOnTwoShards(t, 660200)
	deleteUsers(t, a, b, a2, b2)
	c := connect(t, pgx.QueryExecModeSimpleProtocol)
	res, err := simpleExec(t, c, fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'split'), (%d, 'split') RETURNING id", a, b))
	if err != nil || res[0].CommandTag.String() != "INSERT 0 2" || len(res[0].Rows) != 2 {
		t.Fatalf("split insert: %v %v", res, err)
	}
	wantOnlyOn(t, "users", "id", a)
	wantOnlyOn(t, "users", "id", b)
	// A duplicate on one shard: nothing of the statement stays anywhere.
	_, err = simpleExec(t, c, fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'x'), (%d, 'x'), (%d, 'x')", a2, b2, b))
	if pgCode(err) != "23505" || !strings.Contains(err.Error(), "on shard") {
		t.Fatalf("split insert with a duplicate: %v", err)
	}
	for _, k := range []int64{a2, b2} {
		if n := onShards(t, "users", "id", k); n[0]+n[1] != 0 {
			t.Fatalf("row %d of the failed insert: %v", k, n)
		}
	}
	wantNonePrepared(t)
	wantIdlePools(t)
}

// The same writes through the extended protocol, in every pgx mode: a
// split INSERT with parameters, a scatter UPDATE … RETURNING, a scatter
// DELETE; in and out of a transaction.
func TestFanOutExtended(t *testing.T) {
	ctx := context.Background()
	a, b := keysOnTwoShards(t, 680000)
	for name, mode := range modes {
		t.Run(name, func(t *testing.T) {
			deleteUsers(t, a, b)
			c := connect(t, mode)
			tag, err := c.Exec(ctx, "INSERT INTO users (id, name, balance) VALUES ($1, 'fx', 1), ($2, 'fx', 2)", a, b)
			if err != nil || tag.String() != "INSERT 0 2" {
				t.Fatalf("split insert: %v %v", tag, err)
			}
			wantOnlyOn(t, "users", "id", a)
			wantOnlyOn(t, "users", "id", b)
			rows, err := c.Query(ctx, "UPDATE users SET balance = balance + $1 WHERE name = $2 RETURNING id, balance", 10, "fx")
			if err != nil {
				t.Fatal(err)
			}
			var returned []float64
			for rows.Next() {
				var id int64
				var bal float64
				if err := rows.Scan(&id, &bal); err != nil {
					t.Fatal(err)
				}
				returned = append(returned, bal)
			}
			if rows.Err() != nil || len(returned) != 2 || returned[0]+returned[1] != 23 || rows.CommandTag().String() != "UPDATE 2" {
				t.Fatalf("scatter update RETURNING: %v %v %v", returned, rows.Err(), rows.CommandTag())
			}
			var sum float64
			if err := c.QueryRow(ctx, "SELECT sum(balance) FROM users WHERE name = $1", "fx").Scan(&sum); err != nil || sum != 23 {
				t.Fatalf("after the scatter update: %v %v", sum, err)
			}
			// In a transaction, then rolled back.
			tx, _ := c.Begin(ctx)
			if tag, err := tx.Exec(ctx, "DELETE FROM users WHERE name = $1", "fx"); err != nil || tag.String() != "DELETE 2" {
				t.Fatalf("delete in a transaction: %v %v", tag, err)
			}
			tx.Rollback(ctx)
			if n := onShards(t, "users", "id", b); n[0]+n[1] != 1 {
				t.Fatalf("rolled-back delete: %v", n)
			}
			// A failure on one shard: nothing, and the session goes on.
			if _, err := c.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'x'), ($2, 'x')", a+1000000, b); pgCode(err) != "23505" {
				t.Fatalf("split insert with a duplicate: %v", err)
			}
			if n := onShards(t, "users", "id", a+1000000); n[0]+n[1] != 0 {
				t.Fatalf("half of a failed insert: %v", n)
			}
			if tag, err := c.Exec(ctx, "DELETE FROM users WHERE name = $1", "fx"); err != nil || tag.String() != "DELETE 2" {
				t.Fatalf("scatter delete: %v %v", tag, err)
			}
			wantNonePrepared(t)
		})
	}
	wantIdlePools(t)
}

// UPDATE and DELETE without a sharding key run on every shard, atomically;
// inside a transaction they join it.
func TestFanOutScatterWrites(t *testing.T) {
	a, b := keysOnTwoShards(t, 670000)
	deleteUsers(t, a, b)
	c := connect(t, pgx.QueryExecModeSimpleProtocol)
	if _, err := simpleExec(t, c, fmt.Sprintf("INSERT INTO users (id, name, balance) VALUES (%d, 'fan', 1), (%d, 'fan', 2)", a, b)); err != nil {
		t.Fatal(err)
	}
	res, err := simpleExec(t, c, "UPDATE users SET balance = balance * 10 WHERE name = 'fan' RETURNING balance")
	if err != nil || res[0].CommandTag.String() != "UPDATE 2" || len(res[0].Rows) != 2 {
		t.Fatalf("scatter update: %v %v", res, err)
	}
	// In a transaction, rolled back: nothing changes.
	ctx := context.Background()
	tx, _ := c.Begin(ctx)
	if _, err := tx.Exec(ctx, "UPDATE users SET balance = 0 WHERE name = 'fan'"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM users WHERE id = $1 AND balance = 0", a).Scan(&n); err != nil || n != 1 {
		t.Fatalf("inside the transaction: %d %v", n, err)
	}
	tx.Rollback(ctx)
	if got := countOnShard(t, shardIndex(t, b), "SELECT count(*) FROM users WHERE id = $1 AND balance = 20", b); got != 1 {
		t.Fatalf("rolled-back scatter update stayed: %d", got)
	}
	// An error on one shard (a check that fails only there): nothing.
	_, err = simpleExec(t, c, fmt.Sprintf("UPDATE users SET balance = 1 / (balance - 20) WHERE name = 'fan' AND id IN (%d, %d)", a, b))
	if pgCode(err) != "22012" {
		t.Fatalf("scatter update failing on one shard: %v", err)
	}
	if got := countOnShard(t, shardIndex(t, a), "SELECT count(*) FROM users WHERE id = $1 AND balance = 10", a); got != 1 {
		t.Fatalf("the other shard's part of a failed update stayed")
	}
	res, err = simpleExec(t, c, "DELETE FROM users WHERE name = 'fan'")
	if err != nil || res[0].CommandTag.String() != "DELETE 2" {
		t.Fatalf("scatter delete: %v %v", res, err)
	}
	wantNonePrepared(t)
}

// Writes to a reference table reach every copy.
func TestFanOutReferenceWrite(t *testing.T) {
	c := connect(t, pgx.QueryExecModeSimpleProtocol)
	simpleExec(t, c, "DELETE FROM products WHERE id >= 100")
	res, err := simpleExec(t, c, "INSERT INTO products (id, name) VALUES (100, 'pen'), (101, 'ink') RETURNING id")
	if err != nil || res[0].CommandTag.String() != "INSERT 0 2" || len(res[0].Rows) != 2 {
		// As one copy answers: 2 rows.
		t.Fatalf("reference insert: %v %v", res, err)
	}
	for i := range cluster.Shards {
		if n := countOnShard(t, i, "SELECT count(*) FROM products WHERE id >= 100"); n != 2 {
			t.Fatalf("shard %d has %d copies", i, n)
		}
	}
	if _, err := simpleExec(t, c, "DELETE FROM products WHERE id >= 100"); err != nil {
		t.Fatal(err)
	}
}

// DDL goes to every shard: atomically in a transaction, or one shard
// after another for what cannot run in one, with a per-shard report.
func TestFanOutDDL(t *testing.T) {
	c := connect(t, pgx.QueryExecModeSimpleProtocol)
	simpleExec(t, c, "DROP TABLE IF EXISTS fan_ddl")
	if _, err := simpleExec(t, c, "CREATE TABLE fan_ddl (id bigint PRIMARY KEY, v text)"); err != nil {
		t.Fatal(err)
	}
	for i := range cluster.Shards {
		if n := countOnShard(t, i, "SELECT count(*) FROM pg_tables WHERE tablename = 'fan_ddl'"); n != 1 {
			t.Fatalf("shard %d: fan_ddl missing", i)
		}
	}
	// An index already on one shard: the atomic CREATE INDEX fails there
	// and is on no shard after.
	if _, err := directShard(t, 1).Exec(context.Background(), "CREATE INDEX fan_v ON fan_ddl (v)"); err != nil {
		t.Fatal(err)
	}
	if _, err := simpleExec(t, c, "CREATE INDEX fan_v ON fan_ddl (v)"); pgCode(err) != "42P07" {
		t.Fatalf("CREATE INDEX that fails on one shard: %v", err)
	}
	if n := countOnShard(t, 0, "SELECT count(*) FROM pg_indexes WHERE indexname = 'fan_v'"); n != 0 {
		t.Fatal("half-done DDL on shard 0")
	}
	// CONCURRENTLY: one by one; the first failure names the shards done.
	var notices []string
	cfg, _ := pgx.ParseConfig(proxyURL)
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { notices = append(notices, n.Message) }
	cn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close(context.Background())
	_, err = cn.Exec(context.Background(), "CREATE INDEX CONCURRENTLY fan_v ON fan_ddl (v)")
	var pe *pgconn.PgError
	if pgCode(err) != "42P07" || !asPgError(err, &pe) || !strings.Contains(pe.Message, "shard 80-") || !strings.Contains(pe.Detail, "Done on shards: [-80]") {
		t.Fatalf("CONCURRENTLY failing on the second shard: %v %+v", err, pe)
	}
	if _, err := cn.Exec(context.Background(), "CREATE INDEX CONCURRENTLY IF NOT EXISTS fan_v ON fan_ddl (v)"); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if len(notices) < 3 || !strings.Contains(notices[0], "shard -80: CREATE INDEX done (1 of 2)") {
		t.Fatalf("per-shard notices: %q", notices)
	}
	if _, err := cn.Exec(context.Background(), "BEGIN; CREATE INDEX CONCURRENTLY fan_w ON fan_ddl (v)"); err == nil {
		t.Fatal("CONCURRENTLY inside a transaction block accepted")
	}
	for i := range cluster.Shards {
		if n := countOnShard(t, i, "SELECT count(*) FROM pg_indexes WHERE indexname = 'fan_v'"); n != 1 {
			t.Fatalf("shard %d: index missing after the re-run", i)
		}
	}
	// EXPLAIN ROUTE shows each shard's piece and the commit.
	rows, err := c.Query(context.Background(), "EXPLAIN ROUTE DROP TABLE fan_ddl", pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]string, error) {
		var a, b, c, d *string
		err := r.Scan(&a, &b, &c, &d)
		return []string{deref(a), deref(b), deref(c), deref(d)}, err
	})
	if err != nil || len(got) != 3 || got[2][1] != "commit" {
		t.Fatalf("EXPLAIN ROUTE of DDL: %v %v", got, err)
	}
	if _, err := simpleExec(t, c, "DROP TABLE fan_ddl"); err != nil {
		t.Fatal(err)
	}
	wantNonePrepared(t)
}

// scatter_writes: deny refuses an UPDATE without a key.
func TestFanOutScatterWritesDeny(t *testing.T) {
	_, url, stop := startProxyP(t, func(c *config.Config) { c.Transactions.ScatterWrites = config.ScatterWritesDeny })
	defer stop(time.Second)
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	_, err = simpleExec(t, c, "UPDATE users SET name = 'x' WHERE name = 'nobody'")
	if pgCode(err) != "0A000" || !strings.Contains(err.Error(), "scatter_writes") {
		t.Fatalf("scatter write with deny: %v", err)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
