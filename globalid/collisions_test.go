package globalid

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/shardmap"
)

// Every shard has the same schema: serial, identity and nextval-default
// columns collide across shards; interleaved sequences and plain columns
// do not.
func TestCheckSequences(t *testing.T) {
	ctx := context.Background()
	var dbs []ShardDB
	for i := 0; i < 2; i++ {
		conn := connect(t, i)
		_, err := conn.Exec(ctx, fmt.Sprintf(`
DROP TABLE IF EXISTS cs_orders, cs_users, cs_events, cs_items, cs_plain;
DROP SEQUENCE IF EXISTS cs_ev_seq;
CREATE TABLE cs_orders (id bigserial PRIMARY KEY, user_id bigint NOT NULL);
CREATE TABLE cs_users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text);
CREATE SEQUENCE cs_ev_seq;
CREATE TABLE cs_events (id bigint DEFAULT nextval('cs_ev_seq'), k bigint);
CREATE TABLE cs_items (id bigserial, k bigint);
ALTER SEQUENCE cs_items_id_seq INCREMENT 2 START %d RESTART;
CREATE TABLE cs_plain (id bigint, k bigint);`, i+1))
		if err != nil {
			t.Fatal(err)
		}
		dbs = append(dbs, ShardDB{Shard: []string{"-80", "80-"}[i], DB: conn})
	}
	snap, err := shardmap.Compile(1, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{{
		Name: "app", Engine: shardmap.Postgres,
		Generators: []shardmap.GeneratorSpec{{Name: "orders_id", Kind: shardmap.Sequence}},
		Tables: []shardmap.TableSpec{
			{Name: "cs_orders", Column: "user_id", Type: "bigint", Generated: &shardmap.GeneratedSpec{Column: "id", Generator: "orders_id"}},
			{Name: "cs_users", Column: "id", Type: "bigint"},
			{Name: "cs_events", Column: "k", Type: "bigint"},
			{Name: "cs_items", Column: "k", Type: "bigint"},
			{Name: "cs_plain", Column: "k", Type: "bigint"},
			{Name: "cs_missing", Column: "k", Type: "bigint"},
		},
		Shards: []shardmap.ShardSpec{
			{KeyRange: "-80", Primary: shardmap.NodeSpec{Name: "a", Host: "h", Port: 1}},
			{KeyRange: "80-", Primary: shardmap.NodeSpec{Name: "b", Host: "h", Port: 2}},
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := snap.Keyspace(shardmap.Postgres, "app")
	got, err := CheckSequences(ctx, ks, dbs)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, f := range got {
		lines = append(lines, f.String())
	}
	t.Logf("findings:\n%s", strings.Join(lines, "\n"))
	want := []struct{ table, kind, generated string }{
		{"cs_events", "nextval default", ""},
		{"cs_orders", "serial", "orders_id"},
		{"cs_users", "identity", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d findings, want %d", len(got), len(want))
	}
	for i, w := range want {
		f := got[i]
		if f.Table != w.table || f.Column != "id" || f.Kind != w.kind || f.Generated != w.generated ||
			!f.Same || f.Start != 1 || f.Increment != 1 || len(f.Shards) != 2 {
			t.Errorf("finding %d: %+v, want %+v", i, f, w)
		}
	}
}
