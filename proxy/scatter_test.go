package proxy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shardgate/shardgate/shardmap"
)

// Scatter reads through the simple protocol give what the shards hold
// together (the differential corpus tests compare with one database).
func TestScatterReadsSimpleProtocol(t *testing.T) {
	ctx := context.Background()
	c := connect(t, pgx.QueryExecModeSimpleProtocol)
	for id := int64(50000); id < 50040; id++ {
		if _, err := c.Exec(ctx, "INSERT INTO users (id, name, balance) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING", id, fmt.Sprintf("sc-%02d", id%17), float64(id%7)+0.25); err != nil {
			t.Fatal(err)
		}
	}
	// What the shards hold, read directly.
	var all []int64
	for _, sh := range cluster.Shards {
		d, err := pgx.Connect(ctx, sh.Primary.DSN("app", "app", "app"))
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := d.Query(ctx, "SELECT id FROM users WHERE id BETWEEN 50000 AND 50039")
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) == 0 {
			t.Fatalf("shard %s holds none of the rows", sh.Primary.DSN("app", "", "app"))
		}
		all = append(all, ids...)
		d.Close(ctx)
	}
	slices.Sort(all)
	if len(all) != 40 {
		t.Fatalf("shards hold %d rows", len(all))
	}
	var n int64
	if err := c.QueryRow(ctx, "SELECT count(*) FROM users WHERE id BETWEEN 50000 AND 50039").Scan(&n); err != nil || n != 40 {
		t.Fatalf("count: %d %v", n, err)
	}
	rows, _ := c.Query(ctx, "SELECT id FROM users WHERE id BETWEEN 50000 AND 50039 ORDER BY id DESC LIMIT 5 OFFSET 2")
	got, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || !slices.Equal(got, []int64{50037, 50036, 50035, 50034, 50033}) {
		t.Fatalf("order/limit: %v %v", got, err)
	}
	var avg, sum string
	if err := c.QueryRow(ctx, "SELECT avg(id)::text, sum(balance)::text FROM users WHERE id BETWEEN 50000 AND 50039").Scan(&avg, &sum); err == nil {
		t.Logf("avg %s sum %s", avg, sum)
	}
	var avgDirect, sumDirect string
	d, _ := pgx.Connect(ctx, cluster.Shards[0].Primary.DSN("app", "app", "app"))
	defer d.Close(ctx)
	if err := d.QueryRow(ctx, "SELECT avg(x)::text FROM generate_series(50000, 50039) x").Scan(&avgDirect); err != nil {
		t.Fatal(err)
	}
	_ = sumDirect
	var avgProxy string
	if err := c.QueryRow(ctx, "SELECT avg(id) FROM users WHERE id BETWEEN 50000 AND 50039").Scan(&avgProxy); err != nil || avgProxy != avgDirect {
		t.Fatalf("avg: proxy %q, one database %q (%v)", avgProxy, avgDirect, err)
	}
	rows, _ = c.Query(ctx, "SELECT name, count(*) FROM users WHERE id BETWEEN 50000 AND 50039 GROUP BY name ORDER BY name LIMIT 3")
	type nc struct {
		Name  string
		Count int64
	}
	groups, err := pgx.CollectRows(rows, pgx.RowToStructByPos[nc])
	if err != nil || len(groups) != 3 || groups[0].Name != "sc-00" {
		t.Fatalf("group by: %v %v", groups, err)
	}
	// Refused in a transaction and through the extended protocol; the
	// session survives.
	// In a READ COMMITTED transaction a scatter read runs: before any
	// statement reached a server beside it, after one did on the
	// transaction's connections (joining the other shard;
	// scatter_tx_test.go); at REPEATABLE READ it is refused.
	tx, _ := c.Begin(ctx)
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM users WHERE id BETWEEN 50000 AND 50039").Scan(&n); err != nil || n != 40 {
		t.Fatalf("first in a transaction: %d %v", n, err)
	}
	if _, err := tx.Exec(ctx, "SELECT name FROM users WHERE id = 50000"); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM users WHERE id BETWEEN 50000 AND 50039").Scan(&n); err != nil || n != 40 {
		t.Fatalf("after a statement on a shard: %d %v", n, err)
	}
	tx.Rollback(ctx)
	tx, _ = c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if _, err := tx.Exec(ctx, "SELECT count(*) FROM users"); pgCode(err) != "0A000" {
		t.Fatalf("repeatable read: %v", err)
	}
	tx.Rollback(ctx)
	// The extended protocol, in each of pgx's modes: parameters, binary
	// results, avg's numeric.
	for name, mode := range modes {
		e := connect(t, mode)
		var cnt int64
		var lo int64
		var mean pgtype.Numeric
		if err := e.QueryRow(ctx, "SELECT count(*), min(id), avg(id) FROM users WHERE id BETWEEN $1 AND $2", 50000, 50039).Scan(&cnt, &lo, &mean); err != nil || cnt != 40 || lo != 50000 {
			t.Fatalf("%s: %d %d %v", name, cnt, lo, err)
		}
		if f, err := mean.Float64Value(); err != nil || f.Float64 != 50019.5 {
			t.Fatalf("%s: avg %v %v", name, f, err)
		}
		rows, _ := e.Query(ctx, "SELECT id, name FROM users WHERE id BETWEEN $1 AND $2 ORDER BY id LIMIT $3", 50000, 50039, 3)
		ids, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (int64, error) {
			var id int64
			var n string
			err := r.Scan(&id, &n)
			return id, err
		})
		if err != nil || !slices.Equal(ids, []int64{50000, 50001, 50002}) {
			t.Fatalf("%s: %v %v", name, ids, err)
		}
	}
	if err := c.QueryRow(ctx, "SELECT count(*) FROM users WHERE id BETWEEN 50000 AND 50039").Scan(&n); err != nil || n != 40 {
		t.Fatalf("count again: %d %v", n, err)
	}
}

