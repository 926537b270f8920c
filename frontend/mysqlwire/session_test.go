package mysqlwire

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	mysqlbackend "github.com/shardgate/shardgate/backend/mysql"
)

func open(t *testing.T, user, password, params string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn(user, password, params))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// conn is one client connection (database/sql would spread statements
// over several).
func conn(t *testing.T, params string) *sql.Conn {
	t.Helper()
	c, err := open(t, "app", "app", params).Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func one(t *testing.T, c *sql.Conn, query string) string {
	t.Helper()
	var s sql.NullString
	if err := c.QueryRowContext(context.Background(), query).Scan(&s); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if !s.Valid {
		return "NULL"
	}
	return s.String
}

func execOK(t *testing.T, c *sql.Conn, query string) sql.Result {
	t.Helper()
	r, err := c.ExecContext(context.Background(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return r
}

func wantMySQLError(t *testing.T, err error, num uint16, state string) {
	t.Helper()
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		t.Fatalf("got %v, want MySQL error %d", err, num)
	}
	if me.Number != num || string(me.SQLState[:]) != state {
		t.Fatalf("got %d/%s %q, want %d/%s", me.Number, me.SQLState, me.Message, num, state)
	}
}

func TestQueryText(t *testing.T) {
	c := conn(t, "")
	if got := one(t, c, "SELECT 'é😀'"); got != "é😀" {
		t.Fatalf("got %q", got)
	}
	if got := one(t, c, "SELECT DATABASE()"); got != "app" {
		t.Fatalf("database %q", got)
	}
}

func TestWrongPassword(t *testing.T) {
	for _, user := range []string{"app", "nobody"} {
		err := open(t, user, "wrong", "").Ping()
		wantMySQLError(t, err, 1045, "28000")
	}
}

func TestUnknownDatabase(t *testing.T) {
	db, _ := sql.Open("mysql", strings.Replace(dsn("app", "app", ""), "/app?", "/nope?", 1))
	defer db.Close()
	wantMySQLError(t, db.Ping(), 1049, "42000")
}

// A server's error reaches the client with its number and SQLSTATE, and
// the session goes on.
func TestServerErrorAndSurvive(t *testing.T) {
	c := conn(t, "")
	_, err := c.ExecContext(context.Background(), "SELEC 1")
	wantMySQLError(t, err, 1064, "42000")
	_, err = c.ExecContext(context.Background(), "SELECT * FROM nope")
	wantMySQLError(t, err, 1146, "42S02")
	if got := one(t, c, "SELECT 2"); got != "2" {
		t.Fatalf("after errors: %q", got)
	}
}

func TestOKPacket(t *testing.T) {
	c := conn(t, "")
	execOK(t, c, "DELETE FROM t WHERE id BETWEEN 10 AND 19")
	r := execOK(t, c, "INSERT INTO t VALUES (10, 'a'), (11, 'b')")
	if n, _ := r.RowsAffected(); n != 2 {
		t.Fatalf("rows affected %d", n)
	}
	r = execOK(t, c, "UPDATE t SET v = 'c' WHERE id BETWEEN 10 AND 19")
	if n, _ := r.RowsAffected(); n != 2 {
		t.Fatalf("rows affected %d", n)
	}
}

func TestTransaction(t *testing.T) {
	ctx := context.Background()
	c := conn(t, "")
	execOK(t, c, "DELETE FROM t WHERE id BETWEEN 20 AND 29")
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO t VALUES (20, 'rolled back')"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	tx, err = c.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO t VALUES (21, 'committed')"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := one(t, c, "SELECT GROUP_CONCAT(id) FROM t WHERE id BETWEEN 20 AND 29"); got != "21" {
		t.Fatalf("rows %q", got)
	}
}

// autocommit=0 opens a transaction with the first statement, as the
// server's status flags say: another client sees nothing before COMMIT,
// even though both share the one server connection of the pool (the
// first holds it until COMMIT; the second waits).
func TestAutocommitOff(t *testing.T) {
	ctx := context.Background()
	a, b := conn(t, ""), conn(t, "")
	execOK(t, a, "DELETE FROM t WHERE id BETWEEN 30 AND 39")
	execOK(t, a, "SET autocommit = 0")
	execOK(t, a, "INSERT INTO t VALUES (30, 'x')")
	got := make(chan string)
	go func() {
		var s string
		if err := b.QueryRowContext(ctx, "SELECT COUNT(*) FROM t WHERE id BETWEEN 30 AND 39").Scan(&s); err != nil {
			t.Error(err)
		}
		got <- s
	}()
	execOK(t, a, "COMMIT")
	if n := <-got; n != "1" {
		t.Fatalf("the other client saw %s rows after COMMIT", n)
	}
	if v := one(t, a, "SELECT @@autocommit"); v != "0" {
		t.Fatalf("autocommit of the first client: %s", v)
	}
	if v := one(t, b, "SELECT @@autocommit"); v != "1" {
		t.Fatalf("autocommit of the second client: %s", v)
	}
	execOK(t, a, "ROLLBACK")
}

// Two clients share the pool's one server connection and never see each
// other's session variables.
func TestSessionVariablesIsolated(t *testing.T) {
	a, b := conn(t, ""), conn(t, "")
	execOK(t, a, "SET SESSION sql_mode = 'NO_ZERO_DATE'")
	execOK(t, a, "SET time_zone = '+05:00'")
	for range 3 {
		if v := one(t, b, "SELECT @@time_zone"); v == "+05:00" {
			t.Fatal("b sees a's time zone")
		}
		if v := one(t, a, "SELECT CONCAT(@@time_zone, ' ', @@sql_mode)"); v != "+05:00 NO_ZERO_DATE" {
			t.Fatalf("a lost its settings: %q", v)
		}
		if v := one(t, b, "SELECT @@sql_mode"); v == "NO_ZERO_DATE" {
			t.Fatalf("b sees a's sql_mode: %q", v)
		}
	}
	execOK(t, a, "SET time_zone = '+06:00'")
	if v := one(t, a, "SELECT @@time_zone"); v != "+06:00" {
		t.Fatalf("a's second SET: %q", v)
	}
}

// A user variable pins the session to its server connection.
func TestUserVariablePins(t *testing.T) {
	dbA := open(t, "app", "app", "")
	a, err := dbA.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	execOK(t, a, "SET @x = 42")
	if v := one(t, a, "SELECT @x"); v != "42" {
		t.Fatalf("@x = %s", v)
	}
	a.Close()
	dbA.Close() // the client leaves; its server connection is reset before its next use
	b := conn(t, "")
	if v := one(t, b, "SELECT @x"); v != "NULL" {
		t.Fatalf("another client sees @x = %s", v)
	}
}

// SETs that would make the servers read texts otherwise than the proxy
// (sql_mode flags, character sets outside utf8mb4), however written, are
// refused and leave the session's settings as they were; SET GLOBAL too.
func TestUnsafeSettingsRefused(t *testing.T) {
	c := conn(t, "")
	state := "SELECT CONCAT_WS(' ', @@sql_mode, @@character_set_client, @@character_set_connection, @@collation_connection, @@character_set_results)"
	want := one(t, c, state)
	for _, q := range []string{
		"SET sql_mode = 'ANSI_QUOTES'", "SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')",
		"SET NAMES latin1", "SET CHARACTER SET cp1251", "SET character_set_client = CONCAT('lat', 'in1')",
		"SET @@character_set_results = 'latin1'", "SET collation_connection = 'latin1_swedish_ci'",
		"SET sql_mode = '', character_set_connection = 'sjis'", "SET GLOBAL max_connections = 10",
	} {
		_, err := c.ExecContext(context.Background(), q)
		wantMySQLError(t, err, 1235, "42000")
		if got := one(t, c, state); got != want {
			t.Fatalf("after %s: %s, want %s", q, got, want)
		}
	}
	execOK(t, c, "SET NAMES utf8mb4")
	execOK(t, c, "SET character_set_results = NULL")
	execOK(t, c, "SET sql_mode = 'TRADITIONAL'")
}

func TestMultiStatements(t *testing.T) {
	c := conn(t, "multiStatements=true")
	execOK(t, c, "DELETE FROM t WHERE id BETWEEN 40 AND 49; INSERT INTO t VALUES (40, 'a'); INSERT INTO t VALUES (41, 'b')")
	if got := one(t, c, "SELECT COUNT(*) FROM t WHERE id BETWEEN 40 AND 49"); got != "2" {
		t.Fatalf("rows %s", got)
	}
}

func TestCachingSHA2OverTLS(t *testing.T) {
	for range 2 { // full authentication, then the fast path
		db := open(t, "sha2only", "app", "tls=skip-verify")
		if err := db.Ping(); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	err := open(t, "sha2only", "wrong", "tls=skip-verify").Ping()
	wantMySQLError(t, err, 1045, "28000")
}

// COM_RESET_CONNECTION (sent here by the backend package's client, which
// speaks it) drops the session's settings.
func TestResetConnection(t *testing.T) {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	c, err := mysqlbackend.Dial(context.Background(), mysqlbackend.DialOptions{Host: host, Port: p, User: "app", Password: "app", Database: "app", TLS: mysqlbackend.TLSDisable})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	get := func() string {
		res, _, err := c.Exec("SELECT @@time_zone", 10)
		if err != nil {
			t.Fatal(err)
		}
		return res.Rows[0][0].ToString()
	}
	if _, _, err := c.Exec("SET time_zone = '+07:00'", 0); err != nil {
		t.Fatal(err)
	}
	if v := get(); v != "+07:00" {
		t.Fatalf("time zone %s", v)
	}
	if err := c.Reset(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if v := get(); v == "+07:00" {
		t.Fatal("the setting survived COM_RESET_CONNECTION")
	}
}

// Server-side prepared statements (go-sql-driver without
// interpolateParams) run as text with the values written in.
func TestPreparedStatements(t *testing.T) {
	ctx := context.Background()
	c := conn(t, "")
	var got string
	err := c.QueryRowContext(ctx, "SELECT CONCAT(?, '|', ?, '|', IFNULL(?, 'null'), '|', HEX(?), '|', ?) /* ? in a comment */, '?'",
		"a'b\\c\"😀\x00", int64(-42), nil, []byte{0, 1, 255}, 2.5).Scan(&got, new(string))
	if err != nil {
		t.Fatal(err)
	}
	if want := "a'b\\c\"😀\x00|-42|null|0001FF|2.5"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	stmt, err := c.PrepareContext(ctx, "INSERT INTO t VALUES (?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	execOK(t, c, "DELETE FROM t WHERE id BETWEEN 50 AND 59")
	for i := range 3 {
		if _, err := stmt.ExecContext(ctx, 50+i, fmt.Sprintf("row %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := one(t, c, "SELECT GROUP_CONCAT(v ORDER BY id) FROM t WHERE id BETWEEN 50 AND 59"); got != "row 0,row 1,row 2" {
		t.Fatalf("rows %q", got)
	}
	var id int64
	var v string
	if err := c.QueryRowContext(ctx, "SELECT id, v FROM t WHERE id = ?", 51).Scan(&id, &v); err != nil || id != 51 || v != "row 1" {
		t.Fatalf("binary row: %d %q %v", id, v, err)
	}
	// Unsigned parameters keep their value (vitess alone would make
	// uint64 max -1), mixed with signed ones.
	err = c.QueryRowContext(ctx, "SELECT CONCAT(CAST(? AS UNSIGNED), ' ', ?, ' ', ?, ' ', ?)",
		uint64(math.MaxUint64), int64(-1), uint64(1)<<63, uint32(math.MaxUint32)).Scan(&got)
	if want := "18446744073709551615 -1 9223372036854775808 4294967295"; err != nil || got != want {
		t.Fatalf("unsigned: got %q %v, want %q", got, err, want)
	}
}

// SET TRANSACTION READ ONLY before a statement that reaches no table
// leaves MariaDB's one-shot pending on the connection: the next client of
// the one pooled connection must not inherit it (its INSERT failing with
// 1792), and the session's own next statement does not get it either —
// the connection is reset before it is reused.
func TestPendingSetTransactionDoesNotLeak(t *testing.T) {
	a := conn(t, "")
	execOK(t, a, "SET TRANSACTION READ ONLY")
	if v := one(t, a, "SELECT 1"); v != "1" {
		t.Fatalf("SELECT 1: %s", v)
	}
	b := conn(t, "")
	execOK(t, b, "DELETE FROM t WHERE id = 61")
	execOK(t, b, "INSERT INTO t VALUES (61, 'after a one-shot')")
	execOK(t, b, "DELETE FROM t WHERE id = 61")
}

// optimizer_switch merges the flags a SET names into the session's: a
// session's second SET of it builds on its first, and the replay on a
// connection another client reset must give the same flags.
func TestOptimizerSwitchSetsBuildOnEachOther(t *testing.T) {
	a := conn(t, "")
	execOK(t, a, "SET optimizer_switch = 'mrr=on'")
	execOK(t, a, "SET optimizer_switch = 'index_merge=off'")
	b := conn(t, "")
	execOK(t, b, "SET optimizer_switch = 'index_merge=off'")
	if got := one(t, b, "SELECT @@optimizer_switch LIKE '%mrr=on%'"); got != "0" {
		t.Fatalf("b sees a's mrr=on")
	}
	if got := one(t, a, "SELECT CONCAT(@@optimizer_switch LIKE '%mrr=on%', @@optimizer_switch LIKE '%index_merge=off%')"); got != "11" {
		t.Fatalf("a's flags after b used the connection: mrr=on %c, index_merge=off %c; want both", got[0], got[1])
	}
}

// A client's prepared statements are bounded as MariaDB bounds a
// session's (1461 past max_prepared_stmt_count's default): a client that
// never closes them cannot grow the proxy without end.
func TestPreparedStatementsBounded(t *testing.T) {
	ctx := context.Background()
	c := conn(t, "")
	var stmts []*sql.Stmt
	defer func() {
		for _, s := range stmts {
			s.Close()
		}
	}()
	for i := 0; i < maxPreparedPerClient; i++ {
		s, err := c.PrepareContext(ctx, "DO 1")
		if err != nil {
			t.Fatalf("statement %d: %v", i, err)
		}
		stmts = append(stmts, s)
	}
	_, err := c.PrepareContext(ctx, "DO 1")
	wantMySQLError(t, err, 1461, "42000")
	stmts[0].Close()
	stmts = stmts[1:]
	s, err := c.PrepareContext(ctx, "DO 1")
	if err != nil {
		t.Fatalf("after a close: %v", err)
	}
	stmts = append(stmts, s)
}
