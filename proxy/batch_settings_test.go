package proxy

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestBatchSearchPathRoutes: a SET search_path queued in an extended
// batch (pgx's Batch) names the tables of the statements after it in the
// same batch, on the server and so in routing; the batch's SET ran on a
// connection chosen before any shard was known, and the batch moves to
// the shard its first routed statement needs. Each arrangement of shards
// (the SET's first connection, the row's tenant_c shard by id, its
// tenant_d shard by owner) must put the row on its owner's shard. A batch
// that fails after such a move is undone as a whole: its row is not
// written and the session's search_path is the one from before.
func TestBatchSearchPathRoutes(t *testing.T) {
	ctx := context.Background()
	ti := startTenantItems(t)
	type pair struct{ id, owner int64 }
	var pairs []pair
	seen := map[[2]int]bool{}
	for id := int64(73000); len(pairs) < 4 && id < 73400; id++ {
		owner := id + 1000
		k := [2]int{ti.shardOf(t, "tenant_c.items", id), ti.shardOf(t, "tenant_d.items", owner)}
		if !seen[k] {
			seen[k] = true
			pairs = append(pairs, pair{id, owner})
		}
	}
	if len(pairs) < 4 {
		t.Fatalf("only %d of 4 shard arrangements found", len(pairs))
	}
	ti.empty(t)
	c := ti.connect(t, pgx.QueryExecModeCacheStatement)
	for _, p := range pairs {
		name := fmt.Sprintf("id %d (tenant_c shard %d), owner %d (tenant_d shard %d)", p.id, ti.shardOf(t, "tenant_c.items", p.id), p.owner, ti.shardOf(t, "tenant_d.items", p.owner))
		b := &pgx.Batch{}
		b.Queue("SET search_path = tenant_d")
		b.Queue("INSERT INTO items (id, owner) VALUES ($1, $2)", p.id, p.owner)
		b.Queue("SELECT count(*) FROM items WHERE owner = $1", p.owner)
		br := c.SendBatch(ctx, b)
		var n int
		_, err1 := br.Exec()
		_, err2 := br.Exec()
		err3 := br.QueryRow().Scan(&n)
		if err := br.Close(); err1 != nil || err2 != nil || err3 != nil || err != nil || n != 1 {
			t.Errorf("%s: batch: %v, %v, %v, %v, count %d; want 1", name, err1, err2, err3, err, n)
		}
		sh := ti.shardOf(t, "tenant_d.items", p.owner)
		if ti.count(t, "tenant_d.items", sh, p.id) != 1 {
			t.Errorf("%s: tenant_d.items row not on its owner's shard %d", name, sh)
		}
		for i := range cluster.Shards {
			if ti.count(t, "tenant_c.items", i, p.id) != 0 {
				t.Errorf("%s: a row in tenant_c.items on shard %d", name, i)
			}
		}
		var path string
		if err := c.QueryRow(ctx, "SELECT current_setting('search_path')").Scan(&path); err != nil || path != "tenant_d" {
			t.Errorf("%s: search_path after the batch: %q, %v; want tenant_d", name, path, err)
		}
		if _, err := c.Exec(ctx, "SET search_path = tenant_c"); err != nil {
			t.Fatal(err)
		}

		// The same batch with a failing statement at its end.
		b = &pgx.Batch{}
		b.Queue("SET search_path = tenant_d")
		b.Queue("INSERT INTO items (id, owner) VALUES ($1, $2)", p.id+500, p.owner)
		b.Queue("INSERT INTO items (id, owner) VALUES ($1, $2)", p.id+500, p.owner)
		if err := c.SendBatch(ctx, b).Close(); pgCode(err) != "23505" {
			t.Errorf("%s: batch with a duplicate row: %v; want 23505", name, err)
		}
		for i := range cluster.Shards {
			if ti.count(t, "tenant_d.items", i, p.id+500) != 0 {
				t.Errorf("%s: the failed batch's row is on shard %d", name, i)
			}
		}
		if err := c.QueryRow(ctx, "SELECT current_setting('search_path')").Scan(&path); err != nil || path != "tenant_c" {
			t.Errorf("%s: search_path after the failed batch: %q, %v; want tenant_c", name, path, err)
		}

		// A ROLLBACK later in the batch would undo the SETs: after a move
		// it is refused, and the batch fails as a whole.
		b = &pgx.Batch{}
		b.Queue("SET search_path = tenant_d")
		b.Queue("INSERT INTO items (id, owner) VALUES ($1, $2)", p.id+600, p.owner)
		b.Queue("ROLLBACK")
		err := c.SendBatch(ctx, b).Close()
		for i := range cluster.Shards {
			if ti.count(t, "tenant_d.items", i, p.id+600) != 0 {
				t.Errorf("%s: the batch with a ROLLBACK left its row on shard %d (%v)", name, i, err)
			}
		}
		if err := c.QueryRow(ctx, "SELECT current_setting('search_path')").Scan(&path); err != nil || path != "tenant_c" {
			t.Errorf("%s: search_path after a batch that ended with ROLLBACK: %q, %v; want tenant_c", name, path, err)
		}
	}
}

