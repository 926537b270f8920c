package router_test

import (
	"testing"

	"github.com/shardgate/shardgate/parser/pgsql"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// The session's path for a generated column: Route asks for IDs, the IDs
// go into the text, and the new text routes by them — here a generated
// sharding key, so the rows split by the IDs' shards.
func TestGeneratedKeyRoundTrip(t *testing.T) {
	snap := goldenSnapshot(t)
	an := pgsql.NewAnalyzer(pgsql.Options{})
	sess := &router.Session{Engine: shardmap.Postgres, Keyspace: "app", User: "app", SearchPath: []string{"public"}}
	sql := "INSERT INTO events (id, kind) VALUES (DEFAULT, 'a'), (3, 'b'), (DEFAULT, 'c') RETURNING id"
	stmt, lits, err := an.Analyze(sql, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = router.Route(stmt, &router.Values{Literals: lits, Bound: true}, sess, snap)
	req, ok := router.NeedsIDs(err)
	if !ok || req.Count != 2 || req.Rows[0] != 0 || req.Rows[1] != 2 || req.Generator.Kind != shardmap.Snowflake {
		t.Fatalf("got %v", err)
	}
	filled, err := pgsql.AddInsertColumn(sql, req.Column, []int64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if want := "INSERT INTO events (id, kind) VALUES (1, 'a'), (3, 'b'), (2, 'c') RETURNING id"; filled != want {
		t.Fatalf("filled %q", filled)
	}
	stmt, lits, err = an.Analyze(filled, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := router.Route(stmt, &router.Values{Literals: lits, Bound: true}, sess, snap)
	if err != nil {
		t.Fatal(err)
	}
	sp, ok := p.(router.SplitInsert)
	if !ok || len(sp.Shards) != 2 {
		t.Fatalf("got %v", p)
	}
	// Each shard's text holds its own rows.
	for i := range sp.Shards {
		part, _, err := pgsql.SplitInsertSQL(filled, sp.Rows[i])
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s", sp.Shards[i].Name, part)
	}
}
