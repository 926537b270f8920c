package mysqlwire

import (
	"context"
	"database/sql"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	vmysql "vitess.io/vitess/go/mysql"
)

// The raw path (session_raw.go, rawend.go): one-shard results forwarded
// as the server's packets, read by clients that frame them differently.

// vitessClient logs into the endpoint with vitess's client, which asks
// for CLIENT_DEPRECATE_EOF (go-sql-driver, PyMySQL and the mariadb CLI
// do not): its results end with an OK, not an EOF, and have no EOF after
// the column definitions.
func vitessClient(t *testing.T, multi bool) *vmysql.Conn {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	c, err := vmysql.Connect(context.Background(), &vmysql.ConnParams{Host: host, Port: p, Uname: "app", Pass: "app", DbName: "app",
		Charset: 45, EnableMultiStatements: multi})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if c.Capabilities&vmysql.CapabilityClientDeprecateEOF == 0 {
		t.Fatal("vitess's client did not get CLIENT_DEPRECATE_EOF")
	}
	return c
}

func TestRawDeprecateEOFClient(t *testing.T) {
	c := vitessClient(t, false)
	res, warnings, err := c.ExecuteFetchWithWarningCount("SELECT 1 AS a, 'é😀' AS b, NULL AS c UNION ALL SELECT 2, '', 3", 10, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Fields) != 3 || res.Fields[1].Name != "b" || len(res.Rows) != 2 || warnings != 0 {
		t.Fatalf("%v %v %d", res.Fields, res.Rows, warnings)
	}
	if got := res.Rows[0][1].ToString() + "|" + res.Rows[1][2].ToString(); got != "é😀|3" || !res.Rows[0][2].IsNull() {
		t.Fatalf("rows %v", res.Rows)
	}
	if res.StatusFlags&vmysql.ServerStatusAutocommit == 0 {
		t.Fatalf("status flags %#x", res.StatusFlags)
	}
	// The warning count of the result's end, and the status flags of a
	// transaction the SELECT opened (autocommit off).
	res, warnings, err = c.ExecuteFetchWithWarningCount("SELECT CAST('1x' AS INT), CAST('2y' AS INT)", 10, true)
	if err != nil || warnings != 2 || res.Rows[0][0].ToString() != "1" {
		t.Fatalf("%v %d %v", res, warnings, err)
	}
	if _, err := c.ExecuteFetch("SET autocommit = 0", 0, false); err != nil {
		t.Fatal(err)
	}
	res, err = c.ExecuteFetch("SELECT id FROM t LIMIT 1", 10, true)
	if err != nil || res.StatusFlags&vmysql.ServerStatusInTrans == 0 || res.StatusFlags&vmysql.ServerStatusAutocommit != 0 {
		t.Fatalf("flags %#x: %v", res.StatusFlags, err)
	}
	if _, err := c.ExecuteFetch("ROLLBACK", 0, false); err != nil {
		t.Fatal(err)
	}
	res, err = c.ExecuteFetch("SELECT 1", 10, true)
	if err != nil || res.StatusFlags&vmysql.ServerStatusInTrans != 0 {
		t.Fatalf("flags %#x after ROLLBACK: %v", res.StatusFlags, err)
	}
	c.ExecuteFetch("SET autocommit = 1", 0, false) //nolint:errcheck
}

// go-sql-driver reads results with EOF packets; SHOW WARNINGS sees the
// forwarded result's warnings.
func TestRawEOFClient(t *testing.T) {
	c := conn(t, "")
	if got := one(t, c, "SELECT CONCAT('a', NULL)"); got != "NULL" {
		t.Fatal(got)
	}
	rows, err := c.QueryContext(context.Background(), "SELECT CAST('1x' AS INT) UNION ALL SELECT 5")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var s string
		rows.Scan(&s) //nolint:errcheck
		got = append(got, s)
	}
	if err := rows.Err(); err != nil || strings.Join(got, ",") != "1,5" {
		t.Fatalf("%v %v", got, err)
	}
	if n := one(t, c, "SELECT @@warning_count"); n != "1" {
		t.Fatalf("@@warning_count %s", n)
	}
}

// Several statements in one text: each result's end says whether more
// follow, and the packet numbers run on across them.
func TestRawMultiStatement(t *testing.T) {
	sql := "SELECT 1; SELECT 'two', NULL; DO 0; SELECT 3 UNION ALL SELECT 4"
	if got := vitessResultRows(t, sql); got != "1,1,0,2" {
		t.Fatalf("results %v", got)
	}
	c := conn(t, "multiStatements=true")
	// go-sql-driver skips the OK of DO 0 between result sets.
	if got := driverResultRows(t, c, sql); got != "1,1,2" {
		t.Fatalf("results %v", got)
	}
	if got := one(t, c, "SELECT 'alive'"); got != "alive" {
		t.Fatal(got)
	}
}

// A server error after some rows reached the client ends the result
// with that error (its number and SQLSTATE); the session goes on.
func TestRawErrorAfterRows(t *testing.T) {
	const q = "SELECT IF(seq < 3, seq, (SELECT 1 UNION SELECT 2)) FROM seq_1_to_5"
	c := conn(t, "")
	rows, err := c.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if n != 2 {
		t.Fatalf("%d rows before the error", n)
	}
	wantMySQLError(t, rows.Err(), 1242, "21000")
	rows.Close()
	if got := one(t, c, "SELECT 'alive'"); got != "alive" {
		t.Fatal(got)
	}
	vc := vitessClient(t, false)
	if _, err := vc.ExecuteFetch(q, 10, true); err == nil || !strings.Contains(err.Error(), "1242") {
		t.Fatalf("vitess client: %v", err)
	}
	if res, err := vc.ExecuteFetch("SELECT 6", 1, true); err != nil || res.Rows[0][0].ToString() != "6" {
		t.Fatal(err)
	}
}

