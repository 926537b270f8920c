package proxy

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/shardmap"
)

// startProxy runs a second proxy over the shared cluster with an edited
// config. stop drains it with the given grace period.
func startProxy(t *testing.T, edit func(*config.Config)) (url string, stop func(grace time.Duration) error) {
	t.Helper()
	_, url, stop = startProxyP(t, edit)
	return url, stop
}

// startProxyP is startProxy that also returns the endpoint (for its stats).
func startProxyP(t *testing.T, edit func(*config.Config)) (p *Postgres, url string, stop func(grace time.Duration) error) {
	t.Helper()
	return startProxyMap(t, edit, snap)
}

// startProxyMap is startProxyP serving the shard map m.
func startProxyMap(t *testing.T, edit func(*config.Config), m *shardmap.Snapshot) (p *Postgres, url string, stop func(grace time.Duration) error) {
	t.Helper()
	var cur atomic.Pointer[shardmap.Snapshot]
	cur.Store(m)
	return startProxyMaps(t, edit, &cur)
}

// startProxyMaps is startProxyP serving the map in cur, which the test may
// replace (a new map version).
func startProxyMaps(t *testing.T, edit func(*config.Config), cur *atomic.Pointer[shardmap.Snapshot]) (p *Postgres, url string, stop func(grace time.Duration) error) {
	t.Helper()
	cfg, err := testConfig(cluster)
	if err != nil {
		t.Fatal(err)
	}
	edit(cfg)
	p, err = NewPostgres(cfg, cur.Load, Events{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Serve(ln) }()
	stopped := false
	stop = func(grace time.Duration) error {
		if stopped {
			return nil
		}
		stopped = true
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		err := p.Shutdown(ctx)
		<-done
		return err
	}
	t.Cleanup(func() { stop(time.Second) })
	return p, fmt.Sprintf("postgres://app:app@%s/app?sslmode=disable", ln.Addr()), stop
}

func TestIdleTimeouts(t *testing.T) {
	url, _ := startProxy(t, func(c *config.Config) {
		c.Limits.ClientIdleTimeout = 300 * time.Millisecond
		c.Limits.IdleInTransactionTimeout = 300 * time.Millisecond
	})
	ctx := context.Background()
	idle, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	inTx, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inTx.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := inTx.Exec(ctx, "UPDATE users SET name = name WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	for name, c := range map[string]*pgx.Conn{"idle": idle, "in transaction": inTx} {
		if _, err := c.Exec(ctx, "SELECT 1"); err == nil {
			t.Errorf("%s client still served after its timeout", name)
		}
	}
}

// SIGTERM's drain: idle sessions end at once, a session in a transaction
// may finish it, new clients are refused; nothing of the transaction is
// lost.
func TestDrainLetsTransactionsFinish(t *testing.T) {
	cleanUsers(t, 31337, 31337)
	url, stop := startProxy(t, func(*config.Config) {})
	ctx := context.Background()
	idle, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	busy, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := busy.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES (31337, 'drained')"); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop(10 * time.Second) }()
	time.Sleep(200 * time.Millisecond)
	if _, err := idle.Exec(ctx, "SELECT 1"); err == nil {
		t.Error("an idle session outlived the drain")
	}
	if _, err := pgx.Connect(ctx, url); err == nil {
		t.Error("a new client was accepted during the drain")
	}
	if _, err := tx.Exec(ctx, "UPDATE users SET name = 'drained!' WHERE id = 31337"); err != nil {
		t.Fatalf("the open transaction was cut: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("commit during the drain: %v", err)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the drain did not end after the transaction")
	}
	wantOnlyOn(t, "users", "id", 31337)
	c := connect(t, pgx.QueryExecModeExec)
	var name string
	if err := c.QueryRow(ctx, "SELECT name FROM users WHERE id = 31337").Scan(&name); err != nil || name != "drained!" {
		t.Fatalf("after the drain: %q %v", name, err)
	}
	_ = strings.TrimSpace
}

// startProxyWithTables runs ddl on every shard's primary (as superuser),
// then starts a proxy whose map shards tables besides the test map's, its
// config changed by edit (nil: none). It returns the proxy's URL and map.
func startProxyWithTables(t *testing.T, ddl []string, tables []shardmap.TableSpec, edit func(*config.Config)) (string, *shardmap.Snapshot) {
	t.Helper()
	ctx := context.Background()
	for _, sh := range cluster.Shards {
		for _, q := range ddl {
			if err := sh.Primary.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg, err := testConfig(cluster)
	if err != nil {
		t.Fatal(err)
	}
	ks := &cfg.Topology.Keyspaces[0]
	ks.Tables = append(ks.Tables, tables...)
	m, err := shardmap.Compile(1, *cfg.Topology)
	if err != nil {
		t.Fatal(err)
	}
	_, url, _ := startProxyMap(t, func(c *config.Config) {
		c.Topology = cfg.Topology
		if edit != nil {
			edit(c)
		}
	}, m)
	return url, m
}
