package demo

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
	"github.com/shardgate/shardgate/store/filestore"
)

// syncBuffer is a bytes.Buffer safe for the demo's writer and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// The demo on other ports: it starts, serves /healthz, writes a config that
// loads, seeds the store once, puts every row on the shard the map names,
// and leaves no server process or folder behind.
func TestDemoSmoke(t *testing.T) {
	for _, e := range []sandbox.Engine{sandbox.Postgres, sandbox.MariaDB} {
		if err := sandbox.Available(e); err != nil {
			t.Fatalf("%s not installed (run make deps): %v", e, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := &syncBuffer{}
	var pids []int
	var dir string
	done := make(chan error, 1)
	ready := make(chan Info, 1)
	go func() {
		done <- Run(ctx, Options{PostgresPort: -1, MySQLPort: -1, AdminPort: -1, Out: out, OnReady: func(i Info) { ready <- i }})
	}()
	var info Info
	select {
	case info = <-ready:
	case err := <-done:
		t.Fatalf("demo ended before it was ready: %v\n%s", err, out)
	}
	for _, c := range []*sandbox.Cluster{info.Postgres, info.MariaDB} {
		for _, n := range c.Nodes() {
			pids = append(pids, n.PID())
		}
		dir = c.Dir
	}
	for _, p := range []int{PostgresPort, MySQLPort, AdminPort} {
		if strings.Contains(info.AdminAddr, fmt.Sprintf(":%d", p)) {
			t.Fatalf("the test demo used the fixed port %d", p)
		}
	}

	resp, err := http.Get("http://" + info.AdminAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Status     string `json:"status"`
		MapVersion uint64 `json:"map_version"`
	}
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if resp.StatusCode != 200 || h.Status != "ok" || h.MapVersion != 1 {
		t.Fatalf("healthz: %d %+v", resp.StatusCode, h)
	}

	cfg, err := config.Load(info.ConfigPath)
	if err != nil {
		t.Fatalf("demo config: %v", err)
	}
	if len(cfg.Users) != 1 || cfg.Users[0].SCRAMSHA256 == "" || regexp.MustCompile(`(?m)^\s*-?\s*password:`).MatchString(mustRead(t, info.ConfigPath)) {
		t.Fatalf("config users: %+v", cfg.Users)
	}
	fs, err := filestore.Open(info.StoreDir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := shardmap.NewStore(fs).Load(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Every row sits on the shard the map routes its key to, on both
	// engines; products is on every shard; the replicas have it all.
	checkRows(t, ctx, info.Postgres, shardmap.Postgres, snap)
	checkProxy(t, ctx, info)
	checkRows(t, ctx, info.MariaDB, shardmap.MySQL, snap)
	checkMySQLEndpoint(t, ctx, info)
	if !strings.Contains(out.String(), "Ctrl-C stops everything") {
		t.Errorf("summary missing:\n%s", out)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo stopped with %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("demo did not stop")
	}
	for _, pid := range pids {
		if pid != 0 && syscall.Kill(pid, 0) == nil {
			t.Errorf("server process %d still runs after the demo stopped", pid)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cluster folder %s left behind", dir)
	}
	if _, err := os.Stat(info.ConfigPath); !os.IsNotExist(err) {
		t.Errorf("demo folder left behind")
	}
}

func mustRead(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// rows returns (key column values) of a table on one node.
func keys(t *testing.T, ctx context.Context, n *sandbox.Node, q string) []int64 {
	t.Helper()
	var out []int64
	if n.Engine == sandbox.Postgres {
		conn, err := pgx.Connect(ctx, n.DSN(User, Password, Database))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k int64
			rows.Scan(&k)
			out = append(out, k)
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
		return out
	}
	db, err := sql.Open("mysql", n.DSN(User, Password, Database))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k int64
		rows.Scan(&k)
		out = append(out, k)
	}
	return out
}

func checkRows(t *testing.T, ctx context.Context, c *sandbox.Cluster, e shardmap.Engine, snap *shardmap.Snapshot) {
	t.Helper()
	if err := c.WaitReplicated(ctx); err != nil {
		t.Fatal(err)
	}
	total := map[string]int{}
	for i, sh := range c.Shards {
		for _, n := range append([]*sandbox.Node{sh.Primary}, sh.Replicas...) {
			for _, q := range []struct{ table, sql string }{{"users", "SELECT id FROM users"}, {"orders", "SELECT user_id FROM orders"}} {
				ks := keys(t, ctx, n, q.sql)
				if n == sh.Primary {
					total[q.table] += len(ks)
				}
				for _, k := range ks {
					s, err := snap.Lookup(e, Keyspace, q.table, shardmap.Int(k))
					if err != nil {
						t.Fatal(err)
					}
					if s.Index != i {
						t.Errorf("%s: %s key %d is on shard %d, the map says %s", n.Name, q.table, k, i, s.Name)
					}
				}
			}
			if p := keys(t, ctx, n, "SELECT id FROM products"); len(p) != len(products) {
				t.Errorf("%s: %d products, want %d", n.Name, len(p), len(products))
			}
		}
	}
	if total["users"] != len(demoUsers()) || total["orders"] != len(demoOrders()) {
		t.Errorf("%s: %v rows, want %d users and %d orders", c.Engine, total, len(demoUsers()), len(demoOrders()))
	}
}

// checkProxy reads and writes through the demo's Postgres endpoint, over
// TLS (the demo's self-signed certificate) and without.
func checkProxy(t *testing.T, ctx context.Context, info Info) {
	t.Helper()
	for _, mode := range []string{"require", "disable"} {
		conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=%s", User, Password, info.PostgresAddr, Database, mode))
		if err != nil {
			t.Fatalf("sslmode=%s: %v", mode, err)
		}
		var name string
		if err := conn.QueryRow(ctx, "SELECT name FROM users WHERE id = 3").Scan(&name); err != nil || name != demoUsers()[2].name {
			t.Fatalf("user 3 through the proxy: %q %v", name, err)
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM orders WHERE user_id = $1", 3).Scan(&n); err != nil || n == 0 {
			t.Fatalf("orders of user 3: %d %v", n, err)
		}
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM products").Scan(&n); err != nil || n != len(products) {
			t.Fatalf("products: %d %v", n, err)
		}
		conn.Close(ctx)
	}
}

// checkMySQLEndpoint reads a user through the MySQL endpoint, in clear
// text and over TLS.
func checkMySQLEndpoint(t *testing.T, ctx context.Context, info Info) {
	t.Helper()
	if info.MySQLAddr == "" {
		t.Fatal("the MySQL endpoint does not serve")
	}
	for _, params := range []string{"", "?tls=skip-verify"} {
		db, err := sql.Open("mysql", User+":"+Password+"@tcp("+info.MySQLAddr+")/"+Database+params)
		if err != nil {
			t.Fatal(err)
		}
		var name string
		err = db.QueryRowContext(ctx, "SELECT name FROM users WHERE id = 3").Scan(&name)
		db.Close()
		if err != nil || name != "linus" {
			t.Fatalf("MySQL endpoint%s: %q, %v", params, name, err)
		}
	}
}
