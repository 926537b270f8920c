package mysqltest

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/shardgate/shardgate/shardmap"
)

// TestUseSwitchesKeyspace: USE names another keyspace, and the session's
// next statements route in it. A second keyspace, app2, lives in database
// app2 on shard 1's primary alone; a proxy serves both. A key that app
// places on shard 0 must, after USE app2, be written to app2 on shard 1,
// not to app on shard 0 (the router once kept the keyspace it had looked
// up for the snapshot, whatever the session's database).
func TestUseSwitchesKeyspace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	host := cluster.Shards[1].Primary
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS app2",
		"GRANT ALL PRIVILEGES ON app2.* TO 'app'@'%'",
		"CREATE TABLE IF NOT EXISTS app2.users (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
	} {
		if err := host.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	id := idsOnEachShard(t, 9_100_000)[0] // on shard 0 in app
	for _, sh := range []int{0, 1} {
		if _, err := direct(t, sh).ExecContext(ctx, "DELETE FROM users WHERE id = ?", id); err != nil {
			t.Fatal(err)
		}
	}
	if err := host.Exec(ctx, "DELETE FROM app2.users WHERE id = ?", id); err != nil {
		t.Fatal(err)
	}

	cfg, err := testConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Topology.Keyspaces = append(cfg.Topology.Keyspaces, shardmap.KeyspaceSpec{
		Name: "app2", Engine: shardmap.MySQL,
		Tables: []shardmap.TableSpec{{Name: "users", Column: "id", Type: "bigint"}},
		Shards: []shardmap.ShardSpec{{KeyRange: "-", Primary: shardmap.NodeSpec{Name: "my1-app2", Host: host.Host, Port: host.Port}}},
	})
	two, err := shardmap.Compile(1, *cfg.Topology)
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := ownEndpoint(t, cfg, func() *shardmap.Snapshot { return two })

	db, err := sql.Open("mysql", "app:app@tcp("+addr+")/app")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx) // one client session throughout
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE id = ?", id).Scan(&n); err != nil || n != 0 {
		t.Fatalf("in app: %d rows, %v", n, err)
	}
	if _, err := conn.ExecContext(ctx, "USE app2"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO users (id, name) VALUES (?, 'in app2')", id); err != nil {
		t.Fatal(err)
	}
	var name string
	if err := direct(t, 0).QueryRowContext(ctx, "SELECT name FROM users WHERE id = ?", id).Scan(&name); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("app.users on shard 0 has the row written after USE app2 (%q, %v)", name, err)
	}
	app2, err := sql.Open("mysql", host.DSN("app", "app", "app2"))
	if err != nil {
		t.Fatal(err)
	}
	defer app2.Close()
	if err := app2.QueryRowContext(ctx, "SELECT name FROM users WHERE id = ?", id).Scan(&name); err != nil || name != "in app2" {
		t.Errorf("app2.users on shard 1: %q, %v; want the row written after USE app2", name, err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT name FROM users WHERE id = ?", id).Scan(&name); err != nil || name != "in app2" {
		t.Errorf("read back through the proxy in app2: %q, %v", name, err)
	}

	// A USE with comments is the session's too (it once went to a server,
	// changing a pooled connection's database for later clients).
	if _, err := conn.ExecContext(ctx, "/* back */ USE app -- to the first"); err != nil {
		t.Fatal(err)
	}
	var dbName string
	if err := conn.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&dbName); err != nil || dbName != "app" {
		t.Errorf("DATABASE() after a commented USE app: %q, %v", dbName, err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE id = ?", id).Scan(&n); err != nil || n != 0 {
		t.Errorf("users %d in app after the commented USE: %d rows, %v; want none (the row is app2's)", id, n, err)
	}
	_, err = conn.ExecContext(ctx, "/* x */ USE no_such_db")
	wantMySQLError(t, err, 1049, "42000")
	// Not while the session holds a connection of its database.
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE id = ?", id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	_, err = conn.ExecContext(ctx, "USE app2")
	wantMySQLError(t, err, 1235, "42000")
	if _, err := conn.ExecContext(ctx, "USE app"); err != nil {
		t.Errorf("USE of the session's own database inside its transaction: %v", err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "USE app2"); err != nil {
		t.Errorf("USE app2 after the transaction: %v", err)
	}
}
