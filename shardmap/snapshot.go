package shardmap

import (
	"fmt"
	"sort"
)

// Snapshot is one version of the topology, compiled for lookups. It is
// immutable: nothing reachable from it changes after Compile returns, so any
// number of goroutines read it without locks. A new topology is a new
// Snapshot.
type Snapshot struct {
	version   uint64
	spec      MapSpec
	keyspaces []*Keyspace
	byName    map[keyspaceName]*Keyspace
}

type keyspaceName struct {
	engine Engine
	name   string
}

// Keyspace is a compiled keyspace. Read-only.
type Keyspace struct {
	name      string
	engine    Engine
	database  string
	tables    map[string]*Table
	reference map[string]struct{}
	shards    []*Shard // sorted by key range
	// generators in map order (generator.go)
	generators []*Generator
}

// Table is a compiled sharded table. Read-only.
type Table struct {
	name     string
	column   string
	typ      ColumnType
	vindex   Vindex
	keyspace *Keyspace
	// generated is the column a generator fills, or nil.
	generated *Generated
}

// Shard is one shard of a keyspace. Read-only: never modify its fields.
type Shard struct {
	Name     string
	Range    KeyRange
	Primary  Node
	Replicas []Node
	// Index is the shard's position in its keyspace, in key-range order.
	Index int
	// Database is the keyspace's database on the shard's nodes.
	Database string
}

// Node is one database server of a shard. Read-only.
type Node struct {
	Name   string
	Host   string
	Port   int
	Addr   string // host:port
	Weight int
}

// Compile validates spec and builds the Snapshot with the given version.
func Compile(version uint64, spec MapSpec) (*Snapshot, error) {
	return compile(version, spec)
}

