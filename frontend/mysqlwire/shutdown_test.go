package mysqlwire

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"testing"
	"time"
)

// Shutdown closes idle clients at once and lets a transaction finish.
func TestShutdownDrains(t *testing.T) {
	s, err := NewServer(server.o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(%s)/app", ln.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	idle, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if err := idle.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	inTx, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer inTx.Close()
	for _, q := range []string{"BEGIN", "DELETE FROM t WHERE id = 60", "INSERT INTO t VALUES (60, 'drain')"} {
		if _, err := inTx.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		done <- s.Shutdown(sctx)
	}()
	time.Sleep(200 * time.Millisecond)
	if _, err := idle.ExecContext(ctx, "SELECT 1"); err == nil {
		t.Fatal("an idle client was not closed by Shutdown")
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) while a transaction was open", err)
	default:
	}
	if _, err := inTx.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatalf("COMMIT during the drain: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return after the transaction ended")
	}
	if err := <-served; err != ErrServerClosed {
		t.Fatalf("Serve: %v", err)
	}
	c := conn(t, "")
	if got := one(t, c, "SELECT v FROM t WHERE id = 60"); got != "drain" {
		t.Fatalf("the drained transaction's row: %q", got)
	}
}

// Under session pooling a session keeps its server connection between
// statements and transactions; the next session gets it reset.
func TestSessionPooling(t *testing.T) {
	o := server.o
	o.SessionPooling = true
	s, err := NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	}()
	ctx := context.Background()
	open := func() (*sql.DB, *sql.Conn) {
		db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(%s)/app", ln.Addr()))
		if err != nil {
			t.Fatal(err)
		}
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return db, c
	}
	dbA, a := open()
	execOK(t, a, "SET time_zone = '+03:00'")
	first := one(t, a, "SELECT @@pseudo_thread_id")
	execOK(t, a, "BEGIN")
	execOK(t, a, "COMMIT")
	if again := one(t, a, "SELECT CONCAT(@@pseudo_thread_id, ' ', @@time_zone)"); again != first+" +03:00" {
		t.Fatalf("the session's connection changed: %s, then %s", first, again)
	}
	a.Close()
	dbA.Close()
	dbB, b := open()
	defer dbB.Close()
	defer b.Close()
	if tz := one(t, b, "SELECT @@time_zone"); tz == "+03:00" {
		t.Fatal("the next session sees the time zone of the one before")
	}
}
