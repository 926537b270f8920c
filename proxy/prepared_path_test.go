package proxy

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/shardmap"
)

// TestPreparedStatementsPerSearchPath: two clients share one server
// connection, each with its own search_path, where a table of the same
// name has another shape in each schema (a schema per tenant). A statement
// prepared on the connection for one must not serve the other: Postgres
// would analyse it again under the other search_path and fail with
// "cached plan must not change result type".
func TestPreparedStatementsPerSearchPath(t *testing.T) {
	ctx := context.Background()
	k, _ := keysOnTwoShards(t, 70300)
	url, m := startProxyWithTables(t, []string{
		"CREATE SCHEMA IF NOT EXISTS tenant_a",
		"CREATE SCHEMA IF NOT EXISTS tenant_b",
		"CREATE TABLE IF NOT EXISTS tenant_a.items (id bigint PRIMARY KEY, name text)",
		"CREATE TABLE IF NOT EXISTS tenant_b.items (id bigint PRIMARY KEY, name text, price int)",
		"GRANT USAGE ON SCHEMA tenant_a, tenant_b TO app",
		"GRANT SELECT ON ALL TABLES IN SCHEMA tenant_a, tenant_b TO app",
		"DELETE FROM tenant_a.items", "DELETE FROM tenant_b.items",
	}, []shardmap.TableSpec{
		{Name: "tenant_a.items", Column: "id", Type: "bigint"},
		{Name: "tenant_b.items", Column: "id", Type: "bigint"},
	}, func(c *config.Config) { c.Pools.MaxServerConnsPerNode = 1 }) // both clients on one connection
	sh, err := m.Lookup(shardmap.Postgres, "app", "tenant_a.items", shardmap.Int(k))
	if err != nil {
		t.Fatal(err)
	}
	if err := cluster.Shards[sh.Index].Primary.Exec(ctx, "INSERT INTO tenant_a.items VALUES ($1, 'a')", k); err != nil {
		t.Fatal(err)
	}
	if err := cluster.Shards[sh.Index].Primary.Exec(ctx, "INSERT INTO tenant_b.items VALUES ($1, 'b', 7)", k); err != nil {
		t.Fatal(err)
	}
	connect := func(path string) *pgx.Conn {
		pc, err := pgx.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		pc.RuntimeParams["search_path"] = path
		c, err := pgx.ConnectConfig(ctx, pc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(ctx) })
		return c
	}
	a, b := connect("tenant_a"), connect("tenant_b")
	const q = "SELECT * FROM items WHERE id = $1" // pgx prepares it (its statement cache)
	for round := range 2 {
		var name string
		if err := a.QueryRow(ctx, q, k).Scan(new(int64), &name); err != nil || name != "a" {
			t.Errorf("round %d, tenant_a: %q, %v", round, name, err)
		}
		var price int
		if err := b.QueryRow(ctx, q, k).Scan(new(int64), &name, &price); err != nil || name != "b" || price != 7 {
			t.Errorf("round %d, tenant_b: %q %d, %v", round, name, price, err)
		}
	}
}
