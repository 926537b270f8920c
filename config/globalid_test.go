package config

import (
	"testing"

	"github.com/shardgate/shardgate/shardmap"
)

func TestFullExampleGlobalIDs(t *testing.T) {
	setFullEnv(t)
	c, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.GlobalIDs.SnowflakeNode(); err != nil || n != 7 {
		t.Errorf("global_ids.node: %d %v", n, err)
	}
	ks := c.Topology.Keyspaces[0]
	if len(ks.Generators) != 2 || ks.Generators[0].Kind != shardmap.Sequence || ks.Generators[1].Kind != shardmap.Snowflake {
		t.Errorf("generators: %+v", ks.Generators)
	}
	if g := ks.Tables[1].Generated; g == nil || g.Column != "id" || g.Generator != "orders_id" {
		t.Errorf("orders.generated: %+v", g)
	}
}

func TestGlobalIDsValidation(t *testing.T) {
	node := func(n int) *int { return &n }
	gens := func(c *Config, g ...shardmap.GeneratorSpec) { c.Topology.Keyspaces[0].Generators = g }
	for _, tc := range []struct {
		name   string
		mutate func(c *Config)
		want   []string
	}{
		{"sequence and snowflake", func(c *Config) {
			gens(c, shardmap.GeneratorSpec{Name: "a", Kind: shardmap.Sequence}, shardmap.GeneratorSpec{Name: "b", Kind: shardmap.Snowflake})
			c.Topology.Keyspaces[0].Tables[0].Generated = &shardmap.GeneratedSpec{Column: "id", Generator: "b"}
			c.GlobalIDs.Node = node(0)
		}, nil},
		{"snowflake needs a node", func(c *Config) { gens(c, shardmap.GeneratorSpec{Name: "b", Kind: shardmap.Snowflake}) },
			[]string{"global_ids.node: missing: topology.keyspaces[0].generators[0] (b) is a snowflake generator"}},
		{"node range", func(c *Config) { c.GlobalIDs.Node = node(1024) }, []string{"global_ids.node: want 0-1023, got 1024"}},
		{"generator problems", func(c *Config) {
			gens(c, shardmap.GeneratorSpec{Name: "a", Kind: shardmap.Sequence, Block: -1},
				shardmap.GeneratorSpec{Name: "a", Kind: shardmap.Sequence},
				shardmap.GeneratorSpec{Name: "c"},
				shardmap.GeneratorSpec{Name: "d", Kind: shardmap.Snowflake, Block: 10})
			c.GlobalIDs.Node = node(1)
		}, []string{
			"topology.keyspaces[0].generators[0].block: want 1-1000000, got -1",
			`topology.keyspaces[0].generators[1].name: generator "a" is defined twice`,
			"topology.keyspaces[0].generators[2].kind: missing (sequence or snowflake)",
			"topology.keyspaces[0].generators[3].block: only a sequence generator takes blocks",
		}},
		{"unknown generator", func(c *Config) {
			gens(c, shardmap.GeneratorSpec{Name: "a", Kind: shardmap.Sequence})
			c.Topology.Keyspaces[0].Tables[0].Generated = &shardmap.GeneratedSpec{Column: "id", Generator: "x"}
		}, []string{`topology.keyspaces[0].tables[0].generated.generator: no generator "x" in the keyspace's generators (a)`}},
		{"generated needs column", func(c *Config) {
			gens(c, shardmap.GeneratorSpec{Name: "a", Kind: shardmap.Sequence})
			c.Topology.Keyspaces[0].Tables[0].Generated = &shardmap.GeneratedSpec{Generator: "a"}
		}, []string{"topology.keyspaces[0].tables[0].generated.column: missing"}},
		{"generated key must be an integer", func(c *Config) {
			gens(c, shardmap.GeneratorSpec{Name: "a", Kind: shardmap.Sequence})
			c.Topology.Keyspaces[0].Tables[0] = shardmap.TableSpec{Name: "users", Column: "id", Type: "text",
				Generated: &shardmap.GeneratedSpec{Column: "id", Generator: "a"}}
		}, []string{"topology.keyspaces[0].tables[0].generated.column: the sharding column id is text"}},
		{"snowflake key must be bigint", func(c *Config) {
			gens(c, shardmap.GeneratorSpec{Name: "a", Kind: shardmap.Snowflake})
			c.GlobalIDs.Node = node(3)
			c.Topology.Keyspaces[0].Tables[0] = shardmap.TableSpec{Name: "users", Column: "id", Type: "int",
				Generated: &shardmap.GeneratedSpec{Column: "id", Generator: "a"}}
		}, []string{"bigint for snowflake"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(c)
			err := c.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantProblems(t, err, tc.want...)
		})
	}
}

// A generator kind that is not one is a decode problem with its key path.
func TestGeneratorKindDecode(t *testing.T) {
	_, err := Parse([]byte(`
listeners: {postgres: {address: "127.0.0.1:0"}}
users: [{name: app, scram_sha_256: "` + rfcSCRAM + `"}]
backends: {postgres: {user: app}}
topology:
  keyspaces:
    - name: app
      engine: postgres
      generators: [{name: g, kind: uuid}]
      tables: [{name: users, column: id, type: bigint, generated: {column: id, generator: g}, extra: 1}]
      shards: [{key_range: "-", primary: {name: a, host: h, port: 1}}]
`))
	got := Problems(err)
	if len(got) < 2 {
		t.Fatalf("got %v", err)
	}
	for _, w := range []string{"topology.keyspaces[0].generators[0].kind", "topology.keyspaces[0].tables[0].extra"} {
		found := false
		for _, p := range got {
			if len(p.Path) >= len(w) && p.Path[:len(w)] == w {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem at %s in %v", w, err)
		}
	}
}
