package mysqltest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

// sysbench's oltp_point_select runs through the proxy on sbtest1 sharded
// by id over the 2 shards, with prepared statements (libmariadb's
// COM_STMT_PREPARE/EXECUTE) and without: every query succeeds. This is a
// functional test (2 threads, 2 seconds), not a benchmark. The table is
// filled on the shards directly, each row on its own shard (sysbench's
// prepare needs DDL fan-out and multi-row INSERT splitting, which the
// MySQL endpoint does not do yet).
func TestSysbenchPointSelect(t *testing.T) {
	const rows = 200
	ctx := context.Background()
	dbs := [2]*sql.DB{direct(t, 0), direct(t, 1)}
	for _, db := range dbs {
		if _, err := db.ExecContext(ctx, "DELETE FROM sbtest1"); err != nil {
			t.Fatal(err)
		}
	}
	for id := int64(1); id <= rows; id++ {
		if _, err := dbs[shardOf(t, id)].ExecContext(ctx, "INSERT INTO sbtest1 (id, k, c, pad) VALUES (?, ?, ?, ?)", id, id%50, fmt.Sprintf("c-%d", id), "pad"); err != nil {
			t.Fatal(err)
		}
	}
	host, port, _ := net.SplitHostPort(addr)
	for _, mode := range []string{"auto", "disable"} {
		out, err := exec.Command("sysbench", "oltp_point_select", "--db-driver=mysql",
			"--mysql-host="+host, "--mysql-port="+port, "--mysql-user=app", "--mysql-password=app", "--mysql-db=app",
			"--mysql-ssl=off", "--tables=1", "--table-size="+strconv.Itoa(rows), "--threads=2", "--time=2",
			"--db-ps-mode="+mode, "run").CombinedOutput()
		if err != nil {
			t.Fatalf("ps mode %s: %v\n%s", mode, err, out)
		}
		m := regexp.MustCompile(`(?m)^\s*read:\s+(\d+)`).FindSubmatch(out)
		e := regexp.MustCompile(`(?m)^\s*ignored errors:\s+(\d+)`).FindSubmatch(out)
		if m == nil || e == nil || string(m[1]) == "0" || string(e[1]) != "0" {
			t.Fatalf("ps mode %s: no queries or errors:\n%s", mode, out)
		}
		t.Logf("ps mode %s: %s point selects in 2s", mode, m[1])
	}
}
