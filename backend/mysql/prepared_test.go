package mysql

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// int64Param is one LONGLONG parameter (unsigned: the 0x80 flag).
func int64Param(v uint64, unsigned bool) ExecParams {
	flag := byte(0)
	if unsigned {
		flag = 0x80
	}
	return ExecParams{Count: 1, Nulls: []byte{0}, Types: []byte{8, flag}, Values: binary.LittleEndian.AppendUint64(nil, v)}
}

func sessionStatus(t *testing.T, c *Conn, name string) int {
	t.Helper()
	got := exec(t, c, "SHOW SESSION STATUS LIKE '"+name+"'")
	if len(got) != 2 {
		t.Fatalf("%s: %v", name, got)
	}
	n, err := strconv.Atoi(got[1])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestForwardPreparedOncePerConnection(t *testing.T) {
	c := dialTest(t)
	exec(t, c, "REPLACE INTO app.t VALUES (1, 'one'), (2, 'two')")
	before := sessionStatus(t, c, "Com_stmt_prepare")
	q := "SELECT id, v FROM app.t WHERE id = ?"
	for _, id := range []uint64{1, 2, 1} {
		var s recordSink
		sum, err := c.ForwardPrepared(q, int64Param(id, false), &s)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Columns != 2 || sum.Rows != 1 {
			t.Fatalf("summary %+v", sum)
		}
		// A binary row: 0x00, the NULL bitmap (1 byte), id as 8 bytes, v.
		row := s.packets[len(s.packets)-1]
		if row[0] != 0 || binary.LittleEndian.Uint64(row[2:]) != id {
			t.Fatalf("row %x for id %d", row, id)
		}
	}
	if got := sessionStatus(t, c, "Com_stmt_prepare") - before; got != 1 {
		t.Fatalf("%d prepares, want 1", got)
	}
	if c.PreparedCount() != 1 {
		t.Fatalf("%d cached", c.PreparedCount())
	}
	// uint64 max as the client's own bytes.
	var s recordSink
	if _, err := c.ForwardPrepared("SELECT ? + 0", int64Param(1<<64-1, true), &s); err != nil {
		t.Fatal(err)
	}
	if row := s.packets[len(s.packets)-1]; !bytes.Contains(row, []byte("18446744073709551615")) &&
		!bytes.Contains(row, bytes.Repeat([]byte{0xff}, 8)) {
		t.Fatalf("uint64 max: row %x", row)
	}
	// A server error of the execution: number and SQLSTATE, the
	// connection goes on.
	_, err := c.ForwardPrepared("SELECT * FROM app.t WHERE id = ? AND nosuch = 1", int64Param(1, false), &s)
	if !errors.Is(err, ErrNotPrepared) {
		t.Fatalf("unknown column: %v, want ErrNotPrepared (the prepare fails)", err)
	}
	if got := exec(t, c, "SELECT 7"); got[0] != "7" {
		t.Fatal(got)
	}
}

func TestForwardPreparedEvictionCloses(t *testing.T) {
	c := dialTest(t)
	before := sessionStatus(t, c, "Com_stmt_close")
	extra := 10
	for i := range DefaultPreparedStatements + extra {
		var s recordSink
		if _, err := c.ForwardPrepared("SELECT ? + "+strconv.Itoa(i), int64Param(uint64(i), false), &s); err != nil {
			t.Fatal(err)
		}
	}
	if c.PreparedCount() != DefaultPreparedStatements {
		t.Fatalf("%d cached, want %d", c.PreparedCount(), DefaultPreparedStatements)
	}
	// The last eviction's close goes with the next command of ours.
	if got := sessionStatus(t, c, "Com_stmt_close") - before; got < extra-1 {
		t.Fatalf("%d closes, want at least %d", got, extra-1)
	}
	// The server holds the cached ones and the one whose close is owed.
	got := exec(t, c, "SELECT variable_value FROM information_schema.global_status WHERE variable_name = 'PREPARED_STMT_COUNT'")
	if n, _ := strconv.Atoi(got[0]); n > DefaultPreparedStatements+1 {
		t.Fatalf("the server holds %d statements", n)
	}
}

func TestForwardPreparedReset(t *testing.T) {
	c := dialTest(t)
	q := "SELECT ? + 1"
	var s recordSink
	if _, err := c.ForwardPrepared(q, int64Param(1, false), &s); err != nil {
		t.Fatal(err)
	}
	if err := c.Reset(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if c.PreparedCount() != 0 {
		t.Fatalf("%d cached after Reset", c.PreparedCount())
	}
	// Prepared again (the server's statement is gone).
	before := sessionStatus(t, c, "Com_stmt_prepare")
	if _, err := c.ForwardPrepared(q, int64Param(2, false), &s); err != nil {
		t.Fatal(err)
	}
	if got := sessionStatus(t, c, "Com_stmt_prepare") - before; got != 1 {
		t.Fatalf("%d prepares after Reset, want 1", got)
	}
	// Settings changed: prepared again under them (the old one closed).
	c.AddSetting("SET sql_mode = 'ANSI_QUOTES'")
	if _, err := c.ForwardPrepared(q, int64Param(3, false), &s); err != nil {
		t.Fatal(err)
	}
	if got := sessionStatus(t, c, "Com_stmt_prepare") - before; got != 2 {
		t.Fatalf("%d prepares after a setting, want 2", got)
	}
}

func TestForwardPreparedRefusedFallsBack(t *testing.T) {
	c := dialTest(t)
	q := "SELEC ?"
	var s recordSink
	if _, err := c.ForwardPrepared(q, int64Param(1, false), &s); !errors.Is(err, ErrNotPrepared) {
		t.Fatalf("err %v, want ErrNotPrepared", err)
	}
	before := sessionStatus(t, c, "Com_stmt_prepare")
	if _, err := c.ForwardPrepared(q, int64Param(1, false), &s); !errors.Is(err, ErrNotPrepared) {
		t.Fatalf("err %v, want ErrNotPrepared", err)
	}
	if got := sessionStatus(t, c, "Com_stmt_prepare") - before; got != 0 {
		t.Fatalf("the refusal was not remembered: %d prepares", got)
	}
	if len(s.kinds) != 0 {
		t.Fatalf("a refused statement handed on %v", s.kinds)
	}
	// A parameter count that does not match the server's: refused too.
	if _, err := c.ForwardPrepared("SELECT 1", int64Param(1, false), &s); !errors.Is(err, ErrNotPrepared) {
		t.Fatalf("err %v, want ErrNotPrepared", err)
	}
	if got := exec(t, c, "SELECT 8"); got[0] != "8" {
		t.Fatal(got)
	}
	// A table not there yet: refused now, prepared once it exists.
	exec(t, c, "DROP TABLE IF EXISTS app.later")
	q = "SELECT id FROM app.later WHERE id = ?"
	if _, err := c.ForwardPrepared(q, int64Param(1, false), &s); !errors.Is(err, ErrNotPrepared) {
		t.Fatalf("err %v, want ErrNotPrepared", err)
	}
	exec(t, c, "CREATE TABLE app.later (id BIGINT PRIMARY KEY)")
	t.Cleanup(func() { exec(t, c, "DROP TABLE IF EXISTS app.later") })
	before = sessionStatus(t, c, "Com_stmt_prepare")
	if _, err := c.ForwardPrepared(q, int64Param(1, false), &s); err != nil {
		t.Fatal(err)
	}
	if got := sessionStatus(t, c, "Com_stmt_prepare") - before; got != 1 {
		t.Fatalf("%d prepares once the table exists, want 1", got)
	}
	// A text too long to keep runs as text, without a round trip.
	long := "SELECT ? /*" + strings.Repeat("x", maxPreparedText) + "*/"
	if _, err := c.ForwardPrepared(long, int64Param(1, false), &s); !errors.Is(err, ErrNotPrepared) {
		t.Fatalf("err %v, want ErrNotPrepared", err)
	}
}

// globalCount reads a global status counter of the test server.
func globalCount(t *testing.T, c *Conn, name string) int {
	t.Helper()
	got := exec(t, c, "SELECT variable_value FROM information_schema.global_status WHERE variable_name = '"+name+"'")
	n, err := strconv.Atoi(got[0])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// stableGlobalCount is a global status counter once it stopped moving:
// the statements of connections earlier tests closed are freed by the
// server after those tests end (a count read while they go leaves the
// limit set from it looser than meant).
func stableGlobalCount(t *testing.T, c *Conn, name string) int {
	t.Helper()
	n := globalCount(t, c, name)
	for range 50 {
		time.Sleep(100 * time.Millisecond)
		m := globalCount(t, c, name)
		if m == n {
			return n
		}
		n = m
	}
	t.Fatalf("%s still moving after 5 s", name)
	return 0
}

// The server's max_prepared_stmt_count reached by one of the pool's
// prepares (1461): the execution runs as text (ErrNotPrepared); that
// connection closes its statements at once, another of the pool closes its
// own at its next use; no prepare is tried on the node until the back-off
// is over, and then statements are prepared again.
func TestForwardPreparedLimitGivesBack(t *testing.T) {
	ctx := context.Background()
	p, err := NewPool(PoolOptions{Dial: dialOptions(), MaxConns: 3, PrepareBackoff: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	a, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	adm, err := p.Acquire(ctx) // never prepares
	if err != nil {
		t.Fatal(err)
	}
	old := exec(t, adm, "SELECT @@global.max_prepared_stmt_count")[0]
	base := stableGlobalCount(t, adm, "PREPARED_STMT_COUNT")
	if err := node.Exec(ctx, "SET GLOBAL max_prepared_stmt_count = "+strconv.Itoa(base+3)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := node.Exec(ctx, "SET GLOBAL max_prepared_stmt_count = "+old); err != nil {
			t.Error(err)
		}
	})
	run := func(c *Conn, i int) error {
		t.Helper()
		var s recordSink
		_, err := c.ForwardPrepared("SELECT ? + "+strconv.Itoa(1000+i), int64Param(1, false), &s)
		if err != nil && !errors.Is(err, ErrNotPrepared) {
			t.Fatal(err)
		}
		return err
	}
	run(b, 0)
	run(a, 1)
	run(a, 2)
	if err := run(a, 3); !errors.Is(err, ErrNotPrepared) {
		t.Fatalf("over the limit: %v, want ErrNotPrepared", err)
	}
	if a.PreparedCount() != 0 {
		t.Fatalf("%d statements kept after the limit was reached", a.PreparedCount())
	}
	exec(t, a, "DO 0") // the text that follows: the closes went before it
	if n := globalCount(t, adm, "PREPARED_STMT_COUNT"); n != base+1 {
		t.Fatalf("the server holds %d statements, want %d (b's only)", n, base+1)
	}
	// b gives its statement back when it is released (nothing answers a
	// close: the server counts it when it gets to it).
	p.Release(b)
	deadline := time.Now().Add(5 * time.Second)
	for n := globalCount(t, adm, "PREPARED_STMT_COUNT"); n != base; n = globalCount(t, adm, "PREPARED_STMT_COUNT") {
		if time.Now().After(deadline) {
			t.Fatalf("the server holds %d statements after b's release, want %d", n, base)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The gate is shut: no prepare is tried, even once the limit is lifted.
	if err := node.Exec(ctx, "SET GLOBAL max_prepared_stmt_count = "+old); err != nil {
		t.Fatal(err)
	}
	before := sessionStatus(t, a, "Com_stmt_prepare")
	if err := run(a, 4); !errors.Is(err, ErrNotPrepared) {
		t.Fatalf("while the gate is shut: %v, want ErrNotPrepared", err)
	}
	if got := sessionStatus(t, a, "Com_stmt_prepare") - before; got != 0 {
		t.Fatalf("%d prepares while the gate is shut", got)
	}
	time.Sleep(600 * time.Millisecond)
	if err := run(a, 4); err != nil {
		t.Fatalf("after the back-off: %v", err)
	}
	if a.PreparedCount() != 1 {
		t.Fatalf("%d statements kept after the back-off, want 1", a.PreparedCount())
	}
	p.Release(a)
	p.Release(adm)
}

// PoolOptions.PreparedStatements bounds each connection's statements;
// negative: none is prepared.
func TestForwardPreparedPoolSize(t *testing.T) {
	ctx := context.Background()
	for _, size := range []int{2, -1} {
		p, err := NewPool(PoolOptions{Dial: dialOptions(), MaxConns: 1, PreparedStatements: size})
		if err != nil {
			t.Fatal(err)
		}
		c, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			var s recordSink
			_, err := c.ForwardPrepared("SELECT ? + "+strconv.Itoa(i), int64Param(1, false), &s)
			if size < 0 && !errors.Is(err, ErrNotPrepared) || size > 0 && err != nil {
				t.Fatalf("size %d: %v", size, err)
			}
		}
		if want := max(size, 0); c.PreparedCount() != want {
			t.Fatalf("size %d: %d kept", size, c.PreparedCount())
		}
		p.Release(c)
		p.Close()
	}
}