// TestPathSetInTextRoutes: in a multi-statement text, a SET search_path
// names the tables of the statements after it, on the server and in
// routing: the row lands on its tenant_d owner's shard, not on the shard
// its id has in tenant_c. A statement of such a text that needs several
// shards is refused (the text runs on one shard as a whole).
func TestPathSetInTextRoutes(t *testing.T) {
	ctx := context.Background()
	ti := startTenantItems(t)
	ti.empty(t)
	const id = 73500
	owner := int64(id + 1)
	for ti.shardOf(t, "tenant_d.items", owner) == ti.shardOf(t, "tenant_c.items", id) {
		owner++
	}
	c := ti.connect(t, pgx.QueryExecModeSimpleProtocol)
	text := fmt.Sprintf("SET search_path = tenant_d; INSERT INTO items (id, owner) VALUES (%d, %d)", id, owner)
	if _, err := c.Exec(ctx, text); err != nil {
		t.Fatal(err)
	}
	if sh := ti.shardOf(t, "tenant_d.items", owner); ti.count(t, "tenant_d.items", sh, id) != 1 {
		t.Errorf("tenant_d.items row not on its owner's shard %d", sh)
	}
	if _, err := c.Exec(ctx, "SELECT 1; SELECT count(*) FROM tenant_d.items"); pgCode(err) != "0A000" {
		t.Errorf("a read of every shard in a multi-statement text: %v; want 0A000", err)
	}
}

// TestMovedBatchReportsItsSettingsAtItsEnd: the ParameterStatus of a SET
// whose batch moved to another shard reaches the client with the batch's
// ReadyForQuery, as Postgres sends it, and not at all when the batch
// fails (the SET is undone); the session's setting follows.
func TestMovedBatchReportsItsSettingsAtItsEnd(t *testing.T) {
	ctx := context.Background()
	a, b := keysOnTwoShards(t, 73600)
	k := a
	if shardIndex(t, k) == 0 {
		k = b // the batch's SET goes to the first shard, then moves
	}
	c := dial(t, proxyURL)
	run := func(app, query string) error {
		batch := &pgx.Batch{}
		batch.Queue("SET application_name = '" + app + "'")
		batch.Queue(query, k)
		return c.SendBatch(ctx, batch).Close()
	}
	if err := run("moved_ok", "SELECT count(*) FROM users WHERE id = $1"); err != nil {
		t.Fatal(err)
	}
	if got := c.PgConn().ParameterStatus("application_name"); got != "moved_ok" {
		t.Errorf("reported application_name after the moved batch: %q; want moved_ok", got)
	}
	if err := run("moved_bad", "SELECT 1/0 FROM users WHERE id = $1"); pgCode(err) != "22012" {
		t.Fatalf("the failing batch: %v", err)
	}
	if got := c.PgConn().ParameterStatus("application_name"); got != "moved_ok" {
		t.Errorf("reported application_name after the failed moved batch: %q; want moved_ok", got)
	}
	var app string
	if err := c.QueryRow(ctx, "SELECT current_setting('application_name')").Scan(&app); err != nil || app != "moved_ok" {
		t.Errorf("application_name after the failed moved batch: %q, %v; want moved_ok", app, err)
	}
}