func compile(version uint64, in MapSpec) (*Snapshot, error) {
	spec := in.Clone()
	p := &problems{}
	s := &Snapshot{version: version, spec: spec, byName: make(map[keyspaceName]*Keyspace)}
	if len(spec.Keyspaces) == 0 {
		p.add("keyspaces", "at least one keyspace is needed")
	}
	nodeNames := map[string]string{}
	for i, kss := range spec.Keyspaces {
		ks := compileKeyspace(p, fmt.Sprintf("keyspaces[%d]", i), kss, nodeNames)
		if ks == nil {
			continue
		}
		key := keyspaceName{ks.engine, ks.name}
		if _, dup := s.byName[key]; dup {
			p.add(fmt.Sprintf("keyspaces[%d].name", i), "keyspace %q is defined twice for engine %s", ks.name, ks.engine)
			continue
		}
		s.byName[key] = ks
		s.keyspaces = append(s.keyspaces, ks)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return s, nil
}

func compileKeyspace(p *problems, path string, spec KeyspaceSpec, nodeNames map[string]string) *Keyspace {
	before := len(p.errs)
	if !validName(spec.Name) {
		p.add(path+".name", "want a name of letters, digits, '_', '-' or '.', got %q", spec.Name)
	}
	if spec.Engine == EngineUnknown {
		p.add(path+".engine", "missing (postgres or mysql)")
	}
	ks := &Keyspace{
		name:      spec.Name,
		engine:    spec.Engine,
		database:  spec.Database,
		tables:    make(map[string]*Table, len(spec.Tables)),
		reference: make(map[string]struct{}, len(spec.ReferenceTables)),
	}
	if ks.database == "" {
		ks.database = spec.Name
	}
	defaultVindex := spec.Vindex
	if defaultVindex == "" {
		defaultVindex = "hash"
	}
	if _, ok := LookupVindex(defaultVindex); !ok {
		p.add(path+".vindex", "%v", unknownVindex(defaultVindex))
	}
	gens := compileGenerators(p, path, spec)
	for _, g := range spec.Generators {
		ks.generators = append(ks.generators, gens[g.Name])
	}
	allRange := true
	for j, ts := range spec.Tables {
		tp := fmt.Sprintf("%s.tables[%d]", path, j)
		t := &Table{name: ts.Name, column: ts.Column, keyspace: ks}
		if ts.Name == "" {
			p.add(tp+".name", "missing")
		} else if _, dup := ks.tables[ts.Name]; dup {
			p.add(tp+".name", "table %q is listed twice", ts.Name)
		}
		if ts.Column == "" {
			p.add(tp+".column", "missing: a sharded table needs its sharding column")
		}
		typ, err := ParseColumnType(ts.Type)
		if ts.Type == "" {
			p.add(tp+".type", "missing: the sharding column's SQL type (bigint, int, text, uuid, …)")
		} else if err != nil {
			p.add(tp+".type", "%v", err)
		}
		t.typ = typ
		vname := ts.Vindex
		if vname == "" {
			vname = defaultVindex
		}
		if v, ok := LookupVindex(vname); !ok {
			p.add(tp+".vindex", "%v", unknownVindex(vname))
		} else {
			t.vindex = v
			if !v.OrderPreserving() {
				allRange = false
			}
			if typ != TypeUnknown && !v.Supports(typ) {
				p.add(tp+".vindex", "vindex %q cannot map a %s column", vname, typ)
			}
		}
		t.generated = compileGenerated(p, tp, ts, typ, gens)
		ks.tables[ts.Name] = t
	}
	for j, name := range spec.ReferenceTables {
		rp := fmt.Sprintf("%s.reference_tables[%d]", path, j)
		if name == "" {
			p.add(rp, "empty table name")
		} else if _, dup := ks.tables[name]; dup {
			p.add(rp, "table %q is also a sharded table", name)
		} else if _, dup := ks.reference[name]; dup {
			p.add(rp, "table %q is listed twice", name)
		}
		ks.reference[name] = struct{}{}
	}
	if len(spec.Shards) == 0 {
		p.add(path+".shards", "at least one shard is needed")
	}
	var ranges []KeyRange
	shardNames := map[string]bool{}
	for j, ss := range spec.Shards {
		sp := fmt.Sprintf("%s.shards[%d]", path, j)
		kr, ok := shardRange(p, sp, ss, allRange && len(spec.Tables) > 0)
		if ok {
			ranges = append(ranges, kr)
		}
		name := ss.Name
		if name == "" {
			name = kr.String()
		}
		if shardNames[name] {
			p.add(sp+".name", "shard %q is defined twice", name)
		}
		shardNames[name] = true
		checkNode(p, sp+".primary", ss.Primary, spec.Engine, nodeNames)
		for k, r := range ss.Replicas {
			checkNode(p, fmt.Sprintf("%s.replicas[%d]", sp, k), r, spec.Engine, nodeNames)
		}
		sh := &Shard{Name: name, Range: kr, Primary: compileNode(ss.Primary), Database: ks.database}
		for _, r := range ss.Replicas {
			sh.Replicas = append(sh.Replicas, compileNode(r))
		}
		ks.shards = append(ks.shards, sh)
	}
	if len(ranges) == len(spec.Shards) && len(ranges) > 0 {
		if err := CheckTiling(ranges); err != nil {
			p.add(path+".shards", "key ranges must cover the keyspace with no gap and no overlap: %v", err)
		}
	}
	if len(p.errs) > before {
		return nil
	}
	sort.Slice(ks.shards, func(a, b int) bool { return ks.shards[a].Range.Start < ks.shards[b].Range.Start })
	for i, sh := range ks.shards {
		sh.Index = i
	}
	return ks
}

func shardRange(p *problems, path string, ss ShardSpec, rangeKeyspace bool) (KeyRange, bool) {
	switch {
	case ss.KeyRange != "" && ss.Values != nil:
		p.add(path, "give key_range or values, not both")
	case ss.Values != nil:
		if !rangeKeyspace {
			p.add(path+".values", "value bounds need a keyspace whose tables all use the range vindex")
			return KeyRange{}, false
		}
		kr := KeyRange{}
		if ss.Values.From != nil {
			kr.Start = RangeID(*ss.Values.From)
		}
		if ss.Values.To != nil {
			kr.End = RangeID(*ss.Values.To)
			if kr.End == 0 {
				p.add(path+".values.to", "the lowest int64 as upper bound leaves the shard empty")
				return KeyRange{}, false
			}
		}
		if kr.End != 0 && kr.End <= kr.Start {
			p.add(path+".values", "from must be below to")
			return KeyRange{}, false
		}
		return kr, true
	case ss.KeyRange == "":
		p.add(path+".key_range", "missing")
	default:
		kr, err := ParseKeyRange(ss.KeyRange)
		if err != nil {
			p.add(path+".key_range", "%v", err)
			return KeyRange{}, false
		}
		return kr, true
	}
	return KeyRange{}, false
}

func compileNode(n NodeSpec) Node {
	w := n.Weight
	if w == 0 {
		w = 1
	}
	return Node{Name: n.Name, Host: n.Host, Port: n.Port, Addr: n.Addr(), Weight: w}
}

// Version is the store's version of this topology.
func (s *Snapshot) Version() uint64 { return s.version }

// Spec returns a copy of the map the snapshot was compiled from.
func (s *Snapshot) Spec() MapSpec { return s.spec.Clone() }

// Keyspaces lists the keyspaces in map order.
func (s *Snapshot) Keyspaces() []*Keyspace { return append([]*Keyspace(nil), s.keyspaces...) }

// Keyspace finds a keyspace by engine and name.
func (s *Snapshot) Keyspace(e Engine, name string) (*Keyspace, bool) {
	ks, ok := s.byName[keyspaceName{e, name}]
	return ks, ok
}

// SameShard finds old, a shard of an earlier map version, in s: the
// keyspace's shard of the same name, key range and database, on the same
// primary. A connection held on old is then a connection to it, and a
// session may go on with it under s (shards are compared by pointer, and
// every version has its own). ok is false when the shard moved, changed
// its range or its primary, or left the map.
func (s *Snapshot) SameShard(e Engine, keyspace string, old *Shard) (_ *Shard, ok bool) {
	ks, found := s.byName[keyspaceName{e, keyspace}]
	if !found || old == nil {
		return nil, false
	}
	for _, sh := range ks.shards {
		if sh.Name == old.Name {
			if sh.Range != old.Range || sh.Database != old.Database || sh.Primary.Addr != old.Primary.Addr {
				return nil, false
			}
			return sh, true
		}
	}
	return nil, false
}

// Lookup finds the shard holding the row whose sharding key equals v in a
// sharded table: coercion, vindex and key-range search, allocating nothing.
func (s *Snapshot) Lookup(e Engine, keyspace, table string, v Value) (*Shard, error) {
	ks, ok := s.byName[keyspaceName{e, keyspace}]
	if !ok {
		return nil, errUnknownKeyspace(e, keyspace)
	}
	t, ok := ks.tables[table]
	if !ok {
		return nil, errNotSharded(keyspace, table)
	}
	return t.Lookup(v, Compare)
}

func (ks *Keyspace) Name() string     { return ks.name }
func (ks *Keyspace) Engine() Engine   { return ks.engine }
func (ks *Keyspace) Database() string { return ks.database }

// Shards lists the shards in key-range order. The slice is shared: read it,
// never modify it.
func (ks *Keyspace) Shards() []*Shard { return ks.shards }

// Table finds a sharded table.
func (ks *Keyspace) Table(name string) (*Table, bool) {
	t, ok := ks.tables[name]
	return t, ok
}

// Tables lists the keyspace's sharded tables by name.
func (ks *Keyspace) Tables() []*Table {
	out := make([]*Table, 0, len(ks.tables))
	for _, t := range ks.tables {
		out = append(out, t)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].name < out[b].name })
	return out
}

