package mysqltest

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// LAST_INSERT_ID() answers from the client's own inserts, though 50
// clients share 4 server connections (2 per shard).
func TestLastInsertIDPerClient(t *testing.T) {
	const clients, rounds = 50, 4
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			params := ""
			if i%2 == 1 {
				params = "interpolateParams=true"
			}
			c := conn(t, params)
			ctx := context.Background()
			for r := range rounds {
				note := fmt.Sprintf("client %d round %d", i, r)
				res, err := c.ExecContext(ctx, "INSERT INTO events (user_id, note) VALUES (?, ?)", 100+i, note)
				if err != nil {
					t.Error(err)
					return
				}
				id, _ := res.LastInsertId()
				var got int64
				if err := c.QueryRowContext(ctx, "SELECT LAST_INSERT_ID()").Scan(&got); err != nil {
					t.Error(err)
					return
				}
				if got != id || id == 0 {
					t.Errorf("client %d: LAST_INSERT_ID() = %d, the insert said %d", i, got, id)
					return
				}
				var back string
				if err := c.QueryRowContext(ctx, "SELECT note FROM events WHERE user_id = ? AND id = LAST_INSERT_ID()", 100+i).Scan(&back); err != nil || back != note {
					t.Errorf("client %d: row of LAST_INSERT_ID(): %q %v", i, back, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// KILL QUERY with the id a client got at login cancels that client's
// statement on its server; the client's session goes on.
func TestKillQuery(t *testing.T) {
	ctx := context.Background()
	a, b := conn(t, "interpolateParams=true"), conn(t, "")
	id := idsOnEachShard(t, 8000)[1]
	aid := one(t, a, "SELECT CONNECTION_ID()")
	done := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		var s string
		a.QueryRowContext(ctx, "SELECT SLEEP(20) FROM products WHERE id = 1 AND ? > 0", id).Scan(&s)
		done <- time.Since(start)
	}()
	time.Sleep(300 * time.Millisecond)
	execOK(t, b, "KILL QUERY "+aid)
	select {
	case d := <-done:
		if d > 10*time.Second || d < 250*time.Millisecond {
			t.Fatalf("the statement ran %s: not stopped by the KILL", d)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("KILL QUERY did not stop the statement")
	}
	if got := one(t, a, "SELECT 'alive'"); got != "alive" {
		t.Fatal(got)
	}
	_, err := b.ExecContext(ctx, "KILL QUERY 999999")
	wantMySQLError(t, err, 1094, "HY000")
	if n, _ := strconv.Atoi(aid); n == 0 {
		t.Fatalf("CONNECTION_ID() = %q", aid)
	}
}

// Without a database, statements that name no table still run.
func TestNoDatabase(t *testing.T) {
	db := openDSN(t, "app:app@tcp("+addr+")/")
	var n int
	if err := db.QueryRow("SELECT 1 + 1").Scan(&n); err != nil || n != 2 {
		t.Fatalf("SELECT 1 + 1: %d %v", n, err)
	}
	_, err := db.Exec("SELECT * FROM users")
	wantMySQLError(t, err, 1046, "3D000")
}

// A SELECT of no table first in a transaction does not fix the
// transaction's shard: the first write does.
func TestTransactionStartsWithVariableRead(t *testing.T) {
	ctx := context.Background()
	c := conn(t, "")
	for _, id := range idsOnEachShard(t, 9000) {
		execOK(t, c, "DELETE FROM users WHERE id = ?", id)
		tx, err := c.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var iso string
		if err := tx.QueryRow("SELECT @@tx_isolation").Scan(&iso); err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
		if _, err := tx.Exec("INSERT INTO users VALUES (?, 'tx')", id); err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if got := one(t, c, "SELECT name FROM users WHERE id = ?", id); got != "tx" {
			t.Fatalf("id %d: %q", id, got)
		}
	}
}

// A server connection lost inside a transaction ends the client's
// connection too (its transaction is gone); outside one the client goes
// on.
func TestLostServerConnection(t *testing.T) {
	ctx := context.Background()
	id := idsOnEachShard(t, 11000)[0]
	killServerConn := func(c *sql.Conn) {
		t.Helper()
		var tid string
		// In the transaction: on its server connection.
		if err := c.QueryRowContext(ctx, "SELECT @@pseudo_thread_id").Scan(&tid); err != nil {
			t.Fatal(err)
		}
		if _, err := direct(t, 0).ExecContext(ctx, "KILL "+tid); err != nil {
			t.Fatal(err)
		}
	}
	c := conn(t, "")
	execOK(t, c, "BEGIN")
	execOK(t, c, "DELETE FROM users WHERE id = ?", id)
	killServerConn(c)
	if _, err := c.ExecContext(ctx, "SELECT * FROM users WHERE id = ?", id); err == nil {
		t.Fatal("a statement on a killed server connection succeeded")
	}
	if _, err := c.ExecContext(ctx, "SELECT 1"); err == nil {
		t.Fatal("the client's connection survived the loss of its transaction")
	}
}

// UPDATE reports changed rows, or matched rows for a client that asked
// for CLIENT_FOUND_ROWS (as Connector/J does by default).
func TestFoundRows(t *testing.T) {
	id := idsOnEachShard(t, 12000)[1]
	for _, tc := range []struct {
		params string
		want   int64
	}{{"", 0}, {"clientFoundRows=true", 1}} {
		c := conn(t, tc.params)
		execOK(t, c, "DELETE FROM users WHERE id = ?", id)
		execOK(t, c, "INSERT INTO users VALUES (?, 'same')", id)
		r := execOK(t, c, "UPDATE users SET name = 'same' WHERE id = ?", id)
		if n, _ := r.RowsAffected(); n != tc.want {
			t.Fatalf("%q: rows affected %d, want %d", tc.params, n, tc.want)
		}
	}
}

// ROW_COUNT() and FOUND_ROWS() answer from the client's own statements,
// whatever server connection they ran on.
func TestRowCountAndFoundRows(t *testing.T) {
	c := conn(t, "interpolateParams=true")
	ids := idsOnEachShard(t, 13000)
	execOK(t, c, "DELETE FROM orders WHERE user_id = ?", ids[0])
	execOK(t, c, "INSERT INTO orders (id, user_id, amount) VALUES (?, ?, 1), (?, ?, 2), (?, ?, 3)", ids[0]*10, ids[0], ids[0]*10+1, ids[0], ids[0]*10+2, ids[0])
	if got := one(t, c, "SELECT ROW_COUNT()"); got != "3" {
		t.Fatalf("ROW_COUNT() after a 3-row insert: %s", got)
	}
	// Another shard's statement in between does not change them.
	one(t, c, "SELECT COUNT(*) FROM users WHERE id = ?", ids[1])
	if got := one(t, c, "SELECT ROW_COUNT()"); got != "-1" {
		t.Fatalf("ROW_COUNT() after a SELECT: %s", got)
	}
	rows, err := c.QueryContext(context.Background(), "SELECT SQL_CALC_FOUND_ROWS id FROM orders WHERE user_id = ? ORDER BY id LIMIT 1", ids[0])
	if err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if got := one(t, c, "SELECT FOUND_ROWS()"); got != "3" {
		t.Fatalf("FOUND_ROWS() after SQL_CALC_FOUND_ROWS: %s", got)
	}
}

// A temporary table or a named lock pins the client to its server
// connection: later statements see them; other clients do not.
func TestPins(t *testing.T) {
	a, b := conn(t, ""), conn(t, "")
	execOK(t, a, "CREATE TEMPORARY TABLE tmp_pin (x INT)")
	execOK(t, a, "INSERT INTO tmp_pin VALUES (7)")
	for range 3 {
		if got := one(t, a, "SELECT x FROM tmp_pin"); got != "7" {
			t.Fatalf("temporary table: %q", got)
		}
		// (A pinned session stays on its connection's shard: a statement
		// for another shard is refused, clearly.)
		one(t, a, "SELECT name FROM products WHERE id = 1")
	}
	if _, err := b.ExecContext(context.Background(), "SELECT x FROM tmp_pin"); err == nil {
		t.Fatal("another client sees the temporary table")
	}
	execOK(t, a, "DROP TEMPORARY TABLE tmp_pin")
	if got := one(t, b, "SELECT GET_LOCK('shardgate_pin_test', 0)"); got != "1" {
		t.Fatalf("GET_LOCK: %s", got)
	}
	for range 3 {
		one(t, b, "SELECT name FROM products WHERE id = 1")
	}
	if got := one(t, b, "SELECT RELEASE_LOCK('shardgate_pin_test')"); got != "1" {
		t.Fatalf("RELEASE_LOCK on the session's own connection: %s", got)
	}
	c := conn(t, "")
	execOK(t, c, "LOCK TABLES products READ")
	for range 3 {
		if got := one(t, c, "SELECT name FROM products WHERE id = 2"); got != "mouse" {
			t.Fatalf("under LOCK TABLES: %q", got)
		}
	}
	execOK(t, c, "UNLOCK TABLES")
	for _, q := range []string{"PREPARE s FROM 'SELECT 1'", "XA START 'x'", "FLUSH TABLES WITH READ LOCK"} {
		_, err := c.ExecContext(context.Background(), q)
		wantMySQLError(t, err, 1235, "42000")
	}
}

// A SAVEPOINT before the transaction's first statement does not fix its
// shard, and works.
func TestSavepointFirst(t *testing.T) {
	c := conn(t, "")
	for _, id := range idsOnEachShard(t, 15000) {
		execOK(t, c, "DELETE FROM orders WHERE user_id = ?", id)
		execOK(t, c, "BEGIN")
		execOK(t, c, "SAVEPOINT a")
		execOK(t, c, "INSERT INTO orders (id, user_id, amount) VALUES (?, ?, 1)", id*10, id)
		execOK(t, c, "ROLLBACK TO SAVEPOINT a")
		execOK(t, c, "INSERT INTO orders (id, user_id, amount) VALUES (?, ?, 2)", id*10+1, id)
		execOK(t, c, "COMMIT")
		if got := one(t, c, "SELECT GROUP_CONCAT(amount) FROM orders WHERE user_id = ?", id); got != "2.00" {
			t.Fatalf("user %d: %q", id, got)
		}
	}
}

// SHOW DATABASES lists the keyspaces; DATABASE() is the keyspace.
func TestShowDatabases(t *testing.T) {
	out, err := mariadbCLI(t, "app", "-e", "SHOW DATABASES; SELECT DATABASE();")
	if err != nil || strings.Join(strings.Fields(out), " ") != "information_schema app app" {
		t.Fatalf("%v: %q", err, out)
	}
}

// autocommit=0 (PyMySQL's default): every read opens a transaction; an
// application reading on both shards before its COMMIT is served, and its
// write on one shard commits; ROLLBACK undoes it.
func TestAutocommitOffReadsBothShards(t *testing.T) {
	c := conn(t, "interpolateParams=true")
	other := conn(t, "")
	ids := idsOnEachShard(t, 16000)
	for _, id := range ids {
		execOK(t, c, "DELETE FROM users WHERE id = ?", id)
	}
	execOK(t, c, "SET autocommit = 0")
	for _, end := range []string{"ROLLBACK", "COMMIT"} {
		one(t, c, "SELECT COUNT(*) FROM users WHERE id = ?", ids[0])
		one(t, c, "SELECT COUNT(*) FROM users WHERE id = ?", ids[1])
		execOK(t, c, "INSERT INTO users VALUES (?, ?)", ids[1], end)
		one(t, c, "SELECT COUNT(*) FROM users WHERE id = ?", ids[0])
		if got := one(t, other, "SELECT COUNT(*) FROM users WHERE id = ?", ids[1]); got != "0" {
			t.Fatalf("uncommitted row seen: %s", got)
		}
		_, err := c.ExecContext(context.Background(), "SET autocommit = 1")
		wantMySQLError(t, err, 1235, "42000")
		_, err = c.ExecContext(context.Background(), "SAVEPOINT s")
		wantMySQLError(t, err, 1235, "42000")
		execOK(t, c, end)
	}
	if got := one(t, other, "SELECT name FROM users WHERE id = ?", ids[1]); got != "COMMIT" {
		t.Fatalf("after COMMIT: %q", got)
	}
	if got := one(t, c, "SELECT @@autocommit"); got != "0" {
		t.Fatalf("autocommit: %s", got)
	}
	execOK(t, c, "COMMIT")
}
