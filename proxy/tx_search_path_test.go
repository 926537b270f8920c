package proxy

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/shardmap"
)

// tenantItems is a map where tenant_c.items is sharded by id and
// tenant_d.items by owner (both schemas on every shard, empty), and a
// proxy serving it.
type tenantItems struct {
	url string
	m   *shardmap.Snapshot
}

func startTenantItems(t *testing.T) tenantItems {
	t.Helper()
	url, m := startProxyWithTables(t, []string{
		"CREATE SCHEMA IF NOT EXISTS tenant_c",
		"CREATE SCHEMA IF NOT EXISTS tenant_d",
		"CREATE TABLE IF NOT EXISTS tenant_c.items (id bigint PRIMARY KEY, owner bigint)",
		"CREATE TABLE IF NOT EXISTS tenant_d.items (id bigint PRIMARY KEY, owner bigint)",
		"GRANT USAGE ON SCHEMA tenant_c, tenant_d TO app",
		"GRANT SELECT, INSERT, DELETE ON ALL TABLES IN SCHEMA tenant_c, tenant_d TO app",
	}, []shardmap.TableSpec{
		{Name: "tenant_c.items", Column: "id", Type: "bigint"},
		{Name: "tenant_d.items", Column: "owner", Type: "bigint"},
	}, nil)
	return tenantItems{url: url, m: m}
}

// empty deletes every row of both tables.
func (ti tenantItems) empty(t *testing.T) {
	t.Helper()
	for _, sh := range cluster.Shards {
		if err := sh.Primary.Exec(context.Background(), "DELETE FROM tenant_c.items; DELETE FROM tenant_d.items"); err != nil {
			t.Fatal(err)
		}
	}
}

func (ti tenantItems) shardOf(t *testing.T, table string, v int64) int {
	t.Helper()
	sh, err := ti.m.Lookup(shardmap.Postgres, "app", table, shardmap.Int(v))
	if err != nil {
		t.Fatal(err)
	}
	return sh.Index
}

