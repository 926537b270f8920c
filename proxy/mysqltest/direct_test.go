package mysqltest

import (
	"context"
	"database/sql"
	"math"
	"strconv"
	"strings"
	"testing"
)

// Direct commands (frontend/mysqlwire/direct.go): a one-shard read is
// answered without vitess's command loop, and a prepared one is routed
// from the client's parameter bytes instead of from its values written
// into the text. These tests check that such reads find what the text
// path finds, whatever type the key is bound as, and that errors, status
// flags and warnings reach the client as from the text path.

// directCount is the endpoint's direct commands so far.
func directCount() uint64 { return myProxy.Stats().Direct }

// Keys at the edges of every integer width, bound as signed and unsigned
// integers and as strings, each find their row (on its own shard) as a
// prepared statement and as text — and every one of those reads is a
// direct command.
func TestDirectKeysRouteAsLiterals(t *testing.T) {
	c := conn(t, "")
	ids := []int64{math.MinInt64, math.MinInt32 - 1, math.MinInt32, -32769, -129, -128, -1, 0, 1, 127, 128, 255, 256,
		32767, 32768, 65535, 65536, math.MaxInt32, math.MaxInt32 + 1, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64 - 1, math.MaxInt64}
	t.Cleanup(func() {
		// Other tests count rows with small ids (1, -1): these go.
		for _, id := range ids {
			execOK(t, c, "DELETE FROM users WHERE id = "+strconv.FormatInt(id, 10))
		}
	})
	shards := map[int]bool{}
	for _, id := range ids {
		execOK(t, c, "DELETE FROM users WHERE id = "+strconv.FormatInt(id, 10))
		execOK(t, c, "INSERT INTO users VALUES ("+strconv.FormatInt(id, 10)+", 'edge "+strconv.FormatInt(id, 10)+"')")
		shards[shardOf(t, id)] = true
	}
	if len(shards) != 2 {
		t.Fatalf("the edge ids are on %d shards; want both", len(shards))
	}
	stmt, err := c.PrepareContext(context.Background(), "SELECT name FROM users WHERE id = ?")
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	before := directCount()
	reads := 0
	for _, id := range ids {
		want := "edge " + strconv.FormatInt(id, 10)
		binds := []any{id, strconv.FormatInt(id, 10)}
		if id >= 0 {
			binds = append(binds, uint64(id))
		}
		for _, b := range binds {
			var name string
			if err := stmt.QueryRowContext(context.Background(), b).Scan(&name); err != nil || name != want {
				t.Fatalf("prepared, id %d bound as %T: %q, %v; want %q", id, b, name, err, want)
			}
			reads++
		}
		var name string
		if err := c.QueryRowContext(context.Background(), "SELECT name FROM users WHERE id = "+strconv.FormatInt(id, 10)).Scan(&name); err != nil || name != want {
			t.Fatalf("text, id %d: %q, %v; want %q", id, name, err, want)
		}
		reads++
	}
	if got := directCount() - before; got < uint64(reads) {
		t.Fatalf("%d direct commands for %d one-shard reads", got, reads)
	}
	// Past int64: a BIGINT has no such row, as MariaDB itself answers (a
	// key no shard holds: not a one-shard read, vitess's path answers).
	var name string
	if err := stmt.QueryRowContext(context.Background(), uint64(math.MaxUint64)).Scan(&name); err != sql.ErrNoRows {
		t.Fatalf("id 2^64-1: %q, %v; want no row", name, err)
	}
}

// A key bound as a string with a backslash or as a double is not read by
// the direct path (the text path writes those otherwise): the read still
// runs, through vitess, and finds its row.
func TestDirectLeavesOddKeysToVitess(t *testing.T) {
	c := conn(t, "")
	id := idsOnEachShard(t, 7100)[1]
	execOK(t, c, "DELETE FROM users WHERE id = ?", id)
	execOK(t, c, "INSERT INTO users VALUES (?, 'odd')", id)
	before := directCount()
	var name string
	if err := c.QueryRowContext(context.Background(), "SELECT name FROM users WHERE id = ?", float64(id)).Scan(&name); err != nil || name != "odd" {
		t.Fatalf("id bound as a double: %q, %v", name, err)
	}
	if err := c.QueryRowContext(context.Background(), "SELECT name FROM users WHERE id = ? AND name <> ?", id, `a\b`).Scan(&name); err != nil || name != "odd" {
		t.Fatalf("with a backslash in another parameter: %q, %v", name, err)
	}
	if got := directCount() - before; got != 1 {
		// The double is not keyed: that read goes through vitess; the
		// backslash is in a parameter that is no key: that one is direct.
		t.Fatalf("%d direct commands; want 1 (the read whose key is an integer)", got)
	}
}

