package proxy

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/shardmap"
)

func connect(t *testing.T, mode pgx.QueryExecMode) *pgx.Conn {
	t.Helper()
	return dialMode(t, proxyURL, mode)
}

// dialMode connects to url in the given protocol mode; the test closes it.
func dialMode(t *testing.T, url string, mode pgx.QueryExecMode) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = mode
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// onShard counts the rows of table with key = k on each shard, directly.
func onShards(t *testing.T, table, col string, k int64) []int {
	t.Helper()
	ctx := context.Background()
	out := make([]int, len(cluster.Shards))
	for i, sh := range cluster.Shards {
		c, err := pgx.Connect(ctx, sh.Primary.DSN("app", "app", "app"))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRow(ctx, "SELECT count(*) FROM "+table+" WHERE "+col+" = $1", k).Scan(&out[i]); err != nil {
			t.Fatal(err)
		}
		c.Close(ctx)
	}
	return out
}

func shardIndex(t *testing.T, k int64) int {
	s, err := snap.Lookup(shardmap.Postgres, "app", "users", shardmap.Int(k))
	if err != nil {
		t.Fatal(err)
	}
	return s.Index
}

func wantOnlyOn(t *testing.T, table, col string, k int64) {
	t.Helper()
	counts := onShards(t, table, col, k)
	want := shardIndex(t, k)
	for i, n := range counts {
		if (i == want && n != 1) || (i != want && n != 0) {
			t.Fatalf("%s %s=%d: rows per shard %v, want one on shard %d only", table, col, k, counts, want)
		}
	}
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

var modes = map[string]pgx.QueryExecMode{
	"simple":         pgx.QueryExecModeSimpleProtocol,
	"describe-exec":  pgx.QueryExecModeDescribeExec,
	"exec":           pgx.QueryExecModeExec,
	"cache":          pgx.QueryExecModeCacheStatement, // pgx's default: named prepared statements
	"cache-describe": pgx.QueryExecModeCacheDescribe,
}

func TestRowsLandOnTheirShard(t *testing.T) {
	cleanUsers(t, 100, 699)
	ctx := context.Background()
	base := int64(100)
	for name, mode := range modes {
		t.Run(name, func(t *testing.T) {
			c := connect(t, mode)
			for i := int64(0); i < 20; i++ {
				id := base + i
				if _, err := c.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, $2)", id, "u"+strconv.FormatInt(id, 10)); err != nil {
					t.Fatalf("insert %d: %v", id, err)
				}
				wantOnlyOn(t, "users", "id", id)
				var name string
				if err := c.QueryRow(ctx, "SELECT name FROM users WHERE id = $1", id).Scan(&name); err != nil || name != "u"+strconv.FormatInt(id, 10) {
					t.Fatalf("select %d: %q %v", id, name, err)
				}
			}
		})
		base += 100
	}
}

// The same key as int literal, text literal, text parameter and binary
// parameter reaches the same shard.
func TestSameKeyEveryForm(t *testing.T) {
	cleanUsers(t, 4242, 4242)
	ctx := context.Background()
	c := connect(t, pgx.QueryExecModeExec)
	if _, err := c.Exec(ctx, "INSERT INTO users (id, name) VALUES (4242, 'k')"); err != nil {
		t.Fatal(err)
	}
	wantPort := cluster.Shards[shardIndex(t, 4242)].Primary.Port
	port := func(sql string, args ...any) int {
		var p string
		if err := c.QueryRow(ctx, sql, args...).Scan(&p); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		n, _ := strconv.Atoi(p)
		return n
	}
	forms := []func() int{
		func() int { return port("SELECT current_setting('port') FROM users WHERE id = 4242") },
		func() int { return port("SELECT current_setting('port') FROM users WHERE id = '4242'") },
		func() int { return port("SELECT current_setting('port') FROM users WHERE id = $1", "4242") },      // text format
		func() int { return port("SELECT current_setting('port') FROM users WHERE id = $1", int64(4242)) }, // binary int8
		func() int { return port("SELECT current_setting('port') FROM users WHERE id = $1::int4", int32(4242)) },
		func() int { return port("SELECT current_setting('port') FROM users WHERE id = 4242.0") },
	}
	for i, f := range forms {
		if got := f(); got != wantPort {
			t.Errorf("form %d reached port %d, want %d", i, got, wantPort)
		}
	}
	simple := connect(t, pgx.QueryExecModeSimpleProtocol)
	var p string
	if err := simple.QueryRow(ctx, "SELECT current_setting('port') FROM users WHERE id = $1", 4242).Scan(&p); err != nil || p != strconv.Itoa(wantPort) {
		t.Errorf("simple protocol with client-side parameters: %s %v", p, err)
	}
}

