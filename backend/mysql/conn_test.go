package mysql

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// The handshake with MariaDB 10.11 must give utf8mb4 on both sides of the
// connection, so non-ASCII text arrives as it was sent, not double-encoded.
func TestDialCharset(t *testing.T) {
	c := dialTest(t)
	got := exec(t, c, "SELECT @@character_set_client, @@character_set_results, @@collation_connection, 'é😀', HEX('é😀'), DATABASE()")
	want := []string{"utf8mb4", "utf8mb4", "utf8mb4_general_ci", "é😀", "C3A9F09F9880", "app"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestDialWrongPassword(t *testing.T) {
	o := dialOptions()
	o.Password = "nope"
	_, err := Dial(context.Background(), o)
	e, ok := sqlerr.As(err)
	if !ok || e.Number != crConnHostError {
		t.Fatalf("got %v, want a 2003 error", err)
	}
	if _, _, _, ok := ServerError(err); !ok {
		t.Fatalf("the server's 1045 is not in the chain of %v", err)
	}
}

// A server error keeps the server's number and SQLSTATE, and the
// connection stays usable.
func TestServerErrorKeepsNumberAndState(t *testing.T) {
	c := dialTest(t)
	for _, tc := range []struct {
		sql   string
		num   uint16
		state string
	}{
		{"SELEC 1", 1064, "42000"},
		{"SELECT * FROM nope", 1146, "42S02"},
		{"INSERT INTO t VALUES (1, 'a'), (1, 'b')", 1062, "23000"},
	} {
		_, _, err := c.Exec(tc.sql, 10)
		e, ok := sqlerr.As(err)
		if !ok || e.Number != tc.num || e.Code != tc.state {
			t.Errorf("%s: got %v (%+v), want %d/%s", tc.sql, err, e, tc.num, tc.state)
		}
		if num, state, _, ok := ServerError(err); !ok || num != tc.num || state != tc.state {
			t.Errorf("%s: ServerError = %d %s %v", tc.sql, num, state, ok)
		}
		if c.IsBroken() {
			t.Fatalf("%s: connection marked broken after a server error", tc.sql)
		}
	}
	if got := exec(t, c, "SELECT 1"); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("after errors: %q", got)
	}
}

// The status flags follow the server: autocommit off opens a transaction
// with the next statement that touches a table, COMMIT ends it.
func TestStatusFlags(t *testing.T) {
	c := dialTest(t)
	if c.InTransaction() {
		t.Fatal("in a transaction right after login")
	}
	exec(t, c, "SET autocommit=0")
	if c.StatusFlags()&StatusAutocommit != 0 || c.InTransaction() {
		t.Fatalf("after SET autocommit=0: flags %#x", c.StatusFlags())
	}
	exec(t, c, "SELECT * FROM t")
	if !c.InTransaction() {
		t.Fatalf("autocommit=0 SELECT: flags %#x, want in transaction", c.StatusFlags())
	}
	exec(t, c, "COMMIT")
	if c.InTransaction() {
		t.Fatalf("after COMMIT: flags %#x", c.StatusFlags())
	}
	exec(t, c, "SET autocommit=1")
	exec(t, c, "BEGIN")
	if !c.InTransaction() || c.StatusFlags()&StatusAutocommit == 0 {
		t.Fatalf("after BEGIN: flags %#x", c.StatusFlags())
	}
	res, _, err := c.Exec("INSERT INTO t VALUES (100, 'x')", 10)
	if err != nil || res.RowsAffected != 1 {
		t.Fatalf("insert: %v %+v", err, res)
	}
	exec(t, c, "ROLLBACK")
	if c.InTransaction() {
		t.Fatal("after ROLLBACK: in a transaction")
	}
	if got := exec(t, c, "SELECT COUNT(*) FROM t WHERE id = 100"); got[0] != "0" {
		t.Fatal("the rolled back row is there")
	}
}

func TestWarnings(t *testing.T) {
	c := dialTest(t)
	_, w, err := c.Exec("SELECT CAST('12x' AS SIGNED)", 10)
	if err != nil || w != 1 {
		t.Fatalf("warnings %d, err %v; want 1", w, err)
	}
}

// Reset wipes every kind of session state another session could see, and
// keeps the database.
func TestReset(t *testing.T) {
	c := dialTest(t)
	exec(t, c, "SET @x = 42")
	exec(t, c, "SET SESSION sql_mode = 'ANSI_QUOTES'")
	exec(t, c, "SET autocommit = 0")
	exec(t, c, "CREATE TEMPORARY TABLE tmp (a INT)")
	exec(t, c, "INSERT INTO t VALUES (200, 'y')")
	c.AddSetting("SET SESSION sql_mode = 'ANSI_QUOTES'")
	c.MarkDirty()
	if !c.InTransaction() {
		t.Fatal("not in a transaction")
	}
	if err := c.Reset(0); err != nil {
		t.Fatal(err)
	}
	if c.InTransaction() || c.Dirty() || len(c.Settings()) != 0 {
		t.Fatalf("after reset: flags %#x dirty %v settings %q", c.StatusFlags(), c.Dirty(), c.Settings())
	}
	got := exec(t, c, "SELECT @x, @@sql_mode LIKE '%ANSI_QUOTES%', @@autocommit, DATABASE(), (SELECT COUNT(*) FROM t WHERE id = 200)")
	if !slices.Equal(got, []string{"NULL", "0", "1", "app", "0"}) {
		t.Fatalf("after reset: %q", got)
	}
	if _, _, err := c.Exec("SELECT * FROM tmp", 10); err == nil {
		t.Fatal("the temporary table survived the reset")
	}
	if got := exec(t, c, "SELECT 'é'"); got[0] != "é" {
		t.Fatalf("charset after reset: %q", got)
	}
}

func TestLostConnection(t *testing.T) {
	c := dialTest(t)
	killer := dialTest(t)
	exec(t, killer, "KILL "+itoa(c.ID()))
	_, _, err := c.Exec("SELECT 1", 10)
	if err == nil {
		t.Fatal("a killed connection answered")
	}
	if !c.IsBroken() {
		t.Fatalf("not marked broken after %v", err)
	}
	var e *sqlerr.Error
	if !errors.As(err, &e) || e.Number != crServerLost {
		// MariaDB may answer the next statement with its own 1927
		// ("Connection was killed") before it closes the socket.
		if e == nil || e.Number != 1927 {
			t.Fatalf("got %v", err)
		}
	}
}

func itoa(n uint32) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

// After an error the status flags are asked again: a failed statement
// with autocommit off opens no transaction unless the server says so.
func TestFlagsAfterError(t *testing.T) {
	c := dialTest(t)
	exec(t, c, "SET autocommit = 0")
	if _, _, err := c.Exec("SELECT * FROM nope", 10); err == nil {
		t.Fatal("no error")
	}
	if c.InTransaction() {
		t.Fatalf("in a transaction after a failed SELECT of no table: %#x", c.StatusFlags())
	}
	exec(t, c, "SELECT * FROM t")
	if _, _, err := c.Exec("INSERT INTO t VALUES (300, 'a'), (300, 'b')", 10); err == nil {
		t.Fatal("no duplicate key error")
	}
	if !c.InTransaction() {
		t.Fatal("the transaction opened by the SELECT is not seen after the error")
	}
	exec(t, c, "ROLLBACK")
}