// A read that may run on any shard (a reference table, SELECT 1) first in
// a READ COMMITTED transaction runs beside it, so the transaction's shard
// is chosen by its first keyed statement; at REPEATABLE READ it fixes the
// transaction to the first shard, as before.
func TestReadBeforeTransactionShard(t *testing.T) {
	ctx := context.Background()
	for name, mode := range modes {
		t.Run(name, func(t *testing.T) { readBeforeTx(t, ctx, connect(t, mode)) })
	}
}

func readBeforeTx(t *testing.T, ctx context.Context, c *pgx.Conn) {
	a, b := keysOnTwoShards(t, 51000)
	for _, k := range []int64{a, b} {
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM products").Scan(&n); err != nil || n != 2 {
			t.Fatalf("products: %d %v", n, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'rbt') ON CONFLICT (id) DO NOTHING", k); err != nil {
			t.Fatalf("key %d: %v", k, err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		wantOnlyOn(t, "users", "id", k)
	}
	tx, err := c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	var one int
	if err := tx.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Fatal(err)
	}
	// At REPEATABLE READ the first read fixes the shard: a second shard
	// would read another snapshot, and is refused.
	_, errA := tx.Exec(ctx, "SELECT name FROM users WHERE id = $1", a)
	_, errB := tx.Exec(ctx, "SELECT name FROM users WHERE id = $1", b)
	tx.Rollback(ctx)
	if errA != nil || pgCode(errB) != "0A000" {
		t.Fatalf("repeatable read: the first read should fix the shard: %v / %v", errA, errB)
	}
}

// EXPLAIN ROUTE shows where a statement would run, without running it.
func TestExplainRoute(t *testing.T) {
	ctx := context.Background()
	c := connect(t, pgx.QueryExecModeSimpleProtocol)
	explain := func(sql string) [][]string {
		rows, err := c.Query(ctx, "EXPLAIN ROUTE "+sql)
		if err != nil {
			t.Fatal(err)
		}
		var out [][]string
		for rows.Next() {
			var shard, target, reason, text pgtype.Text
			if err := rows.Scan(&shard, &target, &reason, &text); err != nil {
				t.Fatal(err)
			}
			out = append(out, []string{shard.String, target.String, reason.String, text.String})
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	one := explain("SELECT * FROM users WHERE id = 42")
	want, _ := snap.Lookup(shardmap.Postgres, "app", "users", shardmap.Int(42))
	if len(one) != 1 || one[0][0] != want.Name || one[0][2] != "users.id = 42" {
		t.Fatalf("single: %v", one)
	}
	sc := explain("SELECT name, avg(balance) FROM users GROUP BY name ORDER BY name LIMIT 5")
	if len(sc) < 4 || sc[0][0] != "-80" || sc[1][0] != "80-" || !strings.Contains(sc[0][3], "count(balance)") {
		t.Fatalf("scatter: %v", sc)
	}
	var steps []string
	for _, r := range sc[2:] {
		steps = append(steps, r[2])
	}
	if !strings.Contains(strings.Join(steps, "; "), "stop after 5 rows") {
		t.Fatalf("merge steps: %v", steps)
	}
	t.Logf("EXPLAIN ROUTE of a scatter read:\n%v", sc)
	// The hint form.
	rows, err := c.Query(ctx, "/* shardgate: explain */ DELETE FROM users WHERE id = 42")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if rows.Err() != nil || n != 1 || rows.CommandTag().String() != "EXPLAIN" {
		t.Fatalf("hint: %d rows, %v, %v", n, rows.Err(), rows.CommandTag())
	}
	// Through the extended protocol the hint is refused, never run.
	e := connect(t, pgx.QueryExecModeCacheStatement)
	if _, err := e.Exec(ctx, "/* shardgate: explain */ DELETE FROM users WHERE id = $1", 42); pgCode(err) != "0A000" {
		t.Fatalf("extended explain hint: %v", err)
	}
	// Refusals come as errors; nothing ran.
	if _, err := c.Exec(ctx, "EXPLAIN ROUTE UPDATE users SET id = 5 WHERE id = 4"); pgCode(err) != "0A000" {
		t.Fatalf("refused: %v", err)
	}
	if _, err := c.Exec(ctx, "EXPLAIN ROUTE DELETE FROM users WHERE id = 42"); err != nil {
		t.Fatal(err)
	}
}