// Rows of 16 MiB and more come in continuation frames, in the text and
// in the binary protocol. The client's CLIENT_FOUND_ROWS gives it a pool
// of its own, dialed after max_allowed_packet is raised.
func TestRawBigRow(t *testing.T) {
	ctx := context.Background()
	if err := node.Exec(ctx, "SET GLOBAL max_allowed_packet = 67108864"); err != nil {
		t.Fatal(err)
	}
	c := conn(t, "clientFoundRows=true&maxAllowedPacket=67108864")
	for _, n := range []int{1<<24 - 1 - 4, 1<<24 - 1 - 5, 1<<24 + 100} {
		var s string
		if err := c.QueryRowContext(ctx, "SELECT REPEAT('z', "+strconv.Itoa(n)+")").Scan(&s); err != nil {
			t.Fatalf("%d: %v", n, err)
		}
		if len(s) != n || strings.Count(s, "z") != n {
			t.Fatalf("text %d: got %d bytes", n, len(s))
		}
		var id int
		if err := c.QueryRowContext(ctx, "SELECT ?, REPEAT('y', ?)", 7, n).Scan(&id, &s); err != nil {
			t.Fatalf("prepared %d: %v", n, err)
		}
		if id != 7 || len(s) != n || strings.Count(s, "y") != n {
			t.Fatalf("prepared %d: got %d, %d bytes", n, id, len(s))
		}
	}
}

// A client that stops reading a big result holds up its statement, not
// the proxy's memory: the result is never gathered.
func TestRawSlowReader(t *testing.T) {
	ctx := context.Background()
	c := conn(t, "")
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	// 200,000 rows of 1 KiB: 200 MiB.
	rows, err := c.QueryContext(ctx, "SELECT seq, REPEAT('x', 1024) FROM seq_1_to_200000")
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatal(rows.Err())
	}
	time.Sleep(500 * time.Millisecond) // the proxy writes until the socket is full
	var during runtime.MemStats
	runtime.ReadMemStats(&during)
	if grew := int64(during.HeapInuse) - int64(before.HeapInuse); grew > 32<<20 {
		t.Fatalf("the heap grew by %d MiB with a client not reading", grew>>20)
	}
	n := 1
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil || n != 200000 {
		t.Fatalf("%d rows: %v", n, err)
	}
	rows.Close()
	if got := one(t, c, "SELECT 'alive'"); got != "alive" {
		t.Fatal(got)
	}
}

// A client gone in the middle of a result: its server connection, with
// the rest of the result unread, is not reused (the pool has one).
func TestRawClientGone(t *testing.T) {
	ctx := context.Background()
	conns := make(chan net.Conn, 1)
	mysql.RegisterDialContext("rawgone", func(ctx context.Context, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err == nil {
			conns <- c
		}
		return c, err
	})
	db, err := sql.Open("mysql", "app:app@rawgone("+addr+")/app")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := c.QueryContext(ctx, "SELECT seq, REPEAT('x', 1024) FROM seq_1_to_200000")
	if err != nil {
		t.Fatal(err)
	}
	rows.Next()
	(<-conns).Close()
	rows.Close()
	d := conn(t, "")
	for range 3 {
		if got := one(t, d, "SELECT 'next'"); got != "next" {
			t.Fatal(got)
		}
	}
}

// A forwarded result slower than vitess's flush delay (100 ms): vitess's
// timer flushes its buffer from another goroutine while the rows of a
// multi-statement text's second result (written through vitess) arrive.
func TestRawSlowResultThroughVitess(t *testing.T) {
	const sql = "SELECT 1; SELECT seq, SLEEP(0.06) FROM seq_1_to_4; SELECT 'end'"
	if got := vitessResultRows(t, sql); got != "1,4,1" {
		t.Fatalf("results %v", got)
	}
	if got := driverResultRows(t, conn(t, "multiStatements=true"), sql); got != "1,4,1" {
		t.Fatalf("results %v", got)
	}
}

// vitessResultRows runs a multi-statement text with vitess's client
// (CLIENT_DEPRECATE_EOF) and says how many rows each result had, as "1,0,2".
func vitessResultRows(t *testing.T, sql string) string {
	t.Helper()
	vc := vitessClient(t, true)
	res, more, err := vc.ExecuteFetchMulti(sql, 10, true)
	var got []string
	for {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, strconv.Itoa(len(res.Rows)))
		if !more {
			break
		}
		res, more, _, err = vc.ReadQueryResult(10, true)
	}
	return strings.Join(got, ",")
}

// driverResultRows is vitessResultRows through go-sql-driver (EOF
// packets), which skips results without rows between result sets.
func driverResultRows(t *testing.T, c *sql.Conn, text string) string {
	t.Helper()
	rows, err := c.QueryContext(context.Background(), text)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for {
		n := 0
		for rows.Next() {
			n++
		}
		got = append(got, strconv.Itoa(n))
		if !rows.NextResultSet() {
			break
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(got, ",")
}
