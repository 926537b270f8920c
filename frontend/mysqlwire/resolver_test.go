package mysqlwire

import (
	"context"
	"database/sql"
	"testing"

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
		"DELETE FROM shardgate_2pc WHERE gid LIKE 'sg:old.t:%'",
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
	server.cleanDecisions(ctx, ks.Shards(), map[string]bool{"sg:old.t:3:0": true})
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
	want := []string{"sg:old.t:2:0", "sg:old.t:3:0", "sg:old.t:4:0"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("kept %v, want %v", got, want)
	}
}
