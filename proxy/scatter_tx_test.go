package proxy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/config"
)

// A cross-shard read inside a transaction that already wrote runs on the
// transaction's connections (joining the other shard), so it sees the
// transaction's own uncommitted rows, as one database would; an error in
// it fails the transaction everywhere. Through the simple protocol and
// every extended mode of pgx (parameters, Describe, binary results), and
// pipelined with writes in one batch.
func TestScatterInsideTransaction(t *testing.T) {
	for i, name := range slices.Sorted(maps.Keys(modes)) {
		t.Run(name, func(t *testing.T) {
			scatterInsideTransaction(t, modes[name], 1_700_000+int64(i)*1000)
		})
	}
}

func scatterInsideTransaction(t *testing.T, mode pgx.QueryExecMode, lo int64) {
	hi := lo + 99
	cleanUsers(t, lo, hi)
	ctx := context.Background()
	c := connect(t, mode)
	if _, err := c.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'a'), ($2, 'b'), ($3, 'c')", lo+1, lo+2, lo+3); err != nil {
		t.Fatal(err)
	}
	count := func(q interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}) int64 {
		t.Helper()
		var n int64
		if err := q.QueryRow(ctx, "SELECT count(*) FROM users WHERE id BETWEEN $1 AND $2", lo, hi).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'uncommitted')", lo+10); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "DELETE FROM users WHERE id = $1", lo+2); err != nil {
		t.Fatal(err)
	}
	if n := count(tx); n != 3 {
		t.Errorf("count inside the transaction: %d, want 3 (its own insert and delete seen)", n)
	}
	var sum int64
	if err := tx.QueryRow(ctx, "SELECT sum(id) FROM users WHERE id BETWEEN $1 AND $2", lo, hi).Scan(&sum); err != nil || sum != 3*lo+1+3+10 {
		t.Errorf("sum inside the transaction: %d %v", sum, err)
	}
	// Rows, merged in order, text and integer columns.
	rows, _ := tx.Query(ctx, "SELECT id, name FROM users WHERE id BETWEEN $1 AND $2 ORDER BY id DESC", lo, hi)
	type user struct {
		ID   int64
		Name string
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[user])
	want := []user{{lo + 10, "uncommitted"}, {lo + 3, "c"}, {lo + 1, "a"}}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("rows inside the transaction: %v %v, want %v", got, err, want)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(c); n != 3 {
		t.Errorf("after ROLLBACK: %d", n)
	}

	// A write and cross-shard reads pipelined in one batch, in the
	// transaction: the reads see the write; then COMMIT (two-phase).
	// (pgx sends a batch in the simple protocol as one multi-statement
	// text, which may not span shards.)
	pipelined := mode != pgx.QueryExecModeSimpleProtocol
	if pipelined {
		scatterBatchInTx(t, c, lo, hi)
	}
	if n := count(c); n != 5 && pipelined || n != 3 && !pipelined {
		t.Errorf("after the batch's COMMIT: %d", n)
	}

	// An error on one shard fails the whole transaction.
	tx, err = c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'x')", lo+20); err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(ctx, "SELECT 1 / (id - $3) FROM users WHERE id BETWEEN $1 AND $2", lo, hi, lo+3)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "22012" {
		t.Fatalf("division by zero on one shard: %v", err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1"); err == nil {
		t.Error("the transaction still runs statements after a failed cross-shard read")
	}
	// A cross-shard read prepared before (pgx's statement cache) is
	// refused as Postgres refuses anything in a failed transaction.
	_, err = tx.Exec(ctx, "SELECT count(*) FROM users WHERE id BETWEEN $1 AND $2", lo, hi)
	if !errors.As(err, &pe) || pe.Code != "25P02" {
		t.Errorf("a cross-shard read in the failed transaction: %v, want 25P02", err)
	}
	res, err := c.PgConn().Exec(ctx, "COMMIT").ReadAll()
	if err != nil || res[0].CommandTag.String() != "ROLLBACK" {
		t.Fatalf("COMMIT after the failure: %v %v", res, err)
	}
	var n int64
	if err := c.QueryRow(ctx, "SELECT count(*) FROM users WHERE id = $1", lo+20).Scan(&n); err != nil || n != 0 {
		t.Errorf("the failed transaction's insert: %d %v", n, err)
	}

	if pipelined {
		scatterBatchFailsInTx(t, c, lo, hi)
	}
	if n := count(c); n != 5 && pipelined || n != 3 && !pipelined {
		t.Errorf("after the failed transaction: %d", n)
	}

	// Still refused at REPEATABLE READ: each shard would read its own
	// snapshot.
	tx, err = c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'rr')", lo+40); err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(ctx, "SELECT count(*) FROM users WHERE id BETWEEN $1 AND $2", lo, hi)
	if !errors.As(err, &pe) || pe.Code != "0A000" {
		t.Errorf("a cross-shard read at REPEATABLE READ: %v, want 0A000", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// And after a savepoint (a ROLLBACK TO would reach one shard).
	tx, err = c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'sp')", lo+41); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SAVEPOINT s1"); err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(ctx, "SELECT count(*) FROM users WHERE id BETWEEN $1 AND $2", lo, hi)
	if !errors.As(err, &pe) || pe.Code != "0A000" {
		t.Errorf("a cross-shard read after a savepoint: %v, want 0A000", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	wantNonePrepared(t)
	wantIdlePools(t)
}

// scatterBatchInTx pipelines writes and cross-shard reads in one batch in a
// transaction, and commits.
func scatterBatchInTx(t *testing.T, c *pgx.Conn, lo, hi int64) {
	t.Helper()
	ctx := context.Background()
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'first')", lo+30); err != nil {
		t.Fatal(err)
	}
	b := &pgx.Batch{}
	b.Queue("INSERT INTO users (id, name) VALUES ($1, 'batch')", lo+31)
	b.Queue("SELECT count(*) FROM users WHERE id BETWEEN $1 AND $2", lo, hi)
	b.Queue("UPDATE users SET name = 'batch2' WHERE id = $1", lo+1)
	b.Queue("SELECT count(*) FROM users WHERE name LIKE 'batch%' AND id BETWEEN $1 AND $2", lo, hi)
	br := tx.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		t.Fatal(err)
	}
	var n1, n2 int64
	if err := br.QueryRow().Scan(&n1); err != nil || n1 != 5 {
		t.Errorf("count in the batch: %d %v, want 5", n1, err)
	}
	if _, err := br.Exec(); err != nil {
		t.Fatal(err)
	}
	if err := br.QueryRow().Scan(&n2); err != nil || n2 != 2 {
		t.Errorf("count of the batch's rows in the batch: %d %v, want 2", n2, err)
	}
	if err := br.Close(); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM users WHERE id BETWEEN $1 AND $2", lo, hi).Scan(&n); err != nil || n != 5 {
		t.Errorf("count after the batch: %d %v, want 5", n, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// scatterBatchFailsInTx: a cross-shard read that fails on one shard in a
// pipelined batch fails the transaction; the rest of the batch is skipped.
func scatterBatchFailsInTx(t *testing.T, c *pgx.Conn, lo, hi int64) {
	t.Helper()
	ctx := context.Background()
	var pe *pgconn.PgError
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := &pgx.Batch{}
	b.Queue("INSERT INTO users (id, name) VALUES ($1, 'y')", lo+21)
	b.Queue("SELECT 1 / (id - $3) FROM users WHERE id BETWEEN $1 AND $2", lo, hi, lo+3)
	b.Queue("INSERT INTO users (id, name) VALUES ($1, 'z')", lo+22)
	err = tx.SendBatch(ctx, b).Close()
	if !errors.As(err, &pe) || pe.Code != "22012" {
		t.Fatalf("division by zero in a batch: %v", err)
	}
	if err := tx.Commit(ctx); !errors.Is(err, pgx.ErrTxCommitRollback) {
		t.Errorf("COMMIT after the failed batch: %v, want a rollback", err)
	}

	// A write that fails before a cross-shard read in the batch: the read
	// is skipped, as Postgres would skip it.
	tx, err = c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'w')", lo+23); err != nil {
		t.Fatal(err)
	}
	b = &pgx.Batch{}
	b.Queue("INSERT INTO users (id, name) VALUES ($1, 'dup')", lo+1)
	b.Queue("SELECT count(*) FROM users WHERE id BETWEEN $1 AND $2", lo, hi)
	br := tx.SendBatch(ctx, b)
	if _, err := br.Exec(); !errors.As(err, &pe) || pe.Code != "23505" {
		t.Fatalf("duplicate key in a batch: %v", err)
	}
	var n int64
	if err := br.QueryRow().Scan(&n); err == nil {
		t.Errorf("the cross-shard read after the failed write ran: %d", n)
	}
	br.Close()
	if err := tx.Commit(ctx); !errors.Is(err, pgx.ErrTxCommitRollback) {
		t.Errorf("COMMIT after the failed batch: %v, want a rollback", err)
	}
}