// A server's error in a direct command reaches the client with its number
// and SQLSTATE, the connection goes on; a read in autocommit=0 opens a
// transaction the session then reports as open, as MariaDB does.
func TestDirectErrorsAndTransactionFlags(t *testing.T) {
	c := conn(t, "")
	id := idsOnEachShard(t, 7200)[0]
	execOK(t, c, "DELETE FROM users WHERE id = ?", id)
	execOK(t, c, "INSERT INTO users VALUES (?, 'flags')", id)
	before := directCount()
	_, err := c.QueryContext(context.Background(), "SELECT nosuch FROM users WHERE id = "+strconv.FormatInt(id, 10))
	wantMySQLError(t, err, 1054, "42S22")
	if got := directCount() - before; got != 1 {
		t.Fatalf("the read that failed: %d direct commands; want 1", got)
	}
	before = directCount()
	var name string
	if err := c.QueryRowContext(context.Background(), "SELECT name FROM users WHERE id = "+strconv.FormatInt(id, 10)).Scan(&name); err != nil || name != "flags" {
		t.Fatalf("after the error: %q, %v", name, err)
	}
	if got := directCount() - before; got != 1 {
		t.Fatalf("the read after the error: %d direct commands; want 1", got)
	}
	// In autocommit=0, on either shard (the prepare's column probe runs
	// on the session's home shard: it must not open a transaction there).
	// Two clients per id: their connection ids, one odd and one even,
	// give them different home shards.
	ids := idsOnEachShard(t, 7250)
	for _, id := range []int64{ids[0], ids[0], ids[1], ids[1]} {
		execOK(t, c, "DELETE FROM users WHERE id = ?", id)
		execOK(t, c, "INSERT INTO users VALUES (?, 'flags')", id)
		ac := conn(t, "")
		execOK(t, ac, "SET autocommit = 0")
		if err := ac.QueryRowContext(context.Background(), "SELECT name FROM users WHERE id = ?", id).Scan(&name); err != nil {
			t.Fatal(err)
		}
		var inTx int
		if err := ac.QueryRowContext(context.Background(), "SELECT @@in_transaction").Scan(&inTx); err != nil || inTx != 1 {
			t.Fatalf("@@in_transaction after a read in autocommit=0: %d, %v; want 1", inTx, err)
		}
		// Still in that transaction, on its shard: direct too.
		before = directCount()
		if err := ac.QueryRowContext(context.Background(), "SELECT name FROM users WHERE id = ?", id).Scan(&name); err != nil {
			t.Fatal(err)
		}
		if got := directCount() - before; got != 1 {
			t.Fatalf("id %d: %d direct commands in the open transaction; want 1", id, got)
		}
		execOK(t, ac, "COMMIT")
		if err := ac.QueryRowContext(context.Background(), "SELECT @@in_transaction").Scan(&inTx); err != nil || inTx != 0 {
			t.Fatalf("@@in_transaction after COMMIT: %d, %v; want 0", inTx, err)
		}
	}
}

// A direct command's warnings are counted in its result's end: the
// mariadb client reports "1 warning" for the row set.
func TestDirectWarnings(t *testing.T) {
	c := conn(t, "")
	id := idsOnEachShard(t, 7300)[1]
	execOK(t, c, "DELETE FROM users WHERE id = ?", id)
	execOK(t, c, "INSERT INTO users VALUES (?, 'warn')", id)
	before := directCount()
	out, err := mariadbCLI(t, "app", "-vvv", "-e", "SELECT 1/0 AS x FROM users WHERE id = "+strconv.FormatInt(id, 10))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "1 row in set, 1 warning") {
		t.Fatalf("the division by zero's warning was not counted:\n%s", out)
	}
	if directCount() == before {
		t.Fatal("the read was not a direct command")
	}
}
