package mysqlwire

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// With RequireTLS, a client in clear text is refused at login; over TLS
// it works.
func TestRequireTLS(t *testing.T) {
	o := server.o
	o.RequireTLS = true
	s, err := NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	}()
	for _, tc := range []struct {
		params string
		ok     bool
	}{{"", false}, {"?tls=skip-verify", true}} {
		db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(%s)/app%s", ln.Addr(), tc.params))
		if err != nil {
			t.Fatal(err)
		}
		err = db.Ping()
		db.Close()
		if tc.ok && err != nil {
			t.Fatalf("over TLS: %v", err)
		}
		var me *mysql.MySQLError
		if !tc.ok && (!errors.As(err, &me) || !strings.Contains(me.Message, "TLS")) {
			t.Fatalf("in clear text: %v", err)
		}
	}
}

// A client idle past IdleTimeout is closed; one idle inside a
// transaction gets IdleInTxTimeout instead.
func TestIdleTimeouts(t *testing.T) {
	o := server.o
	o.IdleTimeout = 300 * time.Millisecond
	o.IdleInTxTimeout = 3 * time.Second
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
	inTx, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inTx.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := inTx.ExecContext(ctx, "SELECT * FROM t"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	start := time.Now()
	_, err = idle.ExecContext(ctx, "SELECT 1")
	var me *mysql.MySQLError
	if err == nil || errors.As(err, &me) || time.Since(start) > time.Second {
		t.Fatalf("a client idle past the idle timeout was not closed: %v", err)
	}
	if _, err := inTx.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatalf("a client in a transaction was closed before its longer timeout: %v", err)
	}
	idle.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck // drop the dead connection
	inTx.Close()
}

// A clear-text client's message over MaxMessageSize is refused with 1153
// and its connection closed; other clients go on.
func TestMessageTooBig(t *testing.T) {
	o := server.o
	o.MaxMessageSize = 1 << 20
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
	db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(%s)/app", ln.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var n int
	if err := c.QueryRowContext(ctx, "SELECT LENGTH('"+strings.Repeat("x", 1000)+"')").Scan(&n); err != nil || n != 1000 {
		t.Fatalf("small: %d %v", n, err)
	}
	err = c.QueryRowContext(ctx, "SELECT LENGTH('"+strings.Repeat("x", 2<<20)+"')").Scan(&n)
	// The ERR packet (1153) is sent before the close, but a client still
	// writing may see the reset first.
	var me *mysql.MySQLError
	if err == nil || errors.As(err, &me) && me.Number != 1153 {
		t.Fatalf("big: %v", err)
	}
	if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil || n != 1 {
		t.Fatalf("after: %d %v", n, err)
	}
}

// Over TLS (required here, so no client gets by in clear text) the proxy
// still reads the client's packets: unsigned prepared-statement
// parameters arrive unsigned, and a message over MaxMessageSize is
// refused with 1153.
func TestTLSClientPackets(t *testing.T) {
	o := server.o
	o.RequireTLS = true
	o.MaxMessageSize = 1 << 20
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
	db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(%s)/app?tls=skip-verify", ln.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, v := range []uint64{math.MaxUint64, 1 << 63, 255, 0} {
		var got string
		if err := c.QueryRowContext(ctx, "SELECT ?", v).Scan(&got); err != nil || got != strconv.FormatUint(v, 10) {
			t.Fatalf("SELECT ? with %d over TLS: %q %v", v, got, err)
		}
	}
	var n int
	err = c.QueryRowContext(ctx, "SELECT LENGTH('"+strings.Repeat("x", 2<<20)+"')").Scan(&n)
	var me *mysql.MySQLError
	if err == nil || errors.As(err, &me) && me.Number != 1153 {
		t.Fatalf("big over TLS: %v", err)
	}
	if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil || n != 1 {
		t.Fatalf("after: %d %v", n, err)
	}
}
