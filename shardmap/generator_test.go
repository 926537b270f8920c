package shardmap

import "testing"

func TestGeneratedCompiles(t *testing.T) {
	spec := MapSpec{Keyspaces: []KeyspaceSpec{{
		Name: "app", Engine: Postgres,
		Generators: []GeneratorSpec{{Name: "orders_id", Kind: Sequence}, {Name: "ev", Kind: Snowflake}},
		Tables: []TableSpec{
			{Name: "orders", Column: "user_id", Type: "bigint", Generated: &GeneratedSpec{Column: "id", Generator: "orders_id"}},
			{Name: "events", Column: "id", Type: "bigint", Generated: &GeneratedSpec{Column: "id", Generator: "ev"}},
			{Name: "users", Column: "id", Type: "bigint"},
		},
		Shards: []ShardSpec{{KeyRange: "-", Primary: NodeSpec{Name: "a", Host: "h", Port: 1}}},
	}}}
	snap, err := Compile(1, spec)
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := snap.Keyspace(Postgres, "app")
	if gs := ks.Generators(); len(gs) != 2 || gs[0].Block != DefaultBlock || gs[1].Kind != Snowflake || gs[1].Block != 0 {
		t.Fatalf("generators %+v", gs)
	}
	o, _ := ks.Table("orders")
	if g := o.Generated(); g == nil || g.Column != "id" || g.Generator != ks.Generators()[0] {
		t.Fatalf("orders: %+v", g)
	}
	if u, _ := ks.Table("users"); u.Generated() != nil {
		t.Fatal("users has no generated column")
	}
	// The spec's copy is deep: changing it changes no snapshot.
	spec.Keyspaces[0].Tables[0].Generated.Column = "x"
	if snap.Spec().Keyspaces[0].Tables[0].Generated.Column != "id" {
		t.Fatal("snapshot shares the spec's GeneratedSpec")
	}
	// MySQL keyspaces have no sequence table.
	spec.Keyspaces[0].Engine = MySQL
	if err := spec.Validate(); err == nil {
		t.Fatal("sequence generator on mysql validated")
	}
}
