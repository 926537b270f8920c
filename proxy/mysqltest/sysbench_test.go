package mysqltest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// fillSbtest empties sysbench's sbtest1 on both shards and fills it with
// ids 1..rows, each row on its own shard, written on the shards directly
// (as sysbench's prepare would, with --auto-inc=off).
func fillSbtest(t *testing.T, rows int) {
	t.Helper()
	ctx := context.Background()
	dbs := [2]*sql.DB{direct(t, 0), direct(t, 1)}
	for _, db := range dbs {
		if _, err := db.ExecContext(ctx, "DELETE FROM sbtest1"); err != nil {
			t.Fatal(err)
		}
	}
	var batch [2][]string
	flush := func(sh int) {
		if len(batch[sh]) == 0 {
			return
		}
		if _, err := dbs[sh].ExecContext(ctx, "INSERT INTO sbtest1 (id, k, c, pad) VALUES "+strings.Join(batch[sh], ",")); err != nil {
			t.Fatal(err)
		}
		batch[sh] = batch[sh][:0]
	}
	for id := int64(1); id <= int64(rows); id++ {
		sh := shardOf(t, id)
		batch[sh] = append(batch[sh], fmt.Sprintf("(%d, %d, 'c-%d', 'pad')", id, id%50, id))
		if len(batch[sh]) == 500 {
			flush(sh)
		}
	}
	flush(0)
	flush(1)
}

// sysbench runs one sysbench OLTP test through the proxy for seconds
// with 2 threads, and returns its output; it fails the test if sysbench
// fails, or reports no queries or any ignored error.
func sysbench(t *testing.T, test, psMode string, rows, seconds int, extra ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	args := append([]string{test, "--db-driver=mysql",
		"--mysql-host=" + host, "--mysql-port=" + port, "--mysql-user=app", "--mysql-password=app", "--mysql-db=app",
		"--mysql-ssl=off", "--tables=1", "--table-size=" + strconv.Itoa(rows), "--threads=2", "--time=" + strconv.Itoa(seconds),
		"--db-ps-mode=" + psMode}, extra...)
	out, err := exec.Command("sysbench", append(args, "run")...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s, ps mode %s: %v\n%s", test, psMode, err, out)
	}
	q := regexp.MustCompile(`(?m)^\s*queries:\s+(\d+)`).FindSubmatch(out)
	e := regexp.MustCompile(`(?m)^\s*ignored errors:\s+(\d+)`).FindSubmatch(out)
	if q == nil || e == nil || string(q[1]) == "0" || string(e[1]) != "0" {
		t.Fatalf("%s, ps mode %s: no queries, or errors:\n%s", test, psMode, out)
	}
	return string(out)
}

// sysbench's oltp_point_select runs through the proxy on sbtest1 sharded
// by id over the 2 shards, with prepared statements (libmariadb's
// COM_STMT_PREPARE/EXECUTE) and without: every query succeeds. This is a
// functional test (2 threads, 2 seconds), not a benchmark (bench/sysbench
// is).
func TestSysbenchPointSelect(t *testing.T) {
	const rows = 200
	fillSbtest(t, rows)
	for _, mode := range []string{"auto", "disable"} {
		before := myProxy.Stats().Direct
		out := sysbench(t, "oltp_point_select", mode, rows, 2)
		m := regexp.MustCompile(`(?m)^\s*read:\s+(\d+)`).FindStringSubmatch(out)
		if m == nil || m[1] == "0" {
			t.Fatalf("ps mode %s: no reads:\n%s", mode, out)
		}
		// Every point select is a one-shard read on a primary: each is
		// answered as a direct command (frontend/mysqlwire/direct.go),
		// not through vitess's command loop.
		reads, _ := strconv.ParseUint(m[1], 10, 64)
		if direct := myProxy.Stats().Direct - before; direct < reads {
			t.Fatalf("ps mode %s: %d direct commands for %d point selects", mode, direct, reads)
		}
		t.Logf("ps mode %s: %s point selects in 2s", mode, m[1])
	}
}

