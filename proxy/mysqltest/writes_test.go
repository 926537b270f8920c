package mysqltest

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/shardmap"
)

// Writes on several shards through the MySQL endpoint: DDL fanned out
// shard by shard, multi-row INSERT split by key, UPDATE/DELETE without a
// key, reference-table writes; the writes commit on every shard or none
// (XA with a decision row on the first shard).

// countOn counts rows on one shard's server directly.
func countOn(t *testing.T, shard int, query string, args ...any) string {
	t.Helper()
	return one(t, direct(t, shard), query, args...)
}

func TestDDLFanOut(t *testing.T) {
	c := conn(t, "")
	execOK(t, c, "DROP TABLE IF EXISTS fan_ddl")
	execOK(t, c, "CREATE TABLE fan_ddl (id BIGINT PRIMARY KEY, v INT) ENGINE=InnoDB")
	for sh := range 2 {
		if got := countOn(t, sh, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'fan_ddl'"); got != "1" {
			t.Fatalf("shard %d: fan_ddl exists %s times", sh, got)
		}
	}
	// Safe to re-run.
	execOK(t, c, "CREATE TABLE IF NOT EXISTS fan_ddl (id BIGINT PRIMARY KEY, v INT) ENGINE=InnoDB")
	execOK(t, c, "CREATE INDEX fan_ddl_v ON fan_ddl (v)")
	execOK(t, c, "ALTER TABLE fan_ddl ADD COLUMN w INT")
	for sh := range 2 {
		if got := countOn(t, sh, "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'fan_ddl' AND column_name = 'w'"); got != "1" {
			t.Fatalf("shard %d: column w: %s", sh, got)
		}
	}

	// A DDL failing on the second shard only: the first keeps it, and
	// the error names both.
	if _, err := direct(t, 1).Exec("CREATE TABLE fan_ddl2 (id BIGINT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.ExecContext(context.Background(), "DROP TABLE IF EXISTS fan_ddl2") })
	_, err := c.ExecContext(context.Background(), "CREATE TABLE fan_ddl2 (id BIGINT PRIMARY KEY)")
	me := wantMySQLError(t, err, 1050, "42S01")
	if !strings.Contains(me.Message, "failed on shard 80-") || !strings.Contains(me.Message, "done on shards: -80") || !strings.Contains(me.Message, "not run on shards: none") {
		t.Fatalf("message does not name the shards: %q", me.Message)
	}
	execOK(t, c, "CREATE TABLE IF NOT EXISTS fan_ddl2 (id BIGINT PRIMARY KEY)")
	execOK(t, c, "DROP TABLE fan_ddl")
	for sh := range 2 {
		if got := countOn(t, sh, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'fan_ddl'"); got != "0" {
			t.Fatalf("shard %d: fan_ddl still there", sh)
		}
	}

	// The mariadb client: CREATE then DROP, and a failing one reports.
	out, err := mariadbCLI(t, "app", "-e", "CREATE TABLE fan_cli (id BIGINT PRIMARY KEY); SELECT 'made';")
	if err != nil || !strings.Contains(out, "made") {
		t.Fatalf("%v: %s", err, out)
	}
	for sh := range 2 {
		if got := countOn(t, sh, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'fan_cli'"); got != "1" {
			t.Fatalf("shard %d: fan_cli missing", sh)
		}
	}
	out, err = mariadbCLI(t, "app", "-e", "CREATE TABLE fan_cli (id BIGINT PRIMARY KEY)")
	if err == nil || !strings.Contains(out, "ERROR 1050") || !strings.Contains(out, "failed on shard -80") || !strings.Contains(out, "not run on shards: 80-") {
		t.Fatalf("re-create: %v: %s", err, out)
	}
	if out, err := mariadbCLI(t, "app", "-e", "DROP TABLE IF EXISTS fan_cli"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
}

func TestMultiRowInsertSplit(t *testing.T) {
	c := conn(t, "")
	a := idsOnEachShard(t, 7000)
	b := idsOnEachShard(t, max(a[0], a[1])+1)
	execOK(t, c, "DELETE FROM users WHERE id IN (?, ?, ?, ?)", a[0], a[1], b[0], b[1])
	r := execOK(t, c, "INSERT INTO users (id, name) VALUES (?, 'a0'), (?, 'a1'), (?, 'b0'), (?, 'b1')", a[0], a[1], b[0], b[1])
	if n, _ := r.RowsAffected(); n != 4 {
		t.Fatalf("affected rows %d, want 4", n)
	}
	for i, id := range []int64{a[0], a[1], b[0], b[1]} {
		sh := i % 2
		if got := countOn(t, sh, "SELECT COUNT(*) FROM users WHERE id = ?", id); got != "1" {
			t.Fatalf("id %d not on shard %d", id, sh)
		}
		if got := countOn(t, 1-sh, "SELECT COUNT(*) FROM users WHERE id = ?", id); got != "0" {
			t.Fatalf("id %d also on shard %d", id, 1-sh)
		}
	}
	// ROW_COUNT() answers the whole statement.
	if got := one(t, c, "SELECT ROW_COUNT()"); got != "4" {
		t.Fatalf("ROW_COUNT() %s", got)
	}

	// A duplicate key on one shard: no row lands anywhere.
	c2 := conn(t, "")
	d := idsOnEachShard(t, max(b[0], b[1])+1)
	_, err := c2.ExecContext(context.Background(), "INSERT INTO users (id, name) VALUES (?, 'new'), (?, 'dup')", d[0], a[1])
	wantMySQLError(t, err, 1062, "23000")
	if got := countOn(t, 0, "SELECT COUNT(*) FROM users WHERE id = ?", d[0]); got != "0" {
		t.Fatalf("half-applied: the other shard's row %d is there", d[0])
	}
	if got := countOn(t, 1, "SELECT name FROM users WHERE id = ?", a[1]); got != "a1" {
		t.Fatalf("row %d: %s", a[1], got)
	}
	noPreparedBranches(t)

	// Generated ids: the statement's first row's shard reports its id.
	execOK(t, c, "DELETE FROM events WHERE user_id IN (?, ?)", a[0], a[1])
	r = execOK(t, c, "INSERT INTO events (user_id, note) VALUES (?, 'x'), (?, 'y')", a[1], a[0])
	id, _ := r.LastInsertId()
	if got := countOn(t, 1, "SELECT COUNT(*) FROM events WHERE id = ? AND user_id = ?", id, a[1]); got != "1" {
		t.Fatalf("last insert id %d is not the first row's (on shard 1)", id)
	}
	if got := one(t, c, "SELECT LAST_INSERT_ID()"); got != itoa(id) {
		t.Fatalf("LAST_INSERT_ID() %s, want %d", got, id)
	}
}

func TestUpdateDeleteOnBothShards(t *testing.T) {
	c := conn(t, "")
	a := idsOnEachShard(t, 7100)
	execOK(t, c, "DELETE FROM orders WHERE user_id IN (?, ?)", a[0], a[1])
	execOK(t, c, "INSERT INTO orders VALUES (?, ?, 10), (?, ?, 20)", a[0]*10, a[0], a[1]*10, a[1])
	// No key: both shards.
	r := execOK(t, c, "UPDATE orders SET amount = amount + 1 WHERE id IN (?, ?)", a[0]*10, a[1]*10)
	if n, _ := r.RowsAffected(); n != 2 {
		t.Fatalf("affected %d, want 2", n)
	}
	if got := countOn(t, 0, "SELECT amount FROM orders WHERE user_id = ?", a[0]); got != "11.00" {
		t.Fatalf("shard 0: %s", got)
	}
	if got := countOn(t, 1, "SELECT amount FROM orders WHERE user_id = ?", a[1]); got != "21.00" {
		t.Fatalf("shard 1: %s", got)
	}
	// A key IN list over both shards: each shard gets its own values.
	r = execOK(t, c, "UPDATE orders SET amount = 5 WHERE user_id IN (?, ?)", a[0], a[1])
	if n, _ := r.RowsAffected(); n != 2 {
		t.Fatalf("affected %d, want 2", n)
	}
	r = execOK(t, c, "DELETE FROM orders WHERE amount = 5 AND user_id IN (?, ?)", a[0], a[1])
	if n, _ := r.RowsAffected(); n != 2 {
		t.Fatalf("deleted %d, want 2", n)
	}
	for sh := range 2 {
		if got := countOn(t, sh, "SELECT COUNT(*) FROM orders WHERE user_id = ?", a[sh]); got != "0" {
			t.Fatalf("shard %d kept its order", sh)
		}
	}
	// A reference table: every copy, one copy's count.
	execOK(t, c, "DELETE FROM products WHERE id = 99")
	r = execOK(t, c, "INSERT INTO products VALUES (99, 'fan')")
	if n, _ := r.RowsAffected(); n != 1 {
		t.Fatalf("reference insert affected %d, want 1 (one copy)", n)
	}
	for sh := range 2 {
		if got := countOn(t, sh, "SELECT name FROM products WHERE id = 99"); got != "fan" {
			t.Fatalf("copy on shard %d: %s", sh, got)
		}
	}
	execOK(t, c, "DELETE FROM products WHERE id = 99")
	noPreparedBranches(t)
}

// noPreparedBranches: no XA branch was left prepared on either shard.
func noPreparedBranches(t *testing.T) {
	t.Helper()
	for sh, n := range preparedBranches(t) {
		if n != 0 {
			t.Fatalf("shard %d: %d prepared XA branches left", sh, n)
		}
	}
}

// preparedBranches counts each shard's prepared XA branches.
func preparedBranches(t *testing.T) [2]int {
	t.Helper()
	var counts [2]int
	for sh := range counts {
		rows, err := direct(t, sh).Query("XA RECOVER")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			counts[sh]++
		}
		rows.Close()
	}
	return counts
}

// resolverBound is how long the resolver may take to finish a branch its
// owner left in doubt: its grace period (2s) and its interval (1s), with
// room for a loaded machine.
const resolverBound = 8 * time.Second

// branchesResolved waits, up to resolverBound, until no shard holds a
// prepared XA branch: for tests where a branch may be left in doubt by
// design (a KILL during the commit), which the resolver then finishes.
func branchesResolved(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(resolverBound)
	for {
		counts := preparedBranches(t)
		if counts == [2]int{} {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("prepared XA branches left after %v (shard 0: %d, shard 1: %d)", resolverBound, counts[0], counts[1])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A transaction writing on both shards commits both (XA: the second
// shard's part is a branch, the first's COMMIT carries the decision row),
// or, after ROLLBACK, neither.
func TestTransactionWritesBothShards(t *testing.T) {
	ctx := context.Background()
	c := conn(t, "")
	a := idsOnEachShard(t, 7200)
	execOK(t, c, "DELETE FROM users WHERE id IN (?, ?)", a[0], a[1])

	before := countOn(t, 0, "SELECT COUNT(*) FROM shardgate_2pc WHERE decision = 'commit'")
	execOK(t, c, "BEGIN")
	execOK(t, c, "INSERT INTO users VALUES (?, 'tx0')", a[0])
	execOK(t, c, "INSERT INTO users VALUES (?, 'tx1')", a[1])
	// The transaction sees its own rows on both shards.
	if got := one(t, c, "SELECT name FROM users WHERE id = ?", a[1]); got != "tx1" {
		t.Fatalf("own row: %s", got)
	}
	if got := countOn(t, 1, "SELECT COUNT(*) FROM users WHERE id = ?", a[1]); got != "0" {
		t.Fatal("uncommitted row visible outside")
	}
	execOK(t, c, "COMMIT")
	for sh := range 2 {
		if got := countOn(t, sh, "SELECT name FROM users WHERE id = ?", a[sh]); got != "tx"+itoa(int64(sh)) {
			t.Fatalf("shard %d: %q", sh, got)
		}
	}
	// Both parts wrote: two phases, the decision row on the anchor's shard.
	if got := countOn(t, 0, "SELECT COUNT(*) FROM shardgate_2pc WHERE decision = 'commit'"); got == before {
		t.Fatal("no decision row on the anchor's shard")
	}
	noPreparedBranches(t)

	// ROLLBACK: neither.
	execOK(t, c, "BEGIN")
	execOK(t, c, "UPDATE users SET name = 'rb' WHERE id = ?", a[1])
	execOK(t, c, "UPDATE users SET name = 'rb' WHERE id = ?", a[0])
	execOK(t, c, "ROLLBACK")
	for sh := range 2 {
		if got := countOn(t, sh, "SELECT name FROM users WHERE id = ?", a[sh]); got != "tx"+itoa(int64(sh)) {
			t.Fatalf("shard %d after ROLLBACK: %q", sh, got)
		}
	}

	// A duplicate key on the second shard fails that statement only (as
	// on one server); the client rolls back: neither.
	b := idsOnEachShard(t, max(a[0], a[1])+1)
	execOK(t, c, "DELETE FROM users WHERE id IN (?, ?)", b[0], b[1])
	execOK(t, c, "BEGIN")
	execOK(t, c, "INSERT INTO users VALUES (?, 'new')", b[0])
	_, err := c.ExecContext(ctx, "INSERT INTO users VALUES (?, 'dup')", a[1])
	wantMySQLError(t, err, 1062, "23000")
	execOK(t, c, "ROLLBACK")
	if got := countOn(t, 0, "SELECT COUNT(*) FROM users WHERE id = ?", b[0]); got != "0" {
		t.Fatal("rolled back row is there")
	}

	// A part lost before COMMIT (its server connection killed): COMMIT
	// fails and nothing commits, on either shard.
	execOK(t, c, "BEGIN")
	execOK(t, c, "INSERT INTO users VALUES (?, 'lost0')", b[0])
	execOK(t, c, "INSERT INTO users VALUES (?, 'lost1')", b[1])
	// The current part is the second shard's: its server thread.
	victim := one(t, c, "SELECT @@pseudo_thread_id")
	if _, err := direct(t, 1).Exec("KILL " + victim); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err == nil {
		t.Fatal("COMMIT with a lost part succeeded")
	}
	for sh := range 2 {
		if got := countOn(t, sh, "SELECT COUNT(*) FROM users WHERE id = ?", b[sh]); got != "0" {
			t.Fatalf("half-applied: shard %d has its row", sh)
		}
	}
	noPreparedBranches(t)

	// The mariadb client: one script, both shards.
	out, err := mariadbCLI(t, "app", "-e", "BEGIN; INSERT INTO users VALUES ("+itoa(b[0])+", 'cli0'); INSERT INTO users VALUES ("+itoa(b[1])+", 'cli1'); COMMIT;")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for sh := range 2 {
		if got := countOn(t, sh, "SELECT name FROM users WHERE id = ?", b[sh]); got != "cli"+itoa(int64(sh)) {
			t.Fatalf("shard %d: %q", sh, got)
		}
	}
}

// autocommit=0 (PyMySQL's default): every statement opens a transaction,
// which may write on both shards before COMMIT.
func TestAutocommitOffWritesBothShards(t *testing.T) {
	c := conn(t, "autocommit=false")
	a := idsOnEachShard(t, 7300)
	execOK(t, c, "DELETE FROM users WHERE id IN (?, ?)", a[0], a[1])
	execOK(t, c, "COMMIT")
	execOK(t, c, "INSERT INTO users VALUES (?, 'ac0')", a[1])
	execOK(t, c, "INSERT INTO users VALUES (?, 'ac1')", a[0])
	execOK(t, c, "COMMIT")
	for sh := range 2 {
		if got := countOn(t, sh, "SELECT COUNT(*) FROM users WHERE id = ?", a[sh]); got != "1" {
			t.Fatalf("shard %d: %s", sh, got)
		}
	}
	noPreparedBranches(t)
}

// Statements on several shards inside a transaction: each piece runs on
// its shard's part, COMMIT commits all; a piece failing after another
// changed rows rolls the whole transaction back, and says so.
func TestFanOutInTransaction(t *testing.T) {
	ctx := context.Background()
	c := conn(t, "")
	a := idsOnEachShard(t, 7400)
	b := idsOnEachShard(t, max(a[0], a[1])+1)
	execOK(t, c, "DELETE FROM users WHERE id IN (?, ?, ?, ?)", a[0], a[1], b[0], b[1])

	execOK(t, c, "BEGIN")
	r := execOK(t, c, "INSERT INTO users VALUES (?, 'f0'), (?, 'f1')", a[0], a[1])
	if n, _ := r.RowsAffected(); n != 2 {
		t.Fatalf("affected %d", n)
	}
	execOK(t, c, "ROLLBACK")
	for sh := range 2 {
		if got := countOn(t, sh, "SELECT COUNT(*) FROM users WHERE id = ?", a[sh]); got != "0" {
			t.Fatalf("shard %d kept a rolled back row", sh)
		}
	}

	execOK(t, c, "BEGIN")
	execOK(t, c, "INSERT INTO users VALUES (?, 'f0'), (?, 'f1')", a[0], a[1])
	execOK(t, c, "UPDATE users SET name = CONCAT(name, '+') WHERE id IN (?, ?)", a[0], a[1])
	execOK(t, c, "COMMIT")
	for sh := range 2 {
		if got := countOn(t, sh, "SELECT name FROM users WHERE id = ?", a[sh]); got != "f"+itoa(int64(sh))+"+" {
			t.Fatalf("shard %d: %q", sh, got)
		}
	}

	// The second piece fails (a duplicate on the second shard) after the
	// first inserted: the transaction is rolled back, with its earlier
	// write.
	execOK(t, c, "BEGIN")
	execOK(t, c, "INSERT INTO users VALUES (?, 'early')", b[1])
	_, err := c.ExecContext(ctx, "INSERT INTO users VALUES (?, 'x'), (?, 'dup')", b[0], a[1])
	me := wantMySQLError(t, err, 1062, "23000")
	if !strings.Contains(me.Message, "rolled back") {
		t.Fatalf("message: %q", me.Message)
	}
	execOK(t, c, "COMMIT")
	for sh := range 2 {
		if got := countOn(t, sh, "SELECT COUNT(*) FROM users WHERE id = ?", b[sh]); got != "0" {
			t.Fatalf("shard %d: a row of the rolled back transaction is there", sh)
		}
	}
	noPreparedBranches(t)
}

// The resolver finishes branches their owner left prepared: one whose
// anchor has a 'commit' row commits; one without a row gets an 'abort'
// row (the fence) and rolls back.
func TestXAResolver(t *testing.T) {
	ctx := context.Background()
	a := idsOnEachShard(t, 7500)
	id1, id2 := a[1], idsOnEachShard(t, a[1]+1)[1]
	d0, d1 := direct(t, 0), direct(t, 1)
	for _, id := range []int64{id1, id2} {
		if _, err := d1.Exec("DELETE FROM users WHERE id = ?", id); err != nil {
			t.Fatal(err)
		}
	}
	// Through the proxy first, so that the decision log exists.
	execOK(t, conn(t, ""), "SELECT COUNT(*) FROM users WHERE id = ?", a[0])
	// A run before this one (go test -count=N) left its decisions.
	if _, err := d0.Exec("DELETE FROM shardgate_2pc WHERE owner = 'deadproxy.t'"); err != nil {
		t.Fatal(err)
	}
	orphan := func(gtrid string, id int64) {
		c, err := d1.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"XA START '" + gtrid + "','1'", "INSERT INTO users VALUES (" + itoa(id) + ", 'orphan')", "XA END '" + gtrid + "','1'", "XA PREPARE '" + gtrid + "','1'"} {
			if _, err := c.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		c.Raw(func(any) error { return driver.ErrBadConn }) // closes it: the branch stays prepared
		c.Close()
	}
	orphan("sg:deadproxy.t:1:0", id1)
	orphan("sg:deadproxy.t:2:0", id2)
	if _, err := d0.Exec("INSERT INTO shardgate_2pc (gid, decision, owner) VALUES ('sg:deadproxy.t:1:0', 'commit', 'deadproxy.t')"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		var n int
		rows, err := d1.Query("XA RECOVER")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			n++
		}
		rows.Close()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d branches still prepared", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := countOn(t, 1, "SELECT COUNT(*) FROM users WHERE id = ?", id1); got != "1" {
		t.Fatal("the decided branch did not commit")
	}
	if got := countOn(t, 1, "SELECT COUNT(*) FROM users WHERE id = ?", id2); got != "0" {
		t.Fatal("the undecided branch committed")
	}
	if got := countOn(t, 0, "SELECT decision FROM shardgate_2pc WHERE gid = 'sg:deadproxy.t:2:0'"); got != "abort" {
		t.Fatalf("fence row: %q", got)
	}
}

// A deadlock on one shard rolls back the victim's whole transaction on
// every shard, as it would on one server: its earlier write on the other
// shard does not commit at the client's next COMMIT.
func TestDeadlockRollsBackEveryShard(t *testing.T) {
	ctx := context.Background()
	a := idsOnEachShard(t, 7600)
	x := idsOnEachShard(t, max(a[0], a[1])+1)[0] // a second row on shard 0
	setup := conn(t, "")
	execOK(t, setup, "DELETE FROM users WHERE id IN (?, ?, ?)", a[0], a[1], x)
	execOK(t, setup, "INSERT INTO users VALUES (?, 'a0'), (?, 'a1'), (?, 'x')", a[0], a[1], x)
	heavy := idsOnEachShard(t, x+1)[0]

	c1, c2 := conn(t, ""), conn(t, "")
	execOK(t, c1, "BEGIN")
	execOK(t, c1, "UPDATE users SET name = 'c1' WHERE id = ?", a[1]) // the anchor, shard 1
	execOK(t, c1, "UPDATE users SET name = 'c1' WHERE id = ?", a[0]) // a branch, shard 0
	execOK(t, c2, "BEGIN")
	execOK(t, c2, "UPDATE users SET name = 'c2' WHERE id = ?", x)
	// c2 changes more rows: InnoDB picks c1's branch as the victim.
	execOK(t, c2, "DELETE FROM users WHERE id BETWEEN ? AND ?", heavy, heavy+40)
	for i := range int64(10) {
		if shardOf(t, heavy+i*4) == 0 {
			execOK(t, c2, "INSERT INTO users VALUES (?, 'heavy')", heavy+i*4)
		}
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c1.ExecContext(ctx, "UPDATE users SET name = 'c1' WHERE id = ?", x)
		errc <- err
	}()
	time.Sleep(300 * time.Millisecond) // c1 waits for x
	_, err2 := c2.ExecContext(ctx, "UPDATE users SET name = 'c2' WHERE id = ?", a[0])
	err1 := <-errc
	if err2 != nil {
		t.Fatalf("c2 was the victim (%v); c1: %v", err2, err1)
	}
	wantMySQLError(t, err1, 1213, "40001")
	execOK(t, c1, "COMMIT")
	execOK(t, c2, "ROLLBACK")
	if got := countOn(t, 1, "SELECT name FROM users WHERE id = ?", a[1]); got != "a1" {
		t.Fatalf("the victim's write on the other shard committed: %q", got)
	}
	noPreparedBranches(t)
	// The victim's branch was left ROLLBACK ONLY by the server: its
	// connection must not go back to the pool so (2 per node: two
	// transactions at once use both).
	h1, h2 := conn(t, ""), conn(t, "")
	execOK(t, h1, "BEGIN")
	execOK(t, h1, "UPDATE users SET name = 'x' WHERE id = ?", x)
	execOK(t, h2, "BEGIN")
	execOK(t, h2, "UPDATE users SET name = 'a0' WHERE id = ?", a[0])
	execOK(t, h1, "COMMIT")
	execOK(t, h2, "COMMIT")
}

// The proxy's connections die between the phases (as when the proxy is
// killed): the second shard's branch is prepared, the decision row was
// never written. The resolver fences the transaction with an 'abort' row
// and rolls the branch back: neither shard keeps its row.
func TestLostBetweenPhases(t *testing.T) {
	ctx := context.Background()
	a := idsOnEachShard(t, 7700)
	c := conn(t, "")
	execOK(t, c, "DELETE FROM users WHERE id IN (?, ?)", a[0], a[1])
	execOK(t, c, "BEGIN")
	execOK(t, c, "INSERT INTO users VALUES (?, 'p0')", a[0]) // the anchor, shard 0
	execOK(t, c, "INSERT INTO users VALUES (?, 'p1')", a[1]) // a branch, shard 1

	// A table lock holds the decision row's INSERT.
	d0, d1 := direct(t, 0), direct(t, 1)
	lock, err := d0.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, "LOCK TABLES shardgate_2pc WRITE"); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.ExecContext(ctx, "COMMIT")
		errc <- err
	}()
	// Wait until the proxy writes its decision (the branch is prepared).
	var anchorThread int64
	for deadline := time.Now().Add(10 * time.Second); ; {
		err := d0.QueryRowContext(ctx, "SELECT id FROM information_schema.processlist WHERE info LIKE 'INSERT INTO shardgate_2pc%'").Scan(&anchorThread)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			var pl []string
			r, _ := d0.QueryContext(ctx, "SELECT CONCAT(id, ' ', command, ' ', IFNULL(state,''), ' ', IFNULL(info,'')) FROM information_schema.processlist")
			for r.Next() {
				var x string
				r.Scan(&x)
				pl = append(pl, x)
			}
			r.Close()
			t.Fatalf("the decision row's INSERT never waited: %v; processlist %q", err, pl)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The proxy "dies": its connections to shard 1 first (the prepared
	// branch stays), then the anchor's.
	rows, err := d1.QueryContext(ctx, "SELECT id FROM information_schema.processlist WHERE user = 'app' AND id <> CONNECTION_ID()")
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		d1.ExecContext(ctx, "KILL "+itoa(id)) //nolint:errcheck // it may be gone already
	}
	if _, err := d0.ExecContext(ctx, "KILL "+itoa(anchorThread)); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err == nil {
		t.Fatal("COMMIT succeeded without its decision row")
	}
	if _, err := lock.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; {
		var n int
		r, err := d1.QueryContext(ctx, "XA RECOVER")
		if err != nil {
			t.Fatal(err)
		}
		var left []string
		for r.Next() {
			var f, g, b int
			var data string
			r.Scan(&f, &g, &b, &data)
			left = append(left, data)
			n++
		}
		r.Close()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d branches still prepared: %q", n, left)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for sh := range 2 {
		if got := countOn(t, sh, "SELECT COUNT(*) FROM users WHERE id = ?", a[sh]); got != "0" {
			t.Fatalf("shard %d kept its row", sh)
		}
	}
}

// With transactions.two_phase_commit: off, a write reaching several
// shards is refused, in autocommit and in a transaction (never a silent
// one-phase commit); DDL still fans out.
func TestTwoPhaseOff(t *testing.T) {
	ctx := context.Background()
	cfg, err := testConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Transactions.TwoPhaseCommit = config.TwoPhaseOff
	addr, _ := ownEndpoint(t, cfg, func() *shardmap.Snapshot { return snap })
	c := conn(t, "") // through the main endpoint, to set up
	a := idsOnEachShard(t, 7800)
	execOK(t, c, "DELETE FROM users WHERE id IN (?, ?)", a[0], a[1])

	oc, err := openDSN(t, fmt.Sprintf("app:app@tcp(%s)/app", addr)).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Close()
	_, err = oc.ExecContext(ctx, "INSERT INTO users VALUES (?, 'o0'), (?, 'o1')", a[0], a[1])
	me := wantMySQLError(t, err, 1235, "42000")
	if !strings.Contains(me.Message, "two_phase_commit is off") {
		t.Fatalf("message: %q", me.Message)
	}
	execOK(t, oc, "BEGIN")
	execOK(t, oc, "INSERT INTO users VALUES (?, 'o0')", a[0])
	_, err = oc.ExecContext(ctx, "INSERT INTO users VALUES (?, 'o1')", a[1])
	wantMySQLError(t, err, 1235, "42000")
	execOK(t, oc, "COMMIT")
	if got := countOn(t, 0, "SELECT COUNT(*) FROM users WHERE id = ?", a[0]); got != "1" {
		t.Fatal("the one-shard write did not commit")
	}
	if got := countOn(t, 1, "SELECT COUNT(*) FROM users WHERE id = ?", a[1]); got != "0" {
		t.Fatal("the refused write is there")
	}
	execOK(t, oc, "CREATE TABLE IF NOT EXISTS fan_off (id BIGINT PRIMARY KEY)")
	execOK(t, oc, "DROP TABLE fan_off")
}

// A ledger under concurrency: 4 clients move money from a row on the first
// shard to a row on the second in two-shard transactions (2 server
// connections per node: they share them); every transfer commits on both
// shards, none half.
func TestLedgerTwoShards(t *testing.T) {
	ctx := context.Background()
	a := idsOnEachShard(t, 7900)
	setup := conn(t, "")
	execOK(t, setup, "DELETE FROM orders WHERE user_id IN (?, ?)", a[0], a[1])
	execOK(t, setup, "INSERT INTO orders VALUES (?, ?, 1000), (?, ?, 1000)", a[0]*10, a[0], a[1]*10, a[1])
	const clients, transfers = 4, 25
	errc := make(chan error, clients)
	for range clients {
		c := conn(t, "")
		go func() {
			for range transfers {
				for _, q := range []string{"BEGIN", "UPDATE orders SET amount = amount - 1 WHERE user_id = " + itoa(a[0]),
					"UPDATE orders SET amount = amount + 1 WHERE user_id = " + itoa(a[1]), "COMMIT"} {
					if _, err := c.ExecContext(ctx, q); err != nil {
						errc <- fmt.Errorf("%s: %w", q, err)
						return
					}
				}
			}
			errc <- nil
		}()
	}
	for range clients {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	want := [2]string{itoa(1000-clients*transfers) + ".00", itoa(1000+clients*transfers) + ".00"}
	for sh := range 2 {
		if got := countOn(t, sh, "SELECT amount FROM orders WHERE user_id = ?", a[sh]); got != want[sh] {
			t.Fatalf("shard %d: %s, want %s", sh, got, want[sh])
		}
	}
	noPreparedBranches(t)
}