// A merge error (too many groups) in a cross-shard read inside a
// transaction fails it on every shard, as a shard's error does: the
// shards' transactions are still open when the merge gives up.
func TestScatterInsideTransactionMergeError(t *testing.T) {
	p, url, _ := startProxyP(t, func(c *config.Config) { c.Limits.MaxMergeGroups = 2 })
	ctx := context.Background()
	for i, name := range slices.Sorted(maps.Keys(modes)) {
		t.Run(name, func(t *testing.T) {
			lo := 1_710_000 + int64(i)*1000
			hi := lo + 99
			cleanUsers(t, lo, hi)
			c := dialMode(t, url, modes[name])
			tx, err := c.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for id := lo + 1; id <= lo+4; id++ {
				if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, $2)", id, fmt.Sprint("n", id)); err != nil {
					t.Fatal(err)
				}
			}
			rows, _ := tx.Query(ctx, "SELECT name, count(*) FROM users WHERE id BETWEEN $1 AND $2 GROUP BY name", lo, hi)
			rows.Close()
			var pe *pgconn.PgError
			if err := rows.Err(); !errors.As(err, &pe) || pe.Code != "53200" {
				t.Fatalf("too many groups: %v, want 53200", err)
			}
			if _, err := tx.Exec(ctx, "SELECT 1"); err == nil {
				t.Error("the transaction still runs statements after a failed merge")
			}
			if err := tx.Commit(ctx); !errors.Is(err, pgx.ErrTxCommitRollback) {
				t.Errorf("COMMIT after the failed merge: %v, want a rollback", err)
			}
			var n int64
			if err := c.QueryRow(ctx, "SELECT count(*) FROM users WHERE id BETWEEN $1 AND $2", lo, hi).Scan(&n); err != nil || n != 0 {
				t.Errorf("the failed transaction's inserts: %d %v", n, err)
			}
		})
	}
	wantNonePrepared(t)
	waitIdle(t, time.Second, p)
}

// With two-phase commit off a cross-shard read inside a transaction that
// reached a server stays refused, in every protocol mode.
func TestScatterInsideTransactionTwoPhaseOff(t *testing.T) {
	url, _ := startProxy(t, func(c *config.Config) { c.Transactions.TwoPhaseCommit = config.TwoPhaseOff })
	ctx := context.Background()
	for i, name := range slices.Sorted(maps.Keys(modes)) {
		t.Run(name, func(t *testing.T) {
			lo := 1_720_000 + int64(i)*1000
			cleanUsers(t, lo, lo+99)
			c := dialMode(t, url, modes[name])
			tx, err := c.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'off')", lo+1); err != nil {
				t.Fatal(err)
			}
			_, err = tx.Exec(ctx, "SELECT count(*) FROM users WHERE id BETWEEN $1 AND $2", lo, lo+99)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "0A000" {
				t.Errorf("a cross-shard read with two-phase commit off: %v, want 0A000", err)
			}
			if err := tx.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}
