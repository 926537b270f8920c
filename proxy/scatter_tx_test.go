package proxy

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// A cross-shard read inside a transaction that already wrote runs on the
// transaction's connections (joining the other shard), so it sees the
// transaction's own uncommitted rows, as one database would; an error in
// it fails the transaction everywhere.
func TestScatterInsideTransaction(t *testing.T) {
	const lo, hi = 1_700_000, 1_700_099
	cleanUsers(t, lo, hi)
	ctx := context.Background()
	c := connect(t, pgx.QueryExecModeSimpleProtocol)
	if _, err := c.Exec(ctx, "INSERT INTO users (id, name) VALUES (1700001, 'a'), (1700002, 'b'), (1700003, 'c')"); err != nil {
		t.Fatal(err)
	}
	count := func(q pgx.Tx) int64 {
		t.Helper()
		var n int64
		if err := q.QueryRow(ctx, "SELECT count(*) FROM users WHERE id BETWEEN 1700000 AND 1700099").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES (1700010, 'uncommitted')"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "DELETE FROM users WHERE id = 1700002"); err != nil {
		t.Fatal(err)
	}
	if n := count(tx); n != 3 {
		t.Errorf("count inside the transaction: %d, want 3 (its own insert and delete seen)", n)
	}
	var sum int64
	if err := tx.QueryRow(ctx, "SELECT sum(id) FROM users WHERE id BETWEEN 1700000 AND 1700099").Scan(&sum); err != nil || sum != 1700001+1700003+1700010 {
		t.Errorf("sum inside the transaction: %d %v", sum, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := c.QueryRow(ctx, "SELECT count(*) FROM users WHERE id BETWEEN 1700000 AND 1700099").Scan(&n); err != nil || n != 3 {
		t.Errorf("after ROLLBACK: %d %v", n, err)
	}

	// An error on one shard fails the whole transaction.
	tx, err = c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES (1700020, 'x')"); err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(ctx, "SELECT 1 / (id - 1700003) FROM users WHERE id BETWEEN 1700000 AND 1700099")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "22012" {
		t.Fatalf("division by zero on one shard: %v", err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1"); err == nil {
		t.Error("the transaction still runs statements after a failed cross-shard read")
	}
	res, err := c.PgConn().Exec(ctx, "COMMIT").ReadAll()
	if err != nil || res[0].CommandTag.String() != "ROLLBACK" {
		t.Fatalf("COMMIT after the failure: %v %v", res, err)
	}
	if err := c.QueryRow(ctx, "SELECT count(*) FROM users WHERE id = 1700020").Scan(&n); err != nil || n != 0 {
		t.Errorf("the failed transaction's insert: %d %v", n, err)
	}
	wantIdlePools(t)
}
