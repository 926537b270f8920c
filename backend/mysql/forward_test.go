package mysql

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// recordSink keeps the packets Forward hands on.
type recordSink struct {
	kinds   []PacketKind
	packets [][]byte
	failAt  int // fail the n-th packet (1-based; 0: never)
}

func (s *recordSink) Packet(kind PacketKind, p []byte) error {
	s.kinds = append(s.kinds, kind)
	if p != nil {
		p = bytes.Clone(p[4:])
	}
	s.packets = append(s.packets, p)
	if s.failAt == len(s.kinds) {
		return errors.New("client gone")
	}
	return nil
}

func TestForwardResultSet(t *testing.T) {
	c := dialTest(t)
	var s recordSink
	sum, err := c.Forward("SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, NULL", &s)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Columns != 2 || sum.Rows != 2 {
		t.Fatalf("summary %+v", sum)
	}
	want := []PacketKind{PacketColumnCount, PacketColumn, PacketColumn, PacketColumnsEnd, PacketRow, PacketRow}
	if len(s.kinds) != len(want) {
		t.Fatalf("kinds %v, want %v", s.kinds, want)
	}
	for i := range want {
		if s.kinds[i] != want[i] {
			t.Fatalf("kinds %v, want %v", s.kinds, want)
		}
	}
	if !bytes.Equal(s.packets[0], []byte{2}) {
		t.Fatalf("column count %x", s.packets[0])
	}
	if !bytes.Equal(s.packets[4], []byte{1, '1', 1, 'x'}) || !bytes.Equal(s.packets[5], []byte{1, '2', 0xfb}) {
		t.Fatalf("rows %x %x", s.packets[4], s.packets[5])
	}
	// The connection goes on.
	if got := exec(t, c, "SELECT 3"); got[0] != "3" {
		t.Fatal(got)
	}
}

func TestForwardOKAndWarnings(t *testing.T) {
	c := dialTest(t)
	var s recordSink
	exec(t, c, "DELETE FROM t WHERE id >= 9000")
	sum, err := c.Forward("INSERT INTO t VALUES (9001, 'a'), (9002, 'b')", &s)
	if err != nil || sum.Columns != 0 || sum.RowsAffected != 2 || len(s.kinds) != 0 {
		t.Fatalf("%+v %v %v", sum, err, s.kinds)
	}
	sum, err = c.Forward("SELECT CAST('1x' AS INT), CAST('2y' AS INT)", &s)
	if err != nil || sum.Warnings != 2 || sum.Rows != 1 {
		t.Fatalf("%+v %v", sum, err)
	}
	exec(t, c, "DELETE FROM t WHERE id >= 9000")
}

// Status flags follow the server's: a transaction opened by a forwarded
// SELECT with autocommit off is seen.
func TestForwardStatusFlags(t *testing.T) {
	c := dialTest(t)
	exec(t, c, "SET autocommit = 0")
	if _, err := c.Forward("SELECT * FROM t LIMIT 1", &recordSink{}); err != nil {
		t.Fatal(err)
	}
	if !c.InTransaction() || c.StatusFlags()&StatusAutocommit != 0 {
		t.Fatalf("flags %#x", c.StatusFlags())
	}
	exec(t, c, "ROLLBACK")
	exec(t, c, "SET autocommit = 1")
}

func TestForwardErrors(t *testing.T) {
	c := dialTest(t)
	var s recordSink
	_, err := c.Forward("SELECT * FROM nope", &s)
	if e, ok := sqlerr.As(err); !ok || e.Number != 1146 || e.Code != "42S02" || len(s.kinds) != 0 {
		t.Fatalf("%v %v", err, s.kinds)
	}
	// An error after rows: some rows were handed on, then the server's
	// error; the connection goes on.
	s = recordSink{}
	sum, err := c.Forward("SELECT IF(seq < 3, seq, (SELECT 1 UNION SELECT 2)) FROM seq_1_to_5", &s)
	if e, ok := sqlerr.As(err); !ok || e.Number != 1242 || sum.Rows != 2 {
		t.Fatalf("%+v %v", sum, err)
	}
	if c.IsBroken() {
		t.Fatal("broken after a server error")
	}
	if got := exec(t, c, "SELECT 4"); got[0] != "4" {
		t.Fatal(got)
	}
	// A sink that fails leaves the connection broken.
	_, err = c.Forward("SELECT 1", &recordSink{failAt: 2})
	if err == nil || !c.IsBroken() {
		t.Fatalf("%v %v", err, c.IsBroken())
	}
}

// A row over 16 MiB comes in continuation frames: handed on as one
// packet; the buffer is not kept.
func TestForwardBigRow(t *testing.T) {
	if err := node.Exec(context.Background(), "SET GLOBAL max_allowed_packet = 67108864"); err != nil {
		t.Fatal(err)
	}
	c := dialTest(t) // after the SET: the session's value is the global's at login
	for _, n := range []int{1<<24 - 1 - 4, 1<<24 - 1 - 5, 1<<24 + 100} {
		var s recordSink
		sum, err := c.Forward("SELECT REPEAT('z', "+strconv.Itoa(n)+")", &s)
		if err != nil {
			t.Fatalf("%d: %v", n, err)
		}
		row := s.packets[len(s.packets)-1]
		if sum.Rows != 1 || len(row) < n || strings.Count(string(row), "z") != n {
			t.Fatalf("%d: %+v, row of %d bytes", n, sum, len(row))
		}
		if cap(c.rbuf) > maxKeptBuffer {
			t.Fatalf("kept a buffer of %d bytes", cap(c.rbuf))
		}
	}
	if got := exec(t, c, "SELECT 5"); got[0] != "5" {
		t.Fatal(got)
	}
}

// A select list of more than 4096 columns (MariaDB's limit on a table's
// columns, not a result's) is forwarded: its count is length-encoded over
// 3 bytes, and the connection goes on.
func TestForwardManyColumns(t *testing.T) {
	c := dialTest(t)
	var b strings.Builder
	b.WriteString("SELECT 0")
	for i := 1; i < 5001; i++ {
		b.WriteString(", " + strconv.Itoa(i))
	}
	var s recordSink
	sum, err := c.Forward(b.String(), &s)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Columns != 5001 || sum.Rows != 1 || len(s.kinds) != 1+5001+1+1 {
		t.Fatalf("summary %+v, %d packets", sum, len(s.kinds))
	}
	if !bytes.Equal(s.packets[0], []byte{0xfc, 0x89, 0x13}) {
		t.Fatalf("column count %x", s.packets[0])
	}
	if got := exec(t, c, "SELECT 3"); got[0] != "3" {
		t.Fatal(got)
	}
}
