package mysqltest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Reads on several shards inside a transaction (session_scatter.go's
// scatterInTx): each shard's part reads on the transaction's connection
// there, so the read sees the transaction's own uncommitted rows; a shard
// the transaction had not reached is joined as a write would join it (an
// XA branch), so that COMMIT commits and ROLLBACK undoes everything, and
// no XA branch is left prepared.

// scatterTxRead is the cross-shard read of the tests: the count, the sum
// and the ids in order of the users among ids (on both shards).
func scatterTxRead(t *testing.T, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, ids []int64, prepared bool) (count, sum int64, ordered string) {
	t.Helper()
	ctx := context.Background()
	in := ""
	args := make([]any, len(ids))
	for i, id := range ids {
		if i > 0 {
			in += ", "
		}
		if prepared {
			in += "?"
			args[i] = id
		} else {
			in += fmt.Sprint(id)
		}
	}
	if !prepared {
		args = nil
	}
	var s sql.NullInt64
	if err := q.QueryRowContext(ctx, "SELECT COUNT(*), SUM(id) FROM users WHERE id IN ("+in+")", args...).Scan(&count, &s); err != nil {
		t.Fatalf("count and sum: %v", err)
	}
	rows, err := q.QueryContext(ctx, "SELECT id, name FROM users WHERE id IN ("+in+") ORDER BY name DESC, id", args...)
	if err != nil {
		t.Fatalf("ordered read: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			t.Fatal(err)
		}
		ordered += fmt.Sprintf("%s:%d ", name, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("ordered read: %v", err)
	}
	return count, s.Int64, ordered
}

// In a transaction (BEGIN; with autocommit off; with the driver's
// BeginTx), text and prepared: a row inserted on one shard is seen by a
// count, a sum and an ORDER BY read of both shards before COMMIT; a
// second connection does not see it; ROLLBACK undoes it, COMMIT keeps it
// (and one more written on the other shard after the read: XA).
func TestScatterInTransaction(t *testing.T) {
	ctx := context.Background()
	for k, shape := range []struct {
		name     string
		begin    string // "" : SET autocommit = 0 (PyMySQL's default)
		prepared bool
	}{
		{"begin text", "BEGIN", false},
		{"start transaction prepared", "START TRANSACTION", true},
		{"autocommit off text", "", false},
		{"autocommit off prepared", "", true},
	} {
		t.Run(shape.name, func(t *testing.T) {
			ids := idsOnEachShard(t, 9300+int64(k)*100)
			// A third id on shard 0, inserted in the transaction.
			extra := ids[0] + 1
			for shardOf(t, extra) != 0 {
				extra++
			}
			all := []int64{ids[0], ids[1], extra}
			setup := conn(t, "")
			cleanup := func() {
				execOK(t, setup, fmt.Sprintf("DELETE FROM users WHERE id IN (%d, %d, %d)", ids[0], ids[1], extra))
			}
			cleanup()
			defer cleanup()
			execOK(t, setup, "INSERT INTO users VALUES (?, 'a0'), (?, 'a1')", ids[0], ids[1])
			for _, end := range []string{"ROLLBACK", "COMMIT"} {
				c := conn(t, "")
				if shape.begin == "" {
					execOK(t, c, "SET autocommit = 0")
				} else {
					execOK(t, c, shape.begin)
				}
				execOK(t, c, "INSERT INTO users VALUES (?, 'z')", extra)
				n, sum, ordered := scatterTxRead(t, c, all, shape.prepared)
				if want := fmt.Sprintf("z:%d a1:%d a0:%d ", extra, ids[1], ids[0]); n != 3 || sum != ids[0]+ids[1]+extra || ordered != want {
					t.Fatalf("in the transaction: count %d sum %d rows %q; want 3, %d, %q", n, sum, ordered, ids[0]+ids[1]+extra, want)
				}
				if n, _, _ := scatterTxRead(t, setup, all, false); n != 2 {
					t.Fatalf("another connection sees %d rows before %s, want 2", n, end)
				}
				// A write on the other shard after the read (its part is
				// the read's XA branch there).
				execOK(t, c, "UPDATE users SET name = 'b1' WHERE id = ?", ids[1])
				if _, _, ordered := scatterTxRead(t, c, all, shape.prepared); ordered != fmt.Sprintf("z:%d b1:%d a0:%d ", extra, ids[1], ids[0]) {
					t.Fatalf("after the update: %q", ordered)
				}
				execOK(t, c, end)
				if shape.begin == "" {
					execOK(t, c, "SET autocommit = 1")
				}
				n, _, ordered = scatterTxRead(t, setup, all, false)
				want := fmt.Sprintf("a1:%d a0:%d ", ids[1], ids[0])
				wantN := int64(2)
				if end == "COMMIT" {
					want, wantN = fmt.Sprintf("z:%d b1:%d a0:%d ", extra, ids[1], ids[0]), 3
				}
				if n != wantN || ordered != want {
					t.Fatalf("after %s: %d rows %q, want %d %q", end, n, ordered, wantN, want)
				}
				c.Close()
			}
			if got := countOn(t, 0, "SELECT COUNT(*) FROM users WHERE id = ?", extra); got != "1" {
				t.Fatalf("the committed row on shard 0: %s", got)
			}
			if got := countOn(t, 1, "SELECT name FROM users WHERE id = ?", ids[1]); got != "b1" {
				t.Fatalf("the committed update on shard 1: %s", got)
			}
			noPreparedBranches(t)
		})
	}
	// The driver's own transaction (BeginTx), prepared reads.
	ids := idsOnEachShard(t, 9800)
	setup := conn(t, "")
	execOK(t, setup, "DELETE FROM users WHERE id IN (?, ?)", ids[0], ids[1])
	defer execOK(t, setup, "DELETE FROM users WHERE id IN (?, ?)", ids[0], ids[1])
	c := conn(t, "")
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO users VALUES (?, 'tx')", ids[1]); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := scatterTxRead(t, tx, ids[:], true); n != 1 {
		t.Fatalf("BeginTx: %d rows, want 1", n)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := scatterTxRead(t, setup, ids[:], false); n != 0 {
		t.Fatalf("after the driver's rollback: %d rows", n)
	}
	noPreparedBranches(t)
}

// An error on one shard's part of a read inside a transaction (a lock
// wait timeout there: shard 1's users is locked by a direct connection,
// LOCK TABLES … WRITE) fails the statement only, as MariaDB does on one
// server: the transaction stays open on both shards, still sees its own
// row, and its COMMIT commits it. A KILL QUERY of such a read reaches
// its waiting part (1317), and the transaction goes on too.
func TestScatterInTransactionError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ids := idsOnEachShard(t, 9900)
	setup := conn(t, "")
	execOK(t, setup, "DELETE FROM users WHERE id IN (?, ?)", ids[0], ids[1])
	defer execOK(t, setup, "DELETE FROM users WHERE id IN (?, ?)", ids[0], ids[1])
	execOK(t, setup, "INSERT INTO users VALUES (?, 'theirs')", ids[1])
	lock, err := direct(t, 1).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	c := conn(t, "")
	execOK(t, c, "SET SESSION lock_wait_timeout = 1")
	execOK(t, c, "BEGIN")
	execOK(t, c, "INSERT INTO users VALUES (?, 'mine')", ids[0])
	if _, err := lock.ExecContext(ctx, "LOCK TABLES users WRITE"); err != nil {
		t.Fatal(err)
	}
	defer lock.ExecContext(context.Background(), "UNLOCK TABLES") //nolint:errcheck // closing the connection unlocks too
	q := fmt.Sprintf("SELECT COUNT(*) FROM users WHERE id IN (%d, %d)", ids[0], ids[1])
	var n int
	err = c.QueryRowContext(ctx, q).Scan(&n)
	wantMySQLError(t, err, 1205, "HY000")
	if got := one(t, c, "SELECT @@in_transaction"); got != "1" {
		t.Fatalf("after the error: in_transaction %s", got)
	}
	// KILL QUERY reaches the part waiting for the lock.
	execOK(t, c, "SET SESSION lock_wait_timeout = 30")
	killer := conn(t, "")
	id := one(t, c, "SELECT CONNECTION_ID()")
	done := make(chan error, 1)
	go func() { done <- c.QueryRowContext(ctx, q).Scan(&n) }()
	select {
	case err := <-done:
		t.Fatalf("the read did not wait for the lock: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	execOK(t, killer, "KILL QUERY "+id)
	select {
	case err := <-done:
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1317 {
			t.Fatalf("the killed read: %v, want error 1317", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("KILL QUERY did not stop the read inside the transaction")
	}
	if _, err := lock.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
		t.Fatal(err)
	}
	// The transaction goes on, on both shards, and sees its own row.
	if got := one(t, c, q); got != "2" {
		t.Fatalf("after the errors, the transaction reads %s rows, want 2", got)
	}
	execOK(t, c, "COMMIT")
	if got := countOn(t, 0, "SELECT name FROM users WHERE id = ?", ids[0]); got != "mine" {
		t.Fatalf("the committed row: %q", got)
	}
	noPreparedBranches(t)
}

// A READ ONLY transaction whose first statement reads both shards joins
// each with a plain READ ONLY transaction (XA START cannot carry READ
// ONLY): a write on either shard afterwards is the server's 1792, and
// no decision row is written.
func TestScatterInReadOnlyTransaction(t *testing.T) {
	ids := idsOnEachShard(t, 9970)
	setup := conn(t, "")
	execOK(t, setup, "DELETE FROM users WHERE id IN (?, ?)", ids[0], ids[1])
	defer execOK(t, setup, "DELETE FROM users WHERE id IN (?, ?)", ids[0], ids[1])
	execOK(t, setup, "INSERT INTO users VALUES (?, 'r0'), (?, 'r1')", ids[0], ids[1])
	decisions := func() string {
		return countOn(t, 0, "SELECT COUNT(*) FROM shardgate_2pc") + "+" + countOn(t, 1, "SELECT COUNT(*) FROM shardgate_2pc")
	}
	before := decisions()
	c := conn(t, "")
	execOK(t, c, "START TRANSACTION READ ONLY")
	if n, _, ordered := scatterTxRead(t, c, ids[:], true); n != 2 || ordered != fmt.Sprintf("r1:%d r0:%d ", ids[1], ids[0]) {
		t.Fatalf("read: %d %q", n, ordered)
	}
	for sh := range 2 {
		_, err := c.ExecContext(context.Background(), "UPDATE users SET name = 'w' WHERE id = ?", ids[sh])
		wantMySQLError(t, err, 1792, "25006")
	}
	execOK(t, c, "COMMIT")
	if after := decisions(); after != before {
		t.Errorf("decision rows %s before, %s after: the READ ONLY read joined with XA", before, after)
	}
	noPreparedBranches(t)
}
