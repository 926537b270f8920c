package mysqlwire

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/shardgate/shardgate/shardmap"
)

// The resolver's cleaning deletes the 'commit' rows nothing needs (old,
// no branch prepared) and keeps the young ones, the fences ('abort', under
// a day old) and those of branches still prepared.
func TestCleanDecisions(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("mysql", node.DSN("app", "app", "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		createDecisionLog,
		createFence,
		"DELETE FROM shardgate_2pc WHERE gid LIKE 'sg:old.t:%'",
		"DELETE FROM shardgate_2pc_fence WHERE owner = 'old.t'",
		"INSERT INTO shardgate_2pc VALUES ('sg:old.t:1:0', 'commit', 'old.t', NOW(6) - INTERVAL 1 HOUR), " +
			"('sg:old.t:2:0', 'abort', 'old.t', NOW(6) - INTERVAL 1 HOUR), " +
			"('sg:old.t:3:0', 'commit', 'old.t', NOW(6) - INTERVAL 1 HOUR), " +
			"('sg:old.t:4:0', 'commit', 'old.t', NOW(6)), " +
			"('sg:old.t:5:0', 'abort', 'old.t', NOW(6) - INTERVAL 2 DAY)",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	ks, ok := server.o.Snapshot().Keyspace(shardmap.MySQL, "app")
	if !ok {
		t.Fatal("no keyspace app")
	}
	kept := func() []string {
		rows, err := db.QueryContext(ctx, "SELECT gid FROM shardgate_2pc WHERE gid LIKE 'sg:old.t:%' ORDER BY gid")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var g string
			rows.Scan(&g)
			got = append(got, g)
		}
		return got
	}
	prepared := map[string]bool{"sg:old.t:3:0": true}
	server.cleanDecisions(ctx, ks.Shards(), prepared)
	// The day-old 'abort' row stays until its owner has been fenced for a
	// minute; the owner is fenced now.
	if got, want := kept(), []string{"sg:old.t:2:0", "sg:old.t:3:0", "sg:old.t:4:0", "sg:old.t:5:0"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("kept %v, want %v", got, want)
	}
	var fenced int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM shardgate_2pc_fence WHERE owner = 'old.t'").Scan(&fenced); err != nil || fenced != 1 {
		t.Fatalf("owner old.t fenced %d times: %v", fenced, err)
	}
	// A fenced owner's commit decision inserts nothing.
	late := xid{gtrid: "sg:old.t:9:0", owner: "old.t"}
	if res, err := db.ExecContext(ctx, late.decisionRow()); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n != 0 {
		t.Fatalf("a fenced owner wrote its commit decision (%d rows)", n)
	}
	if _, err := db.ExecContext(ctx, "UPDATE shardgate_2pc_fence SET fenced_at = NOW(6) - INTERVAL 2 MINUTE WHERE owner = 'old.t'"); err != nil {
		t.Fatal(err)
	}
	server.cleanDecisions(ctx, ks.Shards(), prepared)
	if got, want := kept(), []string{"sg:old.t:2:0", "sg:old.t:3:0", "sg:old.t:4:0"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("kept %v, want %v", got, want)
	}
	// An owner not fenced decides as before.
	live := xid{gtrid: "sg:live.t:1:0", owner: "live.t"}
	db.ExecContext(ctx, "DELETE FROM shardgate_2pc WHERE gid = 'sg:live.t:1:0'")
	if res, err := db.ExecContext(ctx, live.decisionRow()); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("a live owner's decision inserted %d rows", n)
	}
}

// An owner alive but slow: its branch is prepared, its decision not yet
// written, when a resolver decides (grace 0 here). The resolver fences
// the transaction with an 'abort' row but cannot roll the branch back
// (MariaDB answers XAER_NOTA while the branch's connection lives); the
// owner's decision then fails on the row's key, and it rolls back: no
// half. A branch of another keyspace on the same server (XA ids are
// server-wide) is left alone.
func TestResolverSlowOwner(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("mysql", node.DSN("app", "app", "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ks, ok := server.o.Snapshot().Keyspace(shardmap.MySQL, "app")
	if !ok {
		t.Fatal("no keyspace app")
	}
	sh := ks.Shards()[0]
	for _, q := range []string{createDecisionLog, createFence, "DELETE FROM t WHERE id IN (9101, 9102, 9103)",
		"DELETE FROM shardgate_2pc WHERE gid IN ('sg:slow.t:1:0', 'sg:other.t:1:0')"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	anchor, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer anchor.Close()
	branch, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer branch.Close()
	other, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	x := xid{gtrid: "sg:slow.t:1:0", owner: "slow.t"}
	// A branch of a keyspace whose database is app2, anchored on its
	// shard 0: nothing in this keyspace's log may decide it.
	otherBranch := "'sg:other.t:1:0','0:" + dbTag("app2") + "'"
	for _, step := range []struct {
		c *sql.Conn
		q string
	}{
		{anchor, "BEGIN"},
		{anchor, "INSERT INTO t VALUES (9101, 'anchor')"},
		{branch, x.start(sh)},
		{branch, "INSERT INTO t VALUES (9102, 'branch')"},
		{branch, x.end(sh)},
		{branch, x.prepare(sh)},
		{other, "XA START " + otherBranch},
		{other, "INSERT INTO t VALUES (9103, 'other keyspace')"},
		{other, "XA END " + otherBranch},
		{other, "XA PREPARE " + otherBranch},
	} {
		if _, err := step.c.ExecContext(ctx, step.q); err != nil {
			t.Fatalf("%s: %v", step.q, err)
		}
	}
	server.resolveOnce(ctx, map[string]time.Time{}, 0, false)
	var decision string
	if err := db.QueryRowContext(ctx, "SELECT decision FROM shardgate_2pc WHERE gid = ?", x.gtrid).Scan(&decision); err != nil || decision != "abort" {
		t.Fatalf("decision row: %q %v", decision, err)
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM shardgate_2pc WHERE gid = 'sg:other.t:1:0'").Scan(&decision); err != nil || decision != "0" {
		t.Fatalf("the resolver decided another keyspace's branch here: %s %v", decision, err)
	}
	if got := recovered(t, db); !got[x.gtrid] || !got["sg:other.t:1:0"] {
		t.Fatalf("prepared branches: %v", got)
	}
	// The owner comes back: its decision meets the resolver's row.
	_, err = anchor.ExecContext(ctx, x.decisionRow())
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1062 {
		t.Fatalf("the slow owner's decision: %v", err)
	}
	for _, step := range []struct {
		c *sql.Conn
		q string
	}{{anchor, "ROLLBACK"}, {branch, x.rollback(sh)}, {other, "XA ROLLBACK " + otherBranch}} {
		if _, err := step.c.ExecContext(ctx, step.q); err != nil {
			t.Fatalf("%s: %v", step.q, err)
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t WHERE id IN (9101, 9102, 9103)").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d rows of the aborted transactions: %v", n, err)
	}
	if got := recovered(t, db); got[x.gtrid] {
		t.Fatalf("still prepared: %v", got)
	}
}

// recovered lists the gtrids XA RECOVER shows.
func recovered(t *testing.T, db *sql.DB) map[string]bool {
	t.Helper()
	rows, err := db.Query("XA RECOVER")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var f, gl, bl int
		var data []byte
		if err := rows.Scan(&f, &gl, &bl, &data); err != nil {
			t.Fatal(err)
		}
		out[string(data[:gl])] = true
	}
	return out
}
