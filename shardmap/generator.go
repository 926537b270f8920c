package shardmap

import (
	"fmt"
	"slices"
	"strings"
)

// Global IDs. A keyspace declares named generators; a sharded table may
// name one column (its sharding column or another, e.g. orders.id) that the
// proxy fills from a generator when an INSERT omits it or writes DEFAULT.
// What a generator does at run time is package globalid's; here is only
// what the map says, checked.
//
//	keyspaces:
//	  - name: app
//	    generators:
//	      - {name: orders_id, kind: sequence, block: 1000}
//	      - {name: event_id, kind: snowflake}
//	    tables:
//	      - {name: orders, column: user_id, type: bigint,
//	         generated: {column: id, generator: orders_id}}

// GeneratorKind is how a generator makes IDs.
type GeneratorKind uint8

const (
	GeneratorUnknown GeneratorKind = iota
	// Sequence: blocks of consecutive values taken from a counter row on
	// the keyspace's first shard (public.shardgate_sequences); unique
	// across proxies, roughly increasing (each proxy uses its own block).
	Sequence
	// Snowflake: 41 bits of milliseconds, 10 bits of the proxy's node id,
	// 12 bits of sequence; no round trip, unique while node ids are.
	Snowflake
)

func (k GeneratorKind) String() string {
	switch k {
	case Sequence:
		return "sequence"
	case Snowflake:
		return "snowflake"
	}
	return "unknown"
}

// ParseGeneratorKind accepts "sequence" and "snowflake".
func ParseGeneratorKind(s string) (GeneratorKind, error) {
	switch s {
	case "sequence":
		return Sequence, nil
	case "snowflake":
		return Snowflake, nil
	}
	return GeneratorUnknown, fmt.Errorf("unknown generator kind %q (want sequence or snowflake)", s)
}

// MarshalText implements encoding.TextMarshaler (YAML uses it).
func (k GeneratorKind) MarshalText() ([]byte, error) {
	if k == GeneratorUnknown {
		return nil, fmt.Errorf("generator kind not set")
	}
	return []byte(k.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *GeneratorKind) UnmarshalText(b []byte) error {
	v, err := ParseGeneratorKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// DefaultBlock is a sequence generator's block size when none is given.
const DefaultBlock = 1000

// maxBlock bounds a block: a proxy that stops wastes at most one block.
const maxBlock = 1_000_000

// GeneratorSpec declares a generator of a keyspace.
type GeneratorSpec struct {
	Name string        `yaml:"name"`
	Kind GeneratorKind `yaml:"kind"`
	// Block is how many values a sequence generator takes per round trip
	// (default DefaultBlock); only for kind sequence.
	Block int64 `yaml:"block,omitempty"`
}

// GeneratedSpec names a table's column that a generator fills.
type GeneratedSpec struct {
	Column    string `yaml:"column"`
	Generator string `yaml:"generator"`
}

// Generator is a compiled generator. Read-only.
type Generator struct {
	Name  string
	Kind  GeneratorKind
	Block int64 // values per allocation (sequence); 0 for snowflake
}

// Generated is a table's generated column. Read-only.
type Generated struct {
	Column    string
	Generator *Generator
}

// Generators lists the keyspace's generators in map order. The slice is
// shared: read it, never modify it.
func (ks *Keyspace) Generators() []*Generator { return ks.generators }

// Generated returns the table's generated column, or nil.
func (t *Table) Generated() *Generated { return t.generated }

// compileGenerators checks and compiles a keyspace's generators.
func compileGenerators(p *problems, path string, spec KeyspaceSpec) map[string]*Generator {
	byName := make(map[string]*Generator, len(spec.Generators))
	for i, gs := range spec.Generators {
		gp := fmt.Sprintf("%s.generators[%d]", path, i)
		g := &Generator{Name: gs.Name, Kind: gs.Kind, Block: gs.Block}
		if !validName(gs.Name) {
			p.add(gp+".name", "want a name of letters, digits, '_', '-' or '.', got %q", gs.Name)
		} else if _, dup := byName[gs.Name]; dup {
			p.add(gp+".name", "generator %q is defined twice", gs.Name)
		}
		switch gs.Kind {
		case GeneratorUnknown:
			p.add(gp+".kind", "missing (sequence or snowflake)")
		case Sequence:
			if spec.Engine == MySQL {
				p.add(gp+".kind", "sequence generators need a postgres keyspace (use snowflake)")
			}
			switch {
			case gs.Block == 0:
				g.Block = DefaultBlock
			case gs.Block < 0 || gs.Block > maxBlock:
				p.add(gp+".block", "want 1-%d, got %d", maxBlock, gs.Block)
			}
		case Snowflake:
			if gs.Block != 0 {
				p.add(gp+".block", "only a sequence generator takes blocks")
			}
		}
		byName[gs.Name] = g
	}
	return byName
}

// compileGenerated checks a table's generated column.
func compileGenerated(p *problems, tp string, ts TableSpec, typ ColumnType, gens map[string]*Generator) *Generated {
	gs := ts.Generated
	if gs == nil {
		return nil
	}
	gp := tp + ".generated"
	ok := true
	if gs.Column == "" {
		p.add(gp+".column", "missing: the column the generator fills")
		ok = false
	}
	g, found := gens[gs.Generator]
	switch {
	case gs.Generator == "":
		p.add(gp+".generator", "missing: a generator of the keyspace")
		ok = false
	case !found:
		names := make([]string, 0, len(gens))
		for n := range gens {
			names = append(names, n)
		}
		slices.Sort(names)
		p.add(gp+".generator", "no generator %q in the keyspace's generators (%s)", gs.Generator, strings.Join(names, ", "))
		ok = false
	case gs.Column == ts.Column && typ != TypeUnknown:
		// The generated value is the row's key: it must fit the column.
		if g.Kind == Snowflake && typ != TypeBigint || !typ.IsInteger() {
			p.add(gp+".column", "the sharding column %s is %s; generator %q needs an integer column (bigint for snowflake)", gs.Column, typ, g.Name)
			ok = false
		}
	}
	if !ok {
		return nil
	}
	return &Generated{Column: gs.Column, Generator: g}
}
