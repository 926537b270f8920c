package mysqltest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/shardgate/shardgate/auth"
	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/internal/selfsign"
	"github.com/shardgate/shardgate/proxy"
	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
)

// The tests share one 2-shard MariaDB cluster (user app/app, database app)
// and one MySQL endpoint in front of it: keyspace app over -80 and 80-,
// users sharded by id, orders by user_id, products a reference table.
var (
	cluster *sandbox.Cluster
	snap    *shardmap.Snapshot
	addr    string // the endpoint's host:port
	myProxy *proxy.MySQL
)

const schema = `
CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE orders (id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL, amount DECIMAL(12,2) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE products (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE events (id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id BIGINT NOT NULL, note VARCHAR(40) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE vals (id BIGINT PRIMARY KEY, u BIGINT UNSIGNED, n BIGINT, d DECIMAL(20,6), ts DATETIME(6), b VARBINARY(20), s VARCHAR(50), z VARCHAR(10) NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE sbtest1 (id INTEGER NOT NULL AUTO_INCREMENT, k INTEGER DEFAULT '0' NOT NULL, c CHAR(120) DEFAULT '' NOT NULL, pad CHAR(60) DEFAULT '' NOT NULL, PRIMARY KEY (id), KEY k_1 (k)) ENGINE=InnoDB;
INSERT INTO products VALUES (1, 'keyboard'), (2, 'mouse');
`

func TestMain(m *testing.M) {
	sandbox.Main(m, func(ctx context.Context) (func() error, error) {
		var err error
		cluster, err = sandbox.StartMariaDB(ctx, sandbox.Spec{Shards: 2})
		if err != nil {
			return nil, err
		}
		stop, err := setup(ctx)
		if err != nil {
			cluster.Stop()
			return nil, err
		}
		return func() error { stop(); return cluster.Stop() }, nil
	})
}

func setup(ctx context.Context) (func(), error) {
	for _, sh := range cluster.Shards {
		dsn := sh.Primary.DSN("app", "app", "app")
		if strings.Contains(dsn, "?") {
			dsn += "&multiStatements=true"
		} else {
			dsn += "?multiStatements=true"
		}
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			return nil, err
		}
		_, err = db.ExecContext(ctx, schema)
		db.Close()
		if err != nil {
			return nil, err
		}
	}
	cfg, err := testConfig()
	if err != nil {
		return nil, err
	}
	snap, err = shardmap.Compile(1, *cfg.Topology)
	if err != nil {
		return nil, err
	}
	var cur atomic.Pointer[shardmap.Snapshot]
	cur.Store(snap)
	my, err := proxy.NewMySQL(cfg, cur.Load)
	if err != nil {
		return nil, err
	}
	myProxy = my
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr = ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- my.Serve(ln) }()
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		my.Shutdown(sctx)
		<-done
	}, nil
}

// ownEndpoint serves an endpoint of its own, with cfg and the map maps
// returns, until the test ends, and returns its address.
func ownEndpoint(t *testing.T, cfg *config.Config, maps func() *shardmap.Snapshot) (string, *proxy.MySQL) {
	t.Helper()
	my, err := proxy.NewMySQL(cfg, maps)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- my.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		my.Shutdown(ctx)
		<-done
	})
	return ln.Addr().String(), my
}

// testConfig: user app/app, transaction pooling with 2 server connections
// per node (so clients share them).
func testConfig() (*config.Config, error) {
	dir, err := os.MkdirTemp("", "shardgate-mysqltest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir) // the password file is read at load
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("app\n"), 0o600); err != nil {
		return nil, err
	}
	v, err := auth.NewVerifiers("app")
	if err != nil {
		return nil, err
	}
	ks := shardmap.KeyspaceSpec{
		Name: "app", Engine: shardmap.MySQL,
		Tables:          []shardmap.TableSpec{{Name: "users", Column: "id", Type: "bigint"}, {Name: "orders", Column: "user_id", Type: "bigint"}, {Name: "events", Column: "user_id", Type: "bigint"}, {Name: "vals", Column: "id", Type: "bigint"}, {Name: "sbtest1", Column: "id", Type: "bigint"}},
		ReferenceTables: []string{"products"},
	}
	for i, sh := range cluster.Shards {
		ks.Shards = append(ks.Shards, shardmap.ShardSpec{
			KeyRange: []string{"-80", "80-"}[i],
			Primary:  shardmap.NodeSpec{Name: fmt.Sprintf("my%d", i), Host: sh.Primary.Host, Port: sh.Primary.Port},
		})
	}
	// The certificate is read when the endpoint is built, after this
	// folder is gone: it lives in the cluster's.
	cert, key := filepath.Join(cluster.Dir, "proxy.crt"), filepath.Join(cluster.Dir, "proxy.key")
	if err := selfsign.WriteFiles(cert, key, []string{"127.0.0.1"}); err != nil {
		return nil, err
	}
	yaml := fmt.Sprintf(`
listeners:
  mysql: {address: "127.0.0.1:0", tls: {mode: prefer, cert_file: %q, key_file: %q}}
users:
  - name: app
    mysql_native_password: %q
    caching_sha2_password: %q
  - name: sha2only
    caching_sha2_password: %q
backends:
  mysql: {user: app, password_file: %q, tls: {mode: disable}}
pools: {max_server_conns_per_node: 2, acquire_timeout: 10s}
store: {path: %q}
`, cert, key, v.MySQLNative, v.CachingSHA2, v.CachingSHA2, pw, filepath.Join(dir, "store"))
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		return nil, err
	}
	cfg.Topology = &shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{ks}}
	return cfg, nil
}

func dsn(user, password, params string) string {
	return fmt.Sprintf("%s:%s@tcp(%s)/app?%s", user, password, addr, params)
}

// shardOf is the shard a users.id (or orders.user_id) lives on.
func shardOf(t *testing.T, id int64) int {
	t.Helper()
	sh, err := snap.Lookup(shardmap.MySQL, "app", "users", shardmap.Int(id))
	if err != nil {
		t.Fatal(err)
	}
	return sh.Index
}

// idsOnEachShard returns two ids >= from, the first on shard 0 and the
// second on shard 1.
func idsOnEachShard(t *testing.T, from int64) [2]int64 {
	t.Helper()
	var ids [2]int64
	found := 0
	for id := from; found < 3; id++ {
		s := shardOf(t, id)
		if ids[s] == 0 {
			ids[s] = id
			found |= 1 << s
		}
	}
	return ids
}

// direct opens the shard's primary itself, bypassing the proxy.
func direct(t *testing.T, shard int) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", cluster.Shards[shard].Primary.DSN("app", "app", "app"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