// count is how many rows of table on shard have id.
func (ti tenantItems) count(t *testing.T, table string, shard int, id int64) int {
	t.Helper()
	var n int
	if err := directShard(t, shard).QueryRow(context.Background(), "SELECT count(*) FROM "+table+" WHERE id = $1", id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// connect opens a client whose startup search_path is tenant_c.
func (ti tenantItems) connect(t *testing.T, mode pgx.QueryExecMode) *pgx.Conn {
	t.Helper()
	pc, err := pgx.ParseConfig(ti.url)
	if err != nil {
		t.Fatal(err)
	}
	pc.RuntimeParams["search_path"] = "tenant_c"
	pc.DefaultQueryExecMode = mode
	c, err := pgx.ConnectConfig(context.Background(), pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

var bothProtocols = []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol}

// TestTransactionSearchPathRoutes: a SET LOCAL search_path inside a
// transaction (a tenant's schema picked per transaction, as apps do under
// transaction pooling) names the tables of the statements after it, on the
// server and so in routing. A row written to tenant_d must land on its
// owner's shard, not on the shard its id has in tenant_c (where reads by
// owner would never find it).
func TestTransactionSearchPathRoutes(t *testing.T) {
	ctx := context.Background()
	ti := startTenantItems(t)
	const id = 70800
	owner := int64(id + 1)
	for ti.shardOf(t, "tenant_d.items", owner) == ti.shardOf(t, "tenant_c.items", id) {
		owner++
	}
	for _, mode := range bothProtocols {
		t.Run(mode.String(), func(t *testing.T) {
			ti.empty(t)
			c := ti.connect(t, mode)
			tx := beginIn(t, c, "tenant_d")
			if _, err := tx.Exec(ctx, "INSERT INTO items (id, owner) VALUES ($1, $2)", id, owner); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM items WHERE owner = $1", owner).Scan(&n); err != nil || n != 1 {
				t.Errorf("read by owner in the transaction: %d, %v; want 1", n, err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if sh := ti.shardOf(t, "tenant_d.items", owner); ti.count(t, "tenant_d.items", sh, id) != 1 {
				t.Errorf("tenant_d.items row not on its owner's shard %d (routed as tenant_c.items by id)", sh)
			}
			// After the transaction, its SET LOCAL is gone: tenant_c again.
			if _, err := c.Exec(ctx, "INSERT INTO items (id, owner) VALUES ($1, $2)", id, owner); err != nil {
				t.Fatal(err)
			}
			if ti.count(t, "tenant_c.items", ti.shardOf(t, "tenant_c.items", id), id) != 1 {
				t.Errorf("tenant_c.items row not on its id's shard")
			}
		})
	}
}

// TestSetLocalReachesEveryPartOfTheTransaction: a SET LOCAL search_path
// right after BEGIN holds on every shard the transaction joins, and routes
// each statement by the tenant's table: two owners on two shards, each row
// in tenant_d.items on its owner's shard. (A SET once the transaction runs
// on several shards is refused, with this as the hint.)
func TestSetLocalReachesEveryPartOfTheTransaction(t *testing.T) {
	ctx := context.Background()
	ti := startTenantItems(t)
	const o1 = 71000
	o2 := int64(o1 + 1)
	for ti.shardOf(t, "tenant_d.items", o2) == ti.shardOf(t, "tenant_d.items", o1) {
		o2++
	}
	// Each owner's row gets an id that tenant_c.items would put on the
	// other shard.
	idOf := map[int64]int64{}
	for _, o := range []int64{o1, o2} {
		id := o + 100
		for ti.shardOf(t, "tenant_c.items", id) == ti.shardOf(t, "tenant_d.items", o) {
			id++
		}
		idOf[o] = id
	}
	for _, mode := range bothProtocols {
		t.Run(mode.String(), func(t *testing.T) {
			ti.empty(t)
			c := ti.connect(t, mode)
			tx := beginIn(t, c, "tenant_d")
			for _, o := range []int64{o1, o2} {
				if _, err := tx.Exec(ctx, "INSERT INTO items (id, owner) VALUES ($1, $2)", idOf[o], o); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := tx.Exec(ctx, "SET search_path = tenant_c"); err == nil {
				t.Error("SET in a transaction on two shards: no error")
			}
			if err := tx.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			tx = beginIn(t, c, "tenant_d")
			for _, o := range []int64{o1, o2} {
				if _, err := tx.Exec(ctx, "INSERT INTO items (id, owner) VALUES ($1, $2)", idOf[o], o); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			for _, o := range []int64{o1, o2} {
				sh := ti.shardOf(t, "tenant_d.items", o)
				if d, c := ti.count(t, "tenant_d.items", sh, idOf[o]), ti.count(t, "tenant_c.items", sh, idOf[o]); d != 1 || c != 0 {
					t.Errorf("owner %d on shard %d: %d rows in tenant_d.items, %d in tenant_c.items; want 1, 0", o, sh, d, c)
				}
			}
		})
	}
}

// TestSetLocalHoldsForEveryReadOfTheTransaction: reads that once ran
// beside a transaction not yet on a server (a read of no table, a read of
// every shard) ran without its SET LOCALs, and a multi-statement text
// inside the transaction once made the proxy replay the session's
// settings over the transaction's own. Each read here must see the
// transaction's search_path and lock_timeout.
func TestSetLocalHoldsForEveryReadOfTheTransaction(t *testing.T) {
	ctx := context.Background()
	ti := startTenantItems(t)
	ti.empty(t)
	// One row in each tenant's table, on every shard.
	for sh := range cluster.Shards {
		if err := cluster.Shards[sh].Primary.Exec(ctx, "INSERT INTO tenant_d.items VALUES ($1, $1)", 71100+sh); err != nil {
			t.Fatal(err)
		}
	}
	if err := cluster.Shards[0].Primary.Exec(ctx, "INSERT INTO tenant_c.items VALUES (71200, 0), (71201, 0), (71202, 0)"); err != nil {
		t.Fatal(err)
	}
	for _, mode := range bothProtocols {
		t.Run(mode.String(), func(t *testing.T) {
			c := ti.connect(t, mode)
			tx := beginIn(t, c, "tenant_d")
			var path string
			if err := tx.QueryRow(ctx, "SELECT current_setting('search_path')").Scan(&path); err != nil || path != "tenant_d" {
				t.Errorf("read of no table first in the transaction: %q, %v; want tenant_d", path, err)
			}
			if err := tx.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			tx = beginIn(t, c, "tenant_d")
			var n int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil || n != len(cluster.Shards) {
				t.Errorf("read of every shard first in the transaction: %d, %v; want tenant_d's %d rows", n, err, len(cluster.Shards))
			}
			if err := tx.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			if mode != pgx.QueryExecModeSimpleProtocol {
				return // a multi-statement text needs the simple protocol
			}
			tx = beginIn(t, c, "tenant_d")
			if _, err := tx.Exec(ctx, "SELECT count(*) FROM items WHERE owner = 71100"); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '1s'; SELECT 1"); err != nil {
				t.Fatal(err)
			}
			var lt string
			if err := tx.QueryRow(ctx, "SELECT current_setting('search_path'), current_setting('lock_timeout') FROM items WHERE owner = 71100").Scan(&path, &lt); err != nil || path != "tenant_d" || lt != "1s" {
				t.Errorf("after a multi-statement SET in the transaction: search_path %q, lock_timeout %q, %v; want tenant_d, 1s", path, lt, err)
			}
			if err := tx.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// beginIn begins a transaction on c whose first statement sets its
// search_path to schema (SET LOCAL, waiting in the deferred BEGIN).
func beginIn(t *testing.T, c *pgx.Conn, schema string) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SET LOCAL search_path = "+schema); err != nil {
		t.Fatal(err)
	}
	return tx
}

// A SET LOCAL that changes nothing a read returns (a timeout) leaves a
// transaction's first read of no table beside it, as before: the
// transaction's shard is still its first write's, and a one-shard write
// commits on its own, without a second shard or two-phase commit.
func TestHarmlessSetLocalLeavesTheTransactionFree(t *testing.T) {
	ctx := context.Background()
	p, url, _ := startProxyP(t, func(*config.Config) {})
	stats := p.SessionStats()
	k0, k1 := keysOnTwoShards(t, 72800)
	if shardIndex(t, k1) == 0 {
		k1 = k0 // a key off the first shard, where a read of no table starts
	}
	c := dialMode(t, url, pgx.QueryExecModeSimpleProtocol)
	joins, twoPhase := stats.TxJoins.Load(), stats.TxTwoPhase.Load()
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"SET LOCAL statement_timeout = '5s'", "SELECT 1"} {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Exec(ctx, "UPDATE users SET name = name WHERE id = $1", k1); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if j, tp := stats.TxJoins.Load()-joins, stats.TxTwoPhase.Load()-twoPhase; j != 0 || tp != 0 {
		t.Errorf("a one-shard write after SET LOCAL statement_timeout and SELECT 1: %d shards joined, %d two-phase commits; want 0, 0", j, tp)
	}
}