// TableKey is Table with the name as bytes (a key built in a caller's
// buffer: the lookup does not allocate).
func (ks *Keyspace) TableKey(name []byte) (*Table, bool) {
	t, ok := ks.tables[string(name)]
	return t, ok
}

// IsReferenceKey is IsReference with the name as bytes.
func (ks *Keyspace) IsReferenceKey(name []byte) bool {
	_, ok := ks.reference[string(name)]
	return ok
}

// IsReference reports whether name is a reference table (a copy on every
// shard).
func (ks *Keyspace) IsReference(name string) bool {
	_, ok := ks.reference[name]
	return ok
}

// ShardFor returns the shard whose key range holds id. The ranges tile the
// space, so there always is one.
func (ks *Keyspace) ShardFor(id KeyspaceID) *Shard {
	// The last shard whose start is <= id.
	i := sort.Search(len(ks.shards), func(i int) bool { return ks.shards[i].Range.Start > id })
	return ks.shards[i-1]
}

// ShardsIn returns the shards whose key ranges overlap r, in order.
func (ks *Keyspace) ShardsIn(r KeyRange) []*Shard {
	var out []*Shard
	for _, sh := range ks.shards {
		if sh.Range.Overlaps(r) {
			out = append(out, sh)
		}
	}
	return out
}

func (t *Table) Name() string        { return t.name }
func (t *Table) Column() string      { return t.column }
func (t *Table) Type() ColumnType    { return t.typ }
func (t *Table) Vindex() Vindex      { return t.vindex }
func (t *Table) Keyspace() *Keyspace { return t.keyspace }

// KeyspaceID coerces v to the table's sharding column and maps it.
func (t *Table) KeyspaceID(v Value, u Use) (KeyspaceID, error) {
	k, err := Coerce(t.keyspace.engine, t.typ, v, u)
	if err != nil {
		return 0, err
	}
	return t.vindex.KeyspaceID(k), nil
}

// Lookup returns the shard of the row whose sharding key is v.
func (t *Table) Lookup(v Value, u Use) (*Shard, error) {
	id, err := t.KeyspaceID(v, u)
	if err != nil {
		return nil, err
	}
	return t.keyspace.ShardFor(id), nil
}