func TestErrorsAreClearAndTheSessionSurvives(t *testing.T) {
	ctx := context.Background()
	for name, mode := range modes {
		t.Run(name, func(t *testing.T) {
			c := connect(t, mode)
			cases := []struct{ sql, code string }{
				{"SELEC 1", "42601"},
				{"UPDATE users SET id = id + 1 WHERE id = 1", "0A000"},
				{"SELECT * FROM nowhere", "42P01"},
				{"SELECT * FROM users WHERE id = 'abc'", "22P02"},
				{"SELECT * FROM users u JOIN orders o ON o.id = u.id", "0A000"},
				{"SELECT 1/0 FROM users WHERE id = 1", "22012"}, // a server error passes through
			}
			for _, tc := range cases {
				_, err := c.Exec(ctx, tc.sql)
				if pgCode(err) != tc.code {
					t.Errorf("%s: got %v, want %s", tc.sql, err, tc.code)
				}
				var one int
				if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
					t.Fatalf("after %q the session is broken: %v", tc.sql, err)
				}
			}
			// Reference tables read from any shard.
			var n int
			if err := c.QueryRow(ctx, "SELECT count(*) FROM products").Scan(&n); err != nil || n != 2 {
				t.Fatalf("products: %d %v", n, err)
			}
		})
	}
}

func TestTransactions(t *testing.T) {
	ctx := context.Background()
	a, b := keysOnTwoShards(t, 5000)
	for name, mode := range modes {
		t.Run(name, func(t *testing.T) {
			c := connect(t, mode)
			// Rolled back: nothing stays.
			tx, err := c.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'rb')", a); err != nil {
				t.Fatal(err)
			}
			if err := tx.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			if n := onShards(t, "users", "id", a); n[0]+n[1] != 0 {
				t.Fatalf("rolled-back row is there: %v", n)
			}
			// Committed with isolation options.
			tx, err = c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
			if err != nil {
				t.Fatal(err)
			}
			var iso string
			if err := tx.QueryRow(ctx, "SELECT current_setting('transaction_isolation') FROM users WHERE id = $1", a).Scan(&iso); err != pgx.ErrNoRows && err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'c')", a); err != nil {
				t.Fatal(err)
			}
			if err := tx.QueryRow(ctx, "SELECT current_setting('transaction_isolation') FROM users WHERE id = $1", a).Scan(&iso); err != nil || iso != "serializable" {
				t.Fatalf("isolation %q %v", iso, err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			wantOnlyOn(t, "users", "id", a)
			// A second shard in one transaction (two-phase commit): an
			// error there fails the whole transaction (25P02 after), and
			// COMMIT rolls back both shards.
			tx, err = c.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, "UPDATE users SET name = 'x' WHERE id = $1", a); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'b')", b); err != nil {
				t.Fatalf("second shard: %v", err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'b')", b); pgCode(err) != "23505" {
				t.Fatalf("duplicate on the second shard: %v", err)
			}
			if _, err := tx.Exec(ctx, "SELECT 1"); pgCode(err) != "25P02" {
				t.Fatalf("after the error: %v", err)
			}
			err = tx.Commit(ctx)
			if !errors.Is(err, pgx.ErrTxCommitRollback) {
				t.Fatalf("commit of a failed transaction: %v", err)
			}
			var nm string
			if err := c.QueryRow(ctx, "SELECT name FROM users WHERE id = $1", a).Scan(&nm); err != nil || nm != "c" {
				t.Fatalf("the failed transaction's update stayed: %q %v", nm, err)
			}
			if n := onShards(t, "users", "id", b); n[0]+n[1] != 0 {
				t.Fatal("the refused insert happened")
			}
			if _, err := c.Exec(ctx, "DELETE FROM users WHERE id = $1", a); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// keysOnTwoShards returns two keys ≥ from on different shards.
func keysOnTwoShards(t *testing.T, from int64) (int64, int64) {
	a := from
	for b := from + 1; b < from+100; b++ {
		if shardIndex(t, a) != shardIndex(t, b) {
			return a, b
		}
	}
	t.Fatal("no keys on two shards")
	return 0, 0
}

func TestBatch10000(t *testing.T) {
	cleanUsers(t, 777, 777)
	ctx := context.Background()
	c := connect(t, pgx.QueryExecModeExec)
	const key = 777
	if _, err := c.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'batch')", key); err != nil {
		t.Fatal(err)
	}
	b := &pgx.Batch{}
	for i := 0; i < 10000; i++ {
		b.Queue("SELECT name, $2::int FROM users WHERE id = $1", key, i)
	}
	res := c.SendBatch(ctx, b)
	for i := 0; i < 10000; i++ {
		var name string
		var n int
		if err := res.QueryRow().Scan(&name, &n); err != nil || n != i || name != "batch" {
			t.Fatalf("result %d: %q %d %v", i, name, n, err)
		}
	}
	if err := res.Close(); err != nil {
		t.Fatal(err)
	}
	var one int
	if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Fatal(err)
	}
	_ = strings.TrimSpace
}

// INSERT without a column list: the shards' catalog gives the column order.
func TestInsertWithoutColumnList(t *testing.T) {
	cleanUsers(t, 60000, 60020)
	ctx := context.Background()
	for name, mode := range modes {
		t.Run(name, func(t *testing.T) {
			c := connect(t, mode)
			id := int64(60000 + len(name))
			if _, err := c.Exec(ctx, "INSERT INTO users VALUES ($1, 'nocols', 1.5)", id); err != nil {
				t.Fatal(err)
			}
			wantOnlyOn(t, "users", "id", id)
			if _, err := c.Exec(ctx, "INSERT INTO orders VALUES (1, $1, 2.5)", id); err != nil {
				t.Fatal(err)
			}
			wantOnlyOn(t, "orders", "user_id", id)
			if _, err := c.Exec(ctx, "DELETE FROM orders WHERE user_id = $1", id); err != nil {
				t.Fatal(err)
			}
		})
	}
}
