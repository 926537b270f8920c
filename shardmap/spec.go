package shardmap

// MapSpec is the topology in its plain, serialisable form: what the store
// persists and what the config seeds. Field names are the YAML keys.
// Validate it with Validate; turn it into a Snapshot with Compile.
type MapSpec struct {
	Keyspaces []KeyspaceSpec `yaml:"keyspaces"`
}

// KeyspaceSpec is one logical database: a client's database name on one
// engine. Every shard of a keyspace holds the same schema.
type KeyspaceSpec struct {
	Name string `yaml:"name"`
	// Engine is "postgres" or "mysql"; a Postgres and a MySQL keyspace may
	// share a name.
	Engine Engine `yaml:"engine"`
	// Database is the database name on the backend nodes (default: Name).
	Database string `yaml:"database,omitempty"`
	// Vindex is the default vindex of the keyspace's tables (default "hash").
	Vindex string `yaml:"vindex,omitempty"`
	// Tables are the sharded tables.
	Tables []TableSpec `yaml:"tables,omitempty"`
	// ReferenceTables have a full copy on every shard.
	ReferenceTables []string `yaml:"reference_tables,omitempty"`
	// Generators make global IDs for tables' generated columns
	// (generator.go).
	Generators []GeneratorSpec `yaml:"generators,omitempty"`
	Shards     []ShardSpec     `yaml:"shards"`
}

// TableSpec declares a sharded table: its sharding column, the column's SQL
// type (values are coerced to it exactly as the server would before they are
// hashed), and its vindex (default: the keyspace's).
type TableSpec struct {
	Name   string `yaml:"name"`
	Column string `yaml:"column"`
	Type   string `yaml:"type"`
	Vindex string `yaml:"vindex,omitempty"`
	// Generated, if set, is a column the proxy fills from one of the
	// keyspace's generators when an INSERT omits it or writes DEFAULT.
	Generated *GeneratedSpec `yaml:"generated,omitempty"`
}

// ShardSpec is one shard: a key range and the nodes that hold it.
type ShardSpec struct {
	// Name defaults to the key range's text ("-80").
	Name string `yaml:"name,omitempty"`
	// KeyRange in Vitess hex notation: "-80", "40-80", "c0-", "-" (all).
	KeyRange string `yaml:"key_range,omitempty"`
	// Values, instead of KeyRange, bounds a range-vindex keyspace's shard by
	// sharding-key values: [from, to), a missing side is unbounded.
	Values   *ValueRange `yaml:"values,omitempty"`
	Primary  NodeSpec    `yaml:"primary"`
	Replicas []NodeSpec  `yaml:"replicas,omitempty"`
}

// ValueRange is a half-open range of integer key values [From, To); nil
// means unbounded on that side.
type ValueRange struct {
	From *int64 `yaml:"from,omitempty"`
	To   *int64 `yaml:"to,omitempty"`
}

// NodeSpec is one database server.
type NodeSpec struct {
	Name string `yaml:"name"`
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// Weight is the replica's share of reads (default 1).
	Weight int `yaml:"weight,omitempty"`
}

// Clone returns a deep copy, so a snapshot never shares slices with a spec
// its caller may still change.
func (m MapSpec) Clone() MapSpec {
	out := MapSpec{Keyspaces: make([]KeyspaceSpec, len(m.Keyspaces))}
	for i, ks := range m.Keyspaces {
		c := ks
		c.Tables = append([]TableSpec(nil), ks.Tables...)
		for j, ts := range c.Tables {
			if ts.Generated != nil {
				g := *ts.Generated
				c.Tables[j].Generated = &g
			}
		}
		c.Generators = append([]GeneratorSpec(nil), ks.Generators...)
		c.ReferenceTables = append([]string(nil), ks.ReferenceTables...)
		c.Shards = make([]ShardSpec, len(ks.Shards))
		for j, sh := range ks.Shards {
			s := sh
			s.Replicas = append([]NodeSpec(nil), sh.Replicas...)
			if sh.Values != nil {
				v := *sh.Values
				s.Values = &v
			}
			c.Shards[j] = s
		}
		out.Keyspaces[i] = c
	}
	return out
}
