package differential

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
	"github.com/shardgate/shardgate/proxy"
	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
)

// One 3-node cluster holds everything: the plain database "plain" on the
// first node, keyspace "two" (database two on nodes 0 and 1) and keyspace
// "three" (database three on nodes 0, 1 and 2). One proxy serves both
// keyspaces; a client picks one by its database name.
var (
	cluster  *sandbox.Cluster
	snap     *shardmap.Snapshot
	plainURL string
	proxyURL map[string]string // keyspace → postgres://app:app@…/keyspace
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
		cluster, err = sandbox.StartPostgres(ctx, sandbox.Spec{Shards: 3, Users: []sandbox.User{{Name: "app", Password: "app"}}})
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

// setup creates the databases, loads the data and starts the proxy; it
// returns the proxy's stop.
func setup(ctx context.Context) (func(), error) {
	dbs := map[int][]string{0: {"plain"}}
	for _, ks := range keyspaces {
		for i := range ks.ranges {
			dbs[i] = append(dbs[i], ks.name)
		}
	}
	for i, names := range dbs {
		node := cluster.Shards[i].Primary
		admin, err := pgx.Connect(ctx, node.AdminDSN("postgres"))
		if err != nil {
			return nil, err
		}
		for _, db := range names {
			if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s OWNER app", db)); err != nil {
				admin.Close(ctx)
				return nil, fmt.Errorf("create database %s on %s: %w", db, node, err)
			}
		}
		admin.Close(ctx)
		for _, db := range names {
			if err := execOn(ctx, node.DSN("app", "app", db), schema); err != nil {
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
	p, err := proxy.NewPostgres(cfg, cur.Load, proxy.Events{})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	plainURL = cluster.Shards[0].Primary.DSN("app", "app", "plain")
	proxyURL = map[string]string{}
	for _, ks := range keyspaces {
		proxyURL[ks.name] = fmt.Sprintf("postgres://app:app@%s/%s?sslmode=disable", ln.Addr(), ks.name)
	}
	done := make(chan error, 1)
	go func() { done <- p.Serve(ln) }()
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p.Shutdown(sctx)
		<-done
	}, nil
}

func execOn(ctx context.Context, dsn, sql string) error {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, sql)
	return err
}

// proxyConfig is a proxy config for the cluster: user app/app, the
// keyspaces two and three.
func proxyConfig() (*config.Config, error) {
	dir, err := os.MkdirTemp("", "shardgate-differential-")
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
			Name: k.name, Engine: shardmap.Postgres,
			Tables: []shardmap.TableSpec{
				{Name: "users", Column: "id", Type: "bigint"},
				{Name: "orders", Column: "user_id", Type: "bigint"},
				{Name: "events", Column: "user_id", Type: "bigint"},
			},
			ReferenceTables: []string{"products"},
		}
		for i, r := range k.ranges {
			sh := cluster.Shards[i].Primary
			ks.Shards = append(ks.Shards, shardmap.ShardSpec{
				KeyRange: r,
				Primary:  shardmap.NodeSpec{Name: fmt.Sprintf("%s-pg%d", k.name, i), Host: sh.Host, Port: sh.Port},
			})
		}
		topo.Keyspaces = append(topo.Keyspaces, ks)
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
	cfg.Topology = &topo
	return cfg, nil
}