// sysbench's oltp_read_write runs through the proxy on sbtest1 sharded
// over the 2 shards, with and without prepared statements, and no
// statement fails, in these shapes:
//
//   - in transactions (BEGIN … COMMIT) without its range reads: point
//     selects, UPDATEs by id and a DELETE and INSERT of one id, so that
//     most transactions write on both shards (committed with XA);
//   - sysbench's default: the same transactions with every range read on
//     the sharding key, which read both shards (scatter) inside the
//     transaction, on its parts (joined as XA branches: session_scatter.go);
//   - in autocommit (--skip_trx) with every range read: BETWEEN, SUM,
//     ORDER BY c and DISTINCT c, on sysbench's table as it is (c a
//     CHAR(120) of utf8mb4_general_ci: the merge compares it by that
//     collation, executor/myvalue/collation.go); then again with c of
//     utf8mb4_bin, in autocommit and in transactions.
//
// Afterwards the table still holds every id once, each on its own shard
// (the DELETE and re-INSERT of an id pair up).
func TestSysbenchReadWrite(t *testing.T) {
	// Uniform ids (--rand-type=uniform) over 10,000 rows: two transactions
	// that each wait for a row the other holds on another shard (a
	// deadlock no server sees, ended only by innodb_lock_wait_timeout,
	// 50 s) are then rare.
	const rows = 10000
	fillSbtest(t, rows)
	for _, shape := range []struct {
		name  string
		alter string // run on each shard before this shape
		extra []string
	}{
		{"transactions without range reads", "", []string{"--range_selects=off"}},
		{"transactions with every range read (the default)", "", nil},
		// In autocommit, sysbench's DELETE and re-INSERT of an id are two
		// transactions: two threads that pick the same id can both delete
		// it and both insert it, and the second insert fails with 1062 on
		// MariaDB directly as well (seen once in CI, 2026-11-26). Those
		// shapes test the range reads, so they leave the pair out.
		{"autocommit with every range read, c of utf8mb4_general_ci", "", []string{"--skip_trx=on", "--delete_inserts=0"}},
		{"autocommit with every range read, c of utf8mb4_bin", "ALTER TABLE sbtest1 MODIFY c CHAR(120) COLLATE utf8mb4_bin NOT NULL DEFAULT ''", []string{"--skip_trx=on", "--delete_inserts=0"}},
		{"transactions with every range read, c of utf8mb4_bin", "", nil},
	} {
		if shape.alter != "" {
			for s := range 2 {
				if _, err := direct(t, s).Exec(shape.alter); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, mode := range []string{"auto", "disable"} {
			out := sysbench(t, "oltp_read_write", mode, rows, 3, append(shape.extra, "--rand-type=uniform")...)
			tx := regexp.MustCompile(`(?m)^\s*transactions:\s+(\d+)`).FindStringSubmatch(out)
			w := regexp.MustCompile(`(?m)^\s*write:\s+(\d+)`).FindStringSubmatch(out)
			if tx == nil || tx[1] == "0" || w == nil || w[1] == "0" {
				t.Fatalf("%s, ps mode %s: no transactions or writes:\n%s", shape.name, mode, out)
			}
			t.Logf("%s, ps mode %s: %s transactions, %s writes in 3s", shape.name, mode, tx[1], w[1])
		}
	}
	ctx := context.Background()
	total := 0
	for s := range 2 {
		rs, err := direct(t, s).QueryContext(ctx, "SELECT id FROM sbtest1")
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var id int64
			if err := rs.Scan(&id); err != nil {
				t.Fatal(err)
			}
			if got := shardOf(t, id); got != s {
				t.Errorf("id %d is on shard %d, belongs on %d", id, s, got)
			}
			total++
		}
		rs.Close()
	}
	if total != rows {
		t.Errorf("sbtest1 holds %d rows after the run, want %d", total, rows)
	}
}

// BEGIN inside a transaction that wrote on both shards commits it first,
// as the server would (sysbench starts its next transaction so after a
// lock wait timeout): both writes are there, seen on the shards directly,
// and the new transaction is open.
func TestSysbenchBeginCommitsTwoShardTx(t *testing.T) {
	ids := idsOnEachShard(t, 900_000)
	ctx := context.Background()
	db, err := sql.Open("mysql", dsn("app", "app", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, q := range []string{"BEGIN",
		fmt.Sprintf("INSERT INTO sbtest1 (id, k, c, pad) VALUES (%d, 1, 'begin', '')", ids[0]),
		fmt.Sprintf("INSERT INTO sbtest1 (id, k, c, pad) VALUES (%d, 1, 'begin', '')", ids[1]),
		"BEGIN",
		fmt.Sprintf("UPDATE sbtest1 SET c = 'rolled back' WHERE id = %d", ids[0]),
	} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for s, id := range ids {
		var got string
		if err := direct(t, s).QueryRowContext(ctx, "SELECT c FROM sbtest1 WHERE id = ?", id).Scan(&got); err != nil {
			t.Fatalf("shard %d, id %d: %v (not committed by the second BEGIN)", s, id, err)
		}
		if got != "begin" {
			t.Errorf("shard %d, id %d: c = %q, want the committed 'begin'", s, id, got)
		}
	}
	if _, err := c.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := direct(t, 0).QueryRowContext(ctx, "SELECT c FROM sbtest1 WHERE id = ?", ids[0]).Scan(&got); err != nil || got != "begin" {
		t.Errorf("after ROLLBACK of the second transaction: c = %q, %v; want 'begin'", got, err)
	}
	for s, id := range ids {
		direct(t, s).ExecContext(ctx, "DELETE FROM sbtest1 WHERE id = ?", id) //nolint:errcheck // cleanup
	}
}
