package mysqlwire

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
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
