package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func runClient(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "PGPASSWORD=app", "PGCONNECT_TIMEOUT=10")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}

func TestPsql(t *testing.T) {
	cleanUsers(t, 9001, 9001)
	out := runClient(t, "psql", "-X", "-v", "ON_ERROR_STOP=1", "-At", proxyURL,
		"-c", "INSERT INTO users (id, name) VALUES (9001, 'psql')",
		"-c", "SELECT name FROM users WHERE id = 9001",
		"-c", "BEGIN", "-c", "UPDATE users SET name = 'gone' WHERE id = 9001", "-c", "ROLLBACK",
		"-c", "SELECT name || '!' FROM users WHERE id = 9001",
		"-c", "SELECT count(*) FROM products")
	if got := strings.TrimSpace(string(out)); !strings.Contains(got, "psql\n") || !strings.Contains(got, "psql!") || !strings.HasSuffix(got, "2") {
		t.Fatalf("psql printed:\n%s", out)
	}
	wantOnlyOn(t, "users", "id", 9001)
	// An error keeps psql's session usable: with ON_ERROR_STOP off, the
	// next command runs.
	cmd := exec.Command("psql", "-X", "-At", proxyURL, "-c", "UPDATE users SET id = id + 1 WHERE id = 1", "-c", "SELECT 'still here'")
	cmd.Env = append(os.Environ(), "PGPASSWORD=app")
	res, _ := cmd.CombinedOutput()
	if !strings.Contains(string(res), "sharding column") || !strings.Contains(string(res), "still here") {
		t.Fatalf("psql after an error:\n%s", res)
	}
}

func TestPsycopg2(t *testing.T) {
	cleanUsers(t, 9100, 9109)
	out := runClient(t, "/usr/bin/python3", filepath.Join("testdata", "psycopg2_client.py"), proxyURL, "9100")
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := map[string]any{"name": "py2", "afterRollback": "py0", "multiShardCode": "0A000", "syntaxCode": "42601", "products": 2.0, "scatter": "10 py9"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %s)", k, got[k], v, out)
		}
	}
	for i := int64(0); i < 10; i++ {
		wantOnlyOn(t, "users", "id", 9100+i)
	}
}

func TestNodePostgres(t *testing.T) {
	cleanUsers(t, 9200, 9209)
	dir := filepath.Join("testdata", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "pg")); err != nil {
		t.Fatalf("node-postgres is not installed: run `make deps` (%v)", err)
	}
	out := runClient(t, "node", filepath.Join(dir, "client.js"), proxyURL, "9200")
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := map[string]any{"named": "node3", "named2": "node4", "simple": "node5", "afterRollback": "node0", "multiShardCode": "0A000", "products": 2.0,
		"scatter": "10 9200 9204.5000000000000000"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %s)", k, got[k], v, out)
		}
	}
	for i := int64(0); i < 10; i++ {
		wantOnlyOn(t, "users", "id", 9200+i)
	}
}

// pgbench with a custom script over the sharded table, simple protocol.
func TestPgbenchCustomScript(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "shard.sql")
	os.WriteFile(script, []byte(`\set id random(20000, 20999)
INSERT INTO users (id, name) VALUES (:id, 'bench') ON CONFLICT (id) DO UPDATE SET balance = users.balance + 1;
SELECT name, balance FROM users WHERE id = :id;
BEGIN;
UPDATE users SET balance = balance + 1 WHERE id = :id;
SELECT balance FROM users WHERE id = :id;
END;
`), 0o644)
	for _, mode := range []string{"simple", "extended", "prepared"} {
		out := runClient(t, "pgbench", "-n", "-M", mode, "-c", "8", "-j", "2", "-t", "100", "-f", script, proxyURL)
		m := regexp.MustCompile(`number of transactions actually processed: (\d+)/(\d+)`).FindSubmatch(out)
		if m == nil || string(m[1]) != "800" || string(m[2]) != "800" {
			t.Fatalf("pgbench -M %s:\n%s", mode, out)
		}
		if regexp.MustCompile(`number of failed transactions: [1-9]`).Match(out) {
			t.Fatalf("pgbench -M %s had failures:\n%s", mode, out)
		}
	}
	// Every row is on its own shard only.
	for id := int64(20000); id < 20010; id++ {
		c := onShards(t, "users", "id", id)
		if c[0]+c[1] > 1 || c[1-shardIndex(t, id)] != 0 {
			t.Fatalf("id %d rows per shard %v", id, c)
		}
	}
	_ = fmt.Sprint
}

// COPY (single-shard query) TO STDOUT passes through; COPY FROM is refused.
func TestCopyTo(t *testing.T) {
	cleanUsers(t, 8080, 8080)
	ctx := context.Background()
	c := connect(t, pgx.QueryExecModeExec)
	if _, err := c.Exec(ctx, "INSERT INTO users (id, name) VALUES (8080, 'copied')"); err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	tag, err := c.PgConn().CopyTo(ctx, &buf, "COPY (SELECT id, name FROM users WHERE id = 8080) TO STDOUT")
	if err != nil || tag.RowsAffected() != 1 || buf.String() != "8080\tcopied\n" {
		t.Fatalf("copy to: %q %v %v", buf.String(), tag, err)
	}
	buf.Reset()
	if _, err := c.PgConn().CopyTo(ctx, &buf, "COPY products TO STDOUT (FORMAT csv)"); err != nil || strings.Count(buf.String(), "\n") != 2 {
		t.Fatalf("copy reference table: %q %v", buf.String(), err)
	}
	if _, err := c.PgConn().CopyFrom(ctx, strings.NewReader("9\tx\n"), "COPY products (id, name) FROM STDIN"); pgCode(err) != "0A000" {
		t.Fatalf("copy from: %v", err)
	}
	out := runClient(t, "psql", "-X", "-At", proxyURL, "-c", "\\copy (SELECT name FROM users WHERE id = 8080) TO STDOUT", "-c", "SELECT 'ok'")
	if string(out) != "copied\nok\n" {
		t.Fatalf("psql \\copy: %q", out)
	}
}
