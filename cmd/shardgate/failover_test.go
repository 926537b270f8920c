package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/shardgate/shardgate/auth"
	"github.com/shardgate/shardgate/sandbox"
)

// The command end to end on a real shard (a primary and a replica): bad
// input changes nothing; a failover promotes the replica, fences the old
// primary (it answers) and publishes map version 2.
func TestFailoverCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := sandbox.StartPostgres(ctx, sandbox.Spec{Shards: 1, Replicas: 1, Users: []sandbox.User{
		{Name: "app", Password: "app"}, {Name: "ctl", Password: "ctl", Superuser: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	p, r := c.Shards[0].Primary, c.Shards[0].Replicas[0]
	dir := t.TempDir()
	for _, pw := range []string{"app", "ctl"} {
		if err := os.WriteFile(filepath.Join(dir, pw), []byte(pw+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	v, err := auth.NewVerifiers("app")
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`listeners:
  postgres: {address: "127.0.0.1:0"}
users:
  - {name: app, scram_sha_256: %q}
backends:
  postgres: {user: app, password_file: app, control_user: ctl, control_password_file: ctl, tls: {mode: disable}}
store: {path: store}
topology:
  keyspaces:
    - name: app
      engine: postgres
      tables: [{name: users, column: id, type: bigint}]
      shards:
        - {key_range: "-", primary: {name: pg0, host: 127.0.0.1, port: %d}, replicas: [{name: pg0r1, host: 127.0.0.1, port: %d}]}
`, v.SCRAMSHA256, p.Port, r.Port)
	path := filepath.Join(dir, "shardgate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, ctx, "", "map", "init", "-c", path); err != nil {
		t.Fatalf("map init: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"failover", "-c", path}, "--shard is required"},
		{[]string{"failover", "-c", path, "--shard", "80-"}, `unknown shard: no postgres keyspace has a shard "80-"`},
		{[]string{"failover", "-c", path, "--shard", "-", "--to", "pg9"}, `"pg9" is not a replica of shard -`},
	} {
		out, err := run(t, ctx, "", tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v\n%s\nwant an error with %q", tc.args, err, out, tc.want)
		}
	}
	out, err := run(t, ctx, "", "map", "show", "-c", path)
	if err != nil || !strings.Contains(out, "shard map version 1,") {
		t.Fatalf("after bad input: %v\n%s\nwant map version 1", err, out)
	}

	out, err = run(t, ctx, "", "failover", "-c", path, "--shard", "-")
	t.Logf("shardgate failover --shard -:\n%s", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "shard app/-: pg0r1 is the primary at map version 2 (was pg0, now read-only)") {
		t.Errorf("failover output lacks the summary")
	}
	out, err = run(t, ctx, "", "map", "show", "-c", path)
	if err != nil || !strings.Contains(out, "shard map version 2,") || !strings.Contains(out, fmt.Sprintf("pg0r1 127.0.0.1:%d", r.Port)) ||
		strings.Contains(out, "pg0 ") {
		t.Errorf("map after the failover: %v\n%s", err, out)
	}
	if err := p.Exec(ctx, "CREATE TABLE t (x int)"); err == nil || !strings.Contains(err.Error(), "SQLSTATE 25006") {
		t.Errorf("DDL on the fenced old primary: %v; want 25006 (read-only)", err)
	}
	// Running it again names the same primary: nothing to do.
	out, err = run(t, ctx, "", "failover", "-c", path, "--shard", "-", "--to", "pg0r1")
	if err != nil || !strings.Contains(out, "pg0r1 is already the primary (map version 2)") {
		t.Errorf("re-run: %v\n%s", err, out)
	}
}

// The same on a MariaDB shard (engine mysql, found from the map): the
// replica is promoted, the old primary fenced (read_only: a write as the
// app user fails with 1290), map version 2 published.
func TestFailoverCommandMariaDB(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := sandbox.StartMariaDB(ctx, sandbox.Spec{Shards: 1, Replicas: 1, Users: []sandbox.User{
		{Name: "app", Password: "app"}, {Name: "ctl", Password: "ctl", Superuser: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	p, r := c.Shards[0].Primary, c.Shards[0].Replicas[0]
	if err := p.Exec(ctx, "CREATE TABLE users (id BIGINT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, pw := range []string{"app", "ctl"} {
		if err := os.WriteFile(filepath.Join(dir, pw), []byte(pw+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	v, err := auth.NewVerifiers("app")
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`listeners:
  mysql: {address: "127.0.0.1:0"}
users:
  - {name: app, mysql_native_password: %q}
backends:
  mysql: {user: app, password_file: app, control_user: ctl, control_password_file: ctl, tls: {mode: disable}}
store: {path: store}
topology:
  keyspaces:
    - name: app
      engine: mysql
      tables: [{name: users, column: id, type: bigint}]
      shards:
        - {key_range: "-", primary: {name: my0, host: 127.0.0.1, port: %d}, replicas: [{name: my0r1, host: 127.0.0.1, port: %d}]}
`, v.MySQLNative, p.Port, r.Port)
	path := filepath.Join(dir, "shardgate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, ctx, "", "map", "init", "-c", path); err != nil {
		t.Fatalf("map init: %v\n%s", err, out)
	}
	if out, err := run(t, ctx, "", "failover", "-c", path, "--shard", "80-"); err == nil ||
		!strings.Contains(err.Error(), `unknown shard: no mysql keyspace has a shard "80-"`) {
		t.Errorf("unknown shard: %v\n%s", err, out)
	}
	out, err := run(t, ctx, "", "failover", "-c", path, "--shard", "-")
	t.Logf("shardgate failover --shard -:\n%s", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "shard app/-: my0r1 is the primary at map version 2 (was my0, now read-only)") {
		t.Errorf("failover output lacks the summary")
	}
	out, err = run(t, ctx, "", "map", "show", "-c", path)
	if err != nil || !strings.Contains(out, "shard map version 2,") || !strings.Contains(out, fmt.Sprintf("my0r1 127.0.0.1:%d", r.Port)) ||
		strings.Contains(out, "my0 ") {
		t.Errorf("map after the failover: %v\n%s", err, out)
	}
	db, err := sql.Open("mysql", p.DSN("app", "app", "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var me *mysql.MySQLError
	if _, err := db.ExecContext(ctx, "INSERT INTO users VALUES (1)"); !errors.As(err, &me) || me.Number != 1290 {
		t.Errorf("write on the fenced old primary: %v; want 1290 (read_only)", err)
	}
	nd, err := sql.Open("mysql", r.DSN("app", "app", "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer nd.Close()
	if _, err := nd.ExecContext(ctx, "INSERT INTO users VALUES (1)"); err != nil {
		t.Errorf("write on the new primary: %v", err)
	}
	out, err = run(t, ctx, "", "failover", "-c", path, "--shard", "-", "--to", "my0r1")
	if err != nil || !strings.Contains(out, "my0r1 is already the primary (map version 2)") {
		t.Errorf("re-run: %v\n%s", err, out)
	}
}
