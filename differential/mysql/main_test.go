package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/shardgate/shardgate/auth"
	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/proxy"
	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
)

// One 3-node MariaDB cluster holds everything: the plain database "plain"
// on the first node, keyspace "two" (database two on nodes 0 and 1) and
// keyspace "three" (database three on nodes 0, 1 and 2). One MySQL
// endpoint serves both keyspaces; a client picks one by its database name.
var (
	cluster   *sandbox.Cluster
	snap      *shardmap.Snapshot
	plainDSN  string
	proxyAddr string
)

// keyspaces are the sharded set-ups under test: name → key ranges.
var keyspaces = []struct {
	name   string
	ranges []string
}{
	{"two", []string{"-80", "80-"}},
	{"three", []string{"-55", "55-aa", "aa-"}},
}

func TestMain(m *testing.M) {
	sandbox.Main(m, func(ctx context.Context) (func() error, error) {
		var err error
		cluster, err = sandbox.StartMariaDB(ctx, sandbox.Spec{Shards: 3})
		if err != nil {
			return nil, err
		}
		stop, err := setup(ctx)
		if err != nil {
			cluster.Stop()
			return nil, err
		}
		return func() error {
			stop()
			return cluster.Stop()
		}, nil
	})
}

// setup creates the databases, loads the data and starts the endpoint; it
// returns the endpoint's stop.
func setup(ctx context.Context) (func(), error) {
	dbs := map[int][]string{0: {"plain"}}
	for _, ks := range keyspaces {
		for i := range ks.ranges {
			dbs[i] = append(dbs[i], ks.name)
		}
	}
	for i, names := range dbs {
		node := cluster.Shards[i].Primary
		for _, db := range names {
			for _, q := range []string{
				"CREATE DATABASE " + db + " DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
				"GRANT ALL PRIVILEGES ON " + db + ".* TO 'app'@'%'",
			} {
				if err := node.Exec(ctx, q); err != nil {
					return nil, fmt.Errorf("%s: %w", q, err)
				}
			}
			if err := execOn(ctx, node.DSN("app", "app", db)+"?multiStatements=true", schema); err != nil {
				return nil, fmt.Errorf("schema of %s on %s: %w", db, node, err)
			}
		}
	}
	cfg, err := proxyConfig()
	if err != nil {
		return nil, err
	}
	snap, err = shardmap.Compile(1, *cfg.Topology)
	if err != nil {
		return nil, err
	}
	if err := load(ctx); err != nil {
		return nil, err
	}
	var cur atomic.Pointer[shardmap.Snapshot]
	cur.Store(snap)
	my, err := proxy.NewMySQL(cfg, cur.Load)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	plainDSN = cluster.Shards[0].Primary.DSN("app", "app", "plain")
	proxyAddr = ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- my.Serve(ln) }()
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		my.Shutdown(sctx)
		<-done
	}, nil
}

func execOn(ctx context.Context, dsn, q string) error {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, q)
	return err
}

// proxyDSN is a go-sql-driver DSN for keyspace ks through the endpoint.
func proxyDSN(ks string) string {
	return fmt.Sprintf("app:app@tcp(%s)/%s", proxyAddr, ks)
}

// proxyConfig is an endpoint config for the cluster: user app/app, the
// keyspaces two and three.
func proxyConfig() (*config.Config, error) {
	dir, err := os.MkdirTemp("", "shardgate-differential-mysql-")
	if err != nil {
		return nil, err
	}
	// The password file is read at load; nothing else is written here.
	defer os.RemoveAll(dir)
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("app\n"), 0o600); err != nil {
		return nil, err
	}
	v, err := auth.NewVerifiers("app")
	if err != nil {
		return nil, err
	}
	var topo shardmap.MapSpec
	for _, k := range keyspaces {
		ks := shardmap.KeyspaceSpec{
			Name: k.name, Engine: shardmap.MySQL,
			Tables: []shardmap.TableSpec{
				{Name: "users", Column: "id", Type: "bigint"},
				{Name: "orders", Column: "user_id", Type: "bigint"},
				{Name: "kinds", Column: "id", Type: "bigint"},
			},
			ReferenceTables: []string{"products"},
		}
		for i, r := range k.ranges {
			sh := cluster.Shards[i].Primary
			ks.Shards = append(ks.Shards, shardmap.ShardSpec{
				KeyRange: r,
				Primary:  shardmap.NodeSpec{Name: fmt.Sprintf("%s-my%d", k.name, i), Host: sh.Host, Port: sh.Port},
			})
		}
		topo.Keyspaces = append(topo.Keyspaces, ks)
	}
	yaml := fmt.Sprintf(`
listeners:
  mysql: {address: "127.0.0.1:0"}
users:
  - name: app
    mysql_native_password: %q
backends:
  mysql: {user: app, password_file: %q, tls: {mode: disable}}
pools: {max_server_conns_per_node: 20, acquire_timeout: 10s}
store: {path: %q}
`, v.MySQLNative, pw, filepath.Join(dir, "store"))
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		return nil, err
	}
	cfg.Topology = &topo
	return cfg, nil
}
