package proxy

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shardgate/shardgate/auth"
	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
)

// The package's integration tests share one 2-shard Postgres cluster and
// one proxy in front of it.
var (
	cluster   *sandbox.Cluster
	snap      *shardmap.Snapshot
	proxyURL  string // postgres://app:app@127.0.0.1:PORT/app
	proxyAddr string
	pgProxy   *Postgres
)

const schema = `
CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL, balance numeric(12,2) NOT NULL DEFAULT 0);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL, amount numeric(12,2) NOT NULL);
CREATE TABLE products (id bigint PRIMARY KEY, name text NOT NULL);
INSERT INTO products VALUES (1, 'keyboard'), (2, 'mouse');
`

func TestMain(m *testing.M) {
	sandbox.Main(m, func(ctx context.Context) (func() error, error) {
		var err error
		cluster, err = sandbox.StartPostgres(ctx, sandbox.Spec{Shards: 2, Users: []sandbox.User{{Name: "app", Password: "app"}}})
		if err != nil {
			return nil, err
		}
		stopCluster := cluster.Stop
		for _, sh := range cluster.Shards {
			conn, err := pgx.Connect(ctx, sh.Primary.DSN("app", "app", "app"))
			if err != nil {
				stopCluster()
				return nil, err
			}
			_, err = conn.Exec(ctx, schema)
			conn.Close(ctx)
			if err != nil {
				stopCluster()
				return nil, err
			}
		}
		cfg, err := testConfig(cluster)
		if err != nil {
			stopCluster()
			return nil, err
		}
		snap, err = shardmap.Compile(1, *cfg.Topology)
		if err != nil {
			stopCluster()
			return nil, err
		}
		var cur atomic.Pointer[shardmap.Snapshot]
		cur.Store(snap)
		pgProxy, err = NewPostgres(cfg, cur.Load, Events{})
		if err != nil {
			stopCluster()
			return nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			stopCluster()
			return nil, err
		}
		proxyAddr = ln.Addr().String()
		proxyURL = fmt.Sprintf("postgres://app:app@%s/app?sslmode=disable", proxyAddr)
		done := make(chan error, 1)
		go func() { done <- pgProxy.Serve(ln) }()
		return func() error {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			pgProxy.Shutdown(sctx)
			<-done
			return stopCluster()
		}, nil
	})
}

// testConfig is a proxy config for the cluster: user app/app, keyspace app
// over -80 and 80-, transaction pooling with small pools.
func testConfig(c *sandbox.Cluster) (*config.Config, error) {
	dir, err := os.MkdirTemp("", "shardgate-proxy-test-")
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
	ks := shardmap.KeyspaceSpec{
		Name: "app", Engine: shardmap.Postgres,
		Tables:          []shardmap.TableSpec{{Name: "users", Column: "id", Type: "bigint"}, {Name: "orders", Column: "user_id", Type: "bigint"}},
		ReferenceTables: []string{"products"},
	}
	for i, sh := range c.Shards {
		ks.Shards = append(ks.Shards, shardmap.ShardSpec{
			KeyRange: []string{"-80", "80-"}[i],
			Primary:  shardmap.NodeSpec{Name: fmt.Sprintf("pg%d", i), Host: sh.Primary.Host, Port: sh.Primary.Port},
		})
	}
	yaml := fmt.Sprintf(`
listeners:
  postgres: {address: "127.0.0.1:0"}
users:
  - name: app
    scram_sha_256: %q
backends:
  postgres: {user: app, password_file: %q}
pools: {max_server_conns_per_node: 40, acquire_timeout: 10s}
store: {path: %q}
`, v.SCRAMSHA256, pw, filepath.Join(dir, "store"))
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		return nil, err
	}
	cfg.Topology = &shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{ks}}
	return cfg, nil
}
