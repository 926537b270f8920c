package proxy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/shardmap"
)

// TestCopyColumnsUnderTheSessionsSearchPath: a COPY without a column list
// learns the table's columns (to find the key's place in a row) from a
// shard, on a pooled connection. Another session left its search_path
// there (tenant_x, whose copyord has the columns in the other order): the
// lookup must resolve the name as this session does, or every row is
// routed by the wrong field.
func TestCopyColumnsUnderTheSessionsSearchPath(t *testing.T) {
	ctx := context.Background()
	url, m := startProxyWithTables(t, []string{
		"CREATE SCHEMA IF NOT EXISTS tenant_x",
		"CREATE TABLE IF NOT EXISTS public.copyord (id bigint PRIMARY KEY, other bigint)",
		"CREATE TABLE IF NOT EXISTS tenant_x.copyord (other bigint, id bigint PRIMARY KEY)",
		"GRANT USAGE ON SCHEMA tenant_x TO app",
		"GRANT SELECT, INSERT, DELETE ON public.copyord, tenant_x.copyord TO app",
		"DELETE FROM public.copyord", "DELETE FROM tenant_x.copyord",
	}, []shardmap.TableSpec{
		{Name: "copyord", Column: "id", Type: "bigint"},
		{Name: "tenant_x.copyord", Column: "id", Type: "bigint"},
	}, func(c *config.Config) { c.Pools.MaxServerConnsPerNode = 1 }) // the tenant's connection is the COPY's
	shardOf := func(v int64) int {
		sh, err := m.Lookup(shardmap.Postgres, "app", "copyord", shardmap.Int(v))
		if err != nil {
			t.Fatal(err)
		}
		return sh.Index
	}
	// A row whose id and other live on different shards.
	id := int64(72500)
	other := id + 1
	for shardOf(other) == shardOf(id) {
		other++
	}
	pc, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	pc.RuntimeParams["search_path"] = "tenant_x"
	tenant, err := pgx.ConnectConfig(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	defer tenant.Close(ctx)
	c := dialMode(t, url, pgx.QueryExecModeSimpleProtocol)
	for _, sh := range []int{0, 1} {
		// The tenant's search_path on every shard's one connection.
		var n int
		key := id
		if shardOf(key) != sh {
			key = other
		}
		if err := tenant.QueryRow(ctx, "SELECT count(*) FROM copyord WHERE id = $1", key).Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := copyText(c, "COPY copyord FROM STDIN", fmt.Sprintf("%d\t%d\n", id, other)); err != nil {
		t.Fatal(err)
	}
	if n := countOnShard(t, shardOf(id), "SELECT count(*) FROM public.copyord WHERE id = $1", id); n != 1 {
		t.Errorf("the row is not on its id's shard %d (routed by the other column)", shardOf(id))
	}
}

// TestCancelReachesEveryShardOfACopy: a COPY over two shards whose first
// shard's part waits on a row lock (another transaction's uncommitted row
// of the same key). The client's cancel must reach that shard too, not
// only the last one the COPY started on, or the COPY waits as long as the
// other transaction.
func TestCancelReachesEveryShardOfACopy(t *testing.T) {
	ctx := context.Background()
	cleanUsers(t, 72600, 72700)
	kA, kB := keysOnTwoShards(t, 72600)
	other := directShard(t, shardIndex(t, kA))
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'held')", kA); err != nil {
		t.Fatal(err)
	}
	c := connect(t, pgx.QueryExecModeSimpleProtocol)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second) // far past the cancel
	defer cancel()
	time.AfterFunc(500*time.Millisecond, func() { c.PgConn().CancelRequest(ctx) }) //nolint:errcheck // the COPY's answer says
	data := fmt.Sprintf("%d\tfirst\n%d\tsecond\n", kA, kB)
	start := time.Now()
	_, err = c.PgConn().CopyFrom(cctx, strings.NewReader(data), "COPY users (id, name) FROM STDIN")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" || time.Since(start) > 5*time.Second {
		t.Fatalf("cancelled COPY after %s: %v; want 57014 soon after the cancel (it reached the waiting shard)", time.Since(start), err)
	}
}
