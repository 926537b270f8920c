package proxy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/config"
)

// SQL-level PREPARE / EXECUTE / DEALLOCATE under transaction pooling with
// two server connections per node: the statements live in the session and
// are replayed on whichever connection an EXECUTE routes to.

func sqpProxy(t *testing.T, mode config.PoolMode) string {
	t.Helper()
	url, _ := startProxy(t, func(c *config.Config) {
		c.Pools.MaxServerConnsPerNode = 2
		if mode != "" {
			c.Pools.Mode = mode
		}
	})
	return url
}

// sqpConnect connects with the simple protocol, as psql does.
func sqpConnect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func sqpExec(t *testing.T, c *pgx.Conn, sql string) {
	t.Helper()
	if _, err := c.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func sqpString(t *testing.T, c *pgx.Conn, sql string) string {
	t.Helper()
	var v string
	if err := c.QueryRow(context.Background(), sql).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

func sqpWantCode(t *testing.T, c *pgx.Conn, sql, code string) *pgconn.PgError {
	t.Helper()
	_, err := c.Exec(context.Background(), sql)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != code {
		t.Fatalf("%s: %v, want %s", sql, err, code)
	}
	return pe
}

func TestSQLPrepareRoutesByArgument(t *testing.T) {
	for _, mode := range []config.PoolMode{config.PoolTransaction, config.PoolSession} {
		t.Run(string(mode), func(t *testing.T) {
			c := sqpConnect(t, sqpProxy(t, mode))
			from := int64(510000)
			if mode == config.PoolSession {
				from = 520000
			}
			a, b := keysOnTwoShards(t, from)
			sqpExec(t, c, fmt.Sprintf("DELETE FROM users WHERE id = %d", a))
			sqpExec(t, c, fmt.Sprintf("DELETE FROM users WHERE id = %d", b))

			// With declared types, and without (inferred from the column).
			sqpExec(t, c, "PREPARE ins (bigint, text) AS INSERT INTO users (id, name) VALUES ($1, $2)")
			sqpExec(t, c, "prepare GetName as /* a comment */ SELECT name FROM users WHERE id = $1;")
			sqpExec(t, c, fmt.Sprintf("EXECUTE ins(%d, 'first')", a))
			sqpExec(t, c, fmt.Sprintf("execute ins (%d, 'second')", b))
			wantOnlyOn(t, "users", "id", a)
			wantOnlyOn(t, "users", "id", b)
			for i := 0; i < 10; i++ { // over both connections of each node
				if got := sqpString(t, c, fmt.Sprintf("EXECUTE getname(%d)", a)); got != "first" {
					t.Fatalf("EXECUTE getname(a): %q", got)
				}
				if got := sqpString(t, c, fmt.Sprintf("EXECUTE GetName('%d')", b)); got != "second" {
					t.Fatalf("EXECUTE getname(b): %q", got)
				}
			}
			// A statement with a literal key routes by it; the arguments are
			// other values.
			sqpExec(t, c, fmt.Sprintf("PREPARE rename AS UPDATE users SET name = $1 WHERE id = %d", b))
			sqpExec(t, c, "EXECUTE rename('renamed')")
			if got := sqpString(t, c, fmt.Sprintf("SELECT name FROM users WHERE id = %d", b)); got != "renamed" {
				t.Fatalf("after EXECUTE rename: %q", got)
			}
			// An argument the proxy cannot evaluate leaves the key unknown:
			// refused, as a statement without a key is.
			sqpWantCode(t, c, fmt.Sprintf("EXECUTE getname(%d + 0)", a), "0A000")
			// A wrong number of arguments is the server's error.
			sqpWantCode(t, c, "EXECUTE getname(1, 2)", "42601")
		})
	}
}

// Clients that PREPARE the same name with different texts, over the same
// two server connections per node, each get their own statement.
func TestSQLPrepareSameNameManyClients(t *testing.T) {
	url := sqpProxy(t, "")
	const clients, rounds = 6, 40
	keys := make([]int64, clients)
	setup := sqpConnect(t, url)
	for i := range keys {
		keys[i] = 530000 + int64(i)
		sqpExec(t, setup, fmt.Sprintf("DELETE FROM users WHERE id = %d", keys[i]))
		sqpExec(t, setup, fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'user%d')", keys[i], i))
	}
	conns := make([]*pgx.Conn, clients)
	for i := range conns {
		conns[i] = sqpConnect(t, url)
		sqpExec(t, conns[i], fmt.Sprintf("PREPARE q (bigint) AS SELECT name || '/%d' FROM users WHERE id = $1", i))
		sqpExec(t, conns[i], fmt.Sprintf("PREPARE k AS SELECT 'client%d', $1::int * %d", i, i+1))
	}
	// Interleaved, one after another…
	for r := 0; r < 5; r++ {
		for i, c := range conns {
			want := fmt.Sprintf("user%d/%d", i, i)
			if got := sqpString(t, c, fmt.Sprintf("EXECUTE q(%d)", keys[i])); got != want {
				t.Fatalf("client %d: %q, want %q", i, got, want)
			}
		}
	}
	// …and at the same time.
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i, c := range conns {
		wg.Add(1)
		go func(i int, c *pgx.Conn) {
			defer wg.Done()
			ctx := context.Background()
			for r := 0; r < rounds; r++ {
				var got string
				if err := c.QueryRow(ctx, fmt.Sprintf("EXECUTE q(%d)", keys[i])).Scan(&got); err != nil {
					errs <- fmt.Errorf("client %d round %d: %w", i, r, err)
					return
				}
				if want := fmt.Sprintf("user%d/%d", i, i); got != want {
					errs <- fmt.Errorf("client %d round %d: %q, want %q", i, r, got, want)
					return
				}
				var who string
				var n int
				if err := c.QueryRow(ctx, fmt.Sprintf("EXECUTE k(%d)", r)).Scan(&who, &n); err != nil {
					errs <- fmt.Errorf("client %d round %d: %w", i, r, err)
					return
				}
				if who != fmt.Sprintf("client%d", i) || n != r*(i+1) {
					errs <- fmt.Errorf("client %d round %d: %q %d", i, r, who, n)
					return
				}
			}
		}(i, c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSQLPrepareInTransaction(t *testing.T) {
	c := sqpConnect(t, sqpProxy(t, ""))
	a, b := keysOnTwoShards(t, 540000)
	sqpExec(t, c, fmt.Sprintf("DELETE FROM users WHERE id IN (%d)", a))
	sqpExec(t, c, fmt.Sprintf("DELETE FROM users WHERE id IN (%d)", b))
	sqpExec(t, c, "PREPARE ins (bigint, text) AS INSERT INTO users (id, name) VALUES ($1, $2)")
	sqpExec(t, c, "PREPARE get (bigint) AS SELECT name FROM users WHERE id = $1")

	// Rolled back: the row is gone; the statements stay (PREPARE is not
	// transactional).
	sqpExec(t, c, "BEGIN")
	sqpExec(t, c, fmt.Sprintf("EXECUTE ins(%d, 'in-tx')", a))
	if got := sqpString(t, c, fmt.Sprintf("EXECUTE get(%d)", a)); got != "in-tx" {
		t.Fatalf("inside the transaction: %q", got)
	}
	// Another shard joins the transaction; ROLLBACK undoes both.
	sqpExec(t, c, fmt.Sprintf("EXECUTE ins(%d, 'in-tx-b')", b))
	if got := sqpString(t, c, fmt.Sprintf("EXECUTE get(%d)", b)); got != "in-tx-b" {
		t.Fatalf("inside the transaction, second shard: %q", got)
	}
	sqpExec(t, c, "ROLLBACK")
	for _, k := range []int64{a, b} {
		if n := onShards(t, "users", "id", k); n[0]+n[1] != 0 {
			t.Fatalf("rolled back row %d on shards: %v", k, n)
		}
	}

	// PREPARE inside the transaction, committed.
	sqpExec(t, c, "BEGIN")
	sqpExec(t, c, "PREPARE upd (text, bigint) AS UPDATE users SET name = $1 WHERE id = $2")
	sqpExec(t, c, fmt.Sprintf("EXECUTE ins(%d, 'x')", a))
	sqpExec(t, c, fmt.Sprintf("EXECUTE upd('committed', %d)", a))
	sqpExec(t, c, "COMMIT")
	wantOnlyOn(t, "users", "id", a)
	if got := sqpString(t, c, fmt.Sprintf("EXECUTE get(%d)", a)); got != "committed" {
		t.Fatalf("after COMMIT: %q", got)
	}

	// A PREPARE the server refuses fails the transaction, as on Postgres.
	sqpExec(t, c, "BEGIN")
	sqpExec(t, c, fmt.Sprintf("EXECUTE get(%d)", a))
	sqpWantCode(t, c, "PREPARE bad AS SELECT * FROM no_such_table", "42P01")
	sqpWantCode(t, c, fmt.Sprintf("EXECUTE get(%d)", a), "25P02")
	if tag, err := c.Exec(context.Background(), "COMMIT"); err != nil || tag.String() != "ROLLBACK" {
		t.Fatalf("COMMIT of a failed transaction: %v %v", tag, err)
	}
	// Also before the transaction reached a server.
	sqpExec(t, c, "BEGIN")
	sqpWantCode(t, c, "PREPARE bad AS SELECT nope FROM users", "42703")
	sqpWantCode(t, c, "SELECT 1", "25P02")
	sqpExec(t, c, "ROLLBACK")
	sqpWantCode(t, c, "EXECUTE bad", "26000")
}

func TestSQLPrepareErrorsAndDeallocate(t *testing.T) {
	c := sqpConnect(t, sqpProxy(t, ""))
	ctx := context.Background()

	// The server's error at PREPARE, and the name is not recorded.
	pe := sqpWantCode(t, c, "PREPARE longer_name AS SELECT * FROM no_such_table", "42P01")
	direct, err := pgx.Connect(ctx, cluster.Shards[0].Primary.DSN("app", "app", "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close(ctx)
	_, derr := direct.Exec(ctx, "PREPARE longer_name AS SELECT * FROM no_such_table")
	var dpe *pgconn.PgError
	if !errors.As(derr, &dpe) || dpe.Position != pe.Position || pe.Position == 0 {
		t.Errorf("error position %d, Postgres says %v", pe.Position, derr)
	}
	sqpWantCode(t, c, "PREPARE p AS SELECT no_such_column FROM users", "42703")
	sqpWantCode(t, c, "EXECUTE p", "26000")
	sqpWantCode(t, c, "EXECUTE longer_name", "26000")

	// Then a good one under the same name; a second PREPARE of it is 42P05.
	sqpExec(t, c, "PREPARE p AS SELECT 'p1'")
	sqpWantCode(t, c, "PREPARE p AS SELECT 'p2'", "42P05")
	if got := sqpString(t, c, "EXECUTE p"); got != "p1" {
		t.Fatalf("EXECUTE p: %q", got)
	}

	// Quoted names are compared as written.
	sqpExec(t, c, `PREPARE "Mixed Case"AS SELECT 'mc'`)
	if got := sqpString(t, c, `EXECUTE "Mixed Case"`); got != "mc" {
		t.Fatalf(`EXECUTE "Mixed Case": %q`, got)
	}
	sqpWantCode(t, c, "EXECUTE mixed", "26000")

	// DEALLOCATE forgets; an unknown name is 26000.
	if tag, err := c.Exec(ctx, "DEALLOCATE p"); err != nil || tag.String() != "DEALLOCATE" {
		t.Fatalf("DEALLOCATE p: %v %v", tag, err)
	}
	sqpWantCode(t, c, "EXECUTE p", "26000")
	sqpWantCode(t, c, "DEALLOCATE p", "26000")
	sqpExec(t, c, "PREPARE p AS SELECT 'p3'")
	if got := sqpString(t, c, "EXECUTE p"); got != "p3" {
		t.Fatalf("EXECUTE p after DEALLOCATE and PREPARE: %q", got)
	}
	sqpExec(t, c, "PREPARE q AS SELECT 'q'")
	if tag, err := c.Exec(ctx, "DEALLOCATE PREPARE ALL"); err != nil || tag.String() != "DEALLOCATE ALL" {
		t.Fatalf("DEALLOCATE ALL: %v %v", tag, err)
	}
	sqpWantCode(t, c, "EXECUTE p", "26000")
	sqpWantCode(t, c, "EXECUTE q", "26000")

	// DISCARD ALL forgets them too.
	sqpExec(t, c, "PREPARE p AS SELECT 'p4'")
	sqpExec(t, c, "DISCARD ALL")
	sqpWantCode(t, c, "EXECUTE p", "26000")

	// What the proxy cannot replay is refused with a clear error.
	sqpExec(t, c, "PREPARE p AS SELECT 'p5'")
	for _, sql := range []string{"EXPLAIN EXECUTE p", "EXPLAIN (ANALYZE) EXECUTE p", "CREATE TEMP TABLE t AS EXECUTE p"} {
		if pe := sqpWantCode(t, c, sql, "0A000"); !strings.Contains(pe.Message, "AS EXECUTE") {
			t.Errorf("%s: %s", sql, pe.Message)
		}
	}
	for _, sql := range []string{"PREPARE r AS SELECT 1; SELECT 2", "SELECT 1; EXECUTE p", "DEALLOCATE p; SELECT 1"} {
		if pe := sqpWantCode(t, c, sql, "0A000"); !strings.Contains(pe.Message, "multi-statement") {
			t.Errorf("%s: %s", sql, pe.Message)
		}
	}
	for _, sql := range []string{"PREPARE e AS SELECT 1", "EXECUTE p", "DEALLOCATE ALL"} {
		if err := c.PgConn().ExecParams(ctx, sql, nil, nil, nil, nil).Read().Err; pgCode(err) != "0A000" {
			t.Errorf("%s through the extended protocol: %v", sql, err)
		}
	}
	if got := sqpString(t, c, "EXECUTE p"); got != "p5" {
		t.Fatalf("EXECUTE p: %q", got)
	}
}

// More statements than a server connection keeps: the connection starts
// over, and every statement still runs.
func TestSQLPrepareManyStatements(t *testing.T) {
	c := sqpConnect(t, sqpProxy(t, ""))
	const n = 1100
	for i := 0; i < n; i++ {
		sqpExec(t, c, fmt.Sprintf("PREPARE s%d AS SELECT 'v%d' || $1::text", i, i))
	}
	for i := 0; i < 4; i++ { // whichever connection answers
		var kept int
		if err := c.QueryRow(context.Background(), "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'sgq%'").Scan(&kept); err != nil || kept > 1000 {
			t.Fatalf("a server connection keeps %d statements (%v)", kept, err)
		}
		t.Logf("a server connection keeps %d statements", kept)
	}
	for _, i := range []int{0, 1, 999, 1000, n - 1, 0, 500} {
		if got, want := sqpString(t, c, fmt.Sprintf("EXECUTE s%d('x')", i)), fmt.Sprintf("v%dx", i); got != want {
			t.Fatalf("EXECUTE s%d: %q, want %q", i, got, want)
		}
	}
}
