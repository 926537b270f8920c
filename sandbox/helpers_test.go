package sandbox

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func must(t *testing.T, err error, what ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%v: %v", what, err)
	}
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf(format, args...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func pgConnect(t *testing.T, ctx context.Context, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	must(t, err, "connect")
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func sqlOpen(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	must(t, err, "open")
	t.Cleanup(func() { db.Close() })
	return db
}

// queryString runs a one-value query on n as the admin.
func queryString(t *testing.T, ctx context.Context, n *Node, query string) string {
	t.Helper()
	var s string
	var err error
	switch n.Engine {
	case Postgres:
		var conn *pgx.Conn
		if conn, err = pgx.Connect(ctx, n.AdminDSN(n.c.Database)); err == nil {
			err = conn.QueryRow(ctx, query).Scan(&s)
			conn.Close(ctx)
		}
	case MariaDB:
		var db *sql.DB
		if db, err = sql.Open("mysql", n.AdminDSN(n.c.Database)); err == nil {
			err = db.QueryRowContext(ctx, query).Scan(&s)
			db.Close() // now, while the server is up to hear the goodbye
		}
	default:
		err = errors.New("unknown engine")
	}
	must(t, err, n.Name, query)
	return s
}
