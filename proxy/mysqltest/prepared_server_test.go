package mysqltest

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"
)

// globalStatus reads a counter of a shard's primary.
func globalStatus(t *testing.T, shard int, name string) int64 {
	t.Helper()
	var k string
	var v int64
	if err := direct(t, shard).QueryRow("SHOW GLOBAL STATUS LIKE '"+name+"'").Scan(&k, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// A one-shard read's COM_STMT_EXECUTE runs as a COM_STMT_EXECUTE on the
// shard (docs/design/mysql-raw-results.md): 50 clients execute one
// statement with their own values over the endpoint's 4 pooled server
// connections (2 per shard), so a statement prepared on one connection is
// executed on another, which prepares it itself; each client gets its own
// row, with values of every kind exact, whichever type the key was bound as.
func TestPreparedOnServerManyClients(t *testing.T) {
	ctx := context.Background()
	const clients, rounds = 50, 12
	setup := conn(t, "parseTime=true&loc=UTC")
	ts := time.Date(2025, 12, 31, 23, 59, 59, 999999000, time.UTC)
	for i := range clients {
		id := int64(30000 + i)
		execOK(t, setup, "DELETE FROM vals WHERE id = ?", id)
		var z any
		if i%3 == 0 {
			z = "z" + strconv.Itoa(i)
		}
		execOK(t, setup, "INSERT INTO vals VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			id, uint64(math.MaxUint64)-uint64(i), int64(-i), fmt.Sprintf("%d.000001", i), ts.Add(time.Duration(i)*time.Microsecond),
			[]byte{0, byte(i), '\''}, "😀 client "+strconv.Itoa(i), z)
	}
	before := [2]int64{globalStatus(t, 0, "Com_stmt_execute"), globalStatus(t, 1, "Com_stmt_execute")}
	db := open(t, "app", "app", "parseTime=true&loc=UTC")
	db.SetMaxOpenConns(clients)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := db.Conn(ctx)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			st, err := c.PrepareContext(ctx, "SELECT u, n, d, ts, b, s, z FROM vals WHERE id = ?")
			if err != nil {
				errs <- err
				return
			}
			defer st.Close()
			id := int64(30000 + i)
			for r := range rounds {
				// The key bound as a signed and an unsigned LONGLONG:
				// the parameter's type changes between executions.
				var key any = id
				if r%2 == 1 {
					key = uint64(id)
				}
				var (
					u    uint64
					n    int64
					d    string
					gotT time.Time
					b    []byte
					s    string
					z    sql.NullString
				)
				if err := st.QueryRowContext(ctx, key).Scan(&u, &n, &d, &gotT, &b, &s, &z); err != nil {
					errs <- fmt.Errorf("client %d round %d: %w", i, r, err)
					return
				}
				if u != math.MaxUint64-uint64(i) || n != int64(-i) || d != fmt.Sprintf("%d.000001", i) ||
					!gotT.Equal(ts.Add(time.Duration(i)*time.Microsecond)) || string(b) != string([]byte{0, byte(i), '\''}) ||
					s != "😀 client "+strconv.Itoa(i) || z.Valid != (i%3 == 0) || z.Valid && z.String != "z"+strconv.Itoa(i) {
					errs <- fmt.Errorf("client %d round %d: got %d %d %s %s %x %q %v", i, r, u, n, d, gotT, b, s, z)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	after := globalStatus(t, 0, "Com_stmt_execute") + globalStatus(t, 1, "Com_stmt_execute")
	if got := after - before[0] - before[1]; got < clients*rounds {
		t.Fatalf("%d executions reached the shards as COM_STMT_EXECUTE, want %d", got, clients*rounds)
	}
}

// A client that sends its parameter types only on the first execution
// (new-params-bound 0 after) and changes them later: the shard gets them
// every time, and the values as the client sent them.
func TestPreparedOnServerTypesOmitted(t *testing.T) {
	r := dialRaw(t)
	r.queryOK("USE app")
	id := binary.LittleEndian.AppendUint32(nil, r.prepareRaw("SELECT CONCAT('<', ?, '>'), ? + 0"))
	execute := func(bound bool, types []byte, values []byte, want string) {
		t.Helper()
		p := append(append([]byte{0x17}, id...), 0, 1, 0, 0, 0, 0)
		if bound {
			p = append(append(p, 1), types...)
		} else {
			p = append(p, 0)
		}
		r.command(append(p, values...))
		if p := r.read(); p[0] == 0xff {
			n, s, m := errPacket(t, p)
			t.Fatalf("execute: %d %s %s", n, s, m)
		}
		r.read() // column
		r.read() // column
		r.read() // EOF
		row := r.read()
		r.read() // EOF
		// Binary row: header, NULL bitmap, a length-encoded string, then
		// the second value (a string, a DOUBLE or a LONGLONG by type).
		if row[0] != 0 || int(row[2]) > len(row)-3 || string(row[3:3+int(row[2])]) != want {
			t.Fatalf("row %q, want %s first", row, want)
		}
	}
	str := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	u64 := func(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
	// VAR_STRING, LONGLONG unsigned.
	execute(true, []byte{0xfd, 0, 8, 0x80}, append(str("a"), u64(math.MaxUint64)...), "<a>")
	execute(false, nil, append(str("b"), u64(7)...), "<b>")
	// LONGLONG unsigned, then VAR_STRING: the types change.
	execute(true, []byte{8, 0x80, 0xfd, 0}, append(u64(math.MaxUint64), str("2")...), "<18446744073709551615>")
	execute(false, nil, append(u64(5), str("3")...), "<5>")
	r.queryOK("SELECT 1")
}

// KILL QUERY reaches an execution running as a prepared statement on the
// shard, and the client's connection goes on.
func TestPreparedOnServerKillQuery(t *testing.T) {
	ctx := context.Background()
	a, b := conn(t, ""), conn(t, "")
	id := idsOnEachShard(t, 31000)[1]
	execOK(t, b, "DELETE FROM vals WHERE id = ?", id)
	execOK(t, b, "INSERT INTO vals (id, s) VALUES (?, 'sleep')", id)
	aid := one(t, a, "SELECT CONNECTION_ID()")
	before := globalStatus(t, 1, "Com_stmt_execute")
	done := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		var s string
		a.QueryRowContext(ctx, "SELECT SLEEP(20) FROM vals WHERE id = ?", id).Scan(&s)
		done <- time.Since(start)
	}()
	time.Sleep(500 * time.Millisecond)
	execOK(t, b, "KILL QUERY "+aid)
	select {
	case d := <-done:
		if d > 10*time.Second || d < 250*time.Millisecond {
			t.Fatalf("the execution ran %s: not stopped by the KILL", d)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("KILL QUERY did not stop the execution")
	}
	if got := globalStatus(t, 1, "Com_stmt_execute") - before; got < 1 {
		t.Fatal("the execution did not reach the shard as COM_STMT_EXECUTE")
	}
	var s string
	if err := a.QueryRowContext(ctx, "SELECT s FROM vals WHERE id = ?", id).Scan(&s); err != nil || s != "sleep" {
		t.Fatalf("after the KILL: %q %v", s, err)
	}
}
