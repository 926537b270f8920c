package shardmap

import (
	"errors"
	"strings"
	"testing"
)

func node(name string, port int) NodeSpec { return NodeSpec{Name: name, Host: "127.0.0.1", Port: port} }

func demoSpec() MapSpec {
	return MapSpec{Keyspaces: []KeyspaceSpec{{
		Name: "app", Engine: Postgres,
		Tables: []TableSpec{
			{Name: "users", Column: "id", Type: "bigint"},
			{Name: "orders", Column: "user_id", Type: "bigint"},
			{Name: "sessions", Column: "token", Type: "uuid"},
		},
		ReferenceTables: []string{"products"},
		Shards: []ShardSpec{
			{KeyRange: "-80", Primary: node("pg0", 5501), Replicas: []NodeSpec{node("pg0r", 5502)}},
			{KeyRange: "80-", Primary: node("pg1", 5503), Replicas: []NodeSpec{node("pg1r", 5504)}},
		},
	}}}
}

func TestCompileAndLookup(t *testing.T) {
	s, err := Compile(7, demoSpec())
	if err != nil {
		t.Fatal(err)
	}
	if s.Version() != 7 {
		t.Fatal("version")
	}
	ks, ok := s.Keyspace(Postgres, "app")
	if !ok || len(ks.Shards()) != 2 || ks.Database() != "app" {
		t.Fatal("keyspace")
	}
	if _, ok := s.Keyspace(MySQL, "app"); ok {
		t.Fatal("keyspaces are per engine")
	}
	// users.id and orders.user_id hash alike: a user's orders live with it.
	for _, id := range []int64{0, 1, 42, -7, 1 << 40} {
		a, err := s.Lookup(Postgres, "app", "users", Int(id))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := s.Lookup(Postgres, "app", "orders", Text(formatInt(id)))
		if a != b {
			t.Errorf("users %d on %s, orders on %s", id, a.Name, b.Name)
		}
		kid, _ := ks.tables["users"].KeyspaceID(Int(id), Compare)
		if !a.Range.Contains(kid) {
			t.Errorf("shard %s does not contain %x", a.Name, kid)
		}
	}
	// 42 hashes to 77acc…, below 0x80: the first shard.
	sh, _ := s.Lookup(Postgres, "app", "users", Int(42))
	if sh.Name != "-80" || sh.Primary.Addr != "127.0.0.1:5501" || len(sh.Replicas) != 1 {
		t.Errorf("42 → %+v", sh)
	}
	if !ks.IsReference("products") || ks.IsReference("users") {
		t.Error("reference tables")
	}
	if _, err := s.Lookup(Postgres, "app", "products", Int(1)); err == nil {
		t.Error("lookup in a reference table must fail")
	}
	if _, err := s.Lookup(Postgres, "nope", "users", Int(1)); err == nil {
		t.Error("unknown keyspace")
	}
	if _, err := s.Lookup(Postgres, "app", "users", Text("x")); err == nil {
		t.Error("bad value")
	}
	if _, err := s.Lookup(Postgres, "app", "users", Null()); !errors.Is(err, ErrNeverMatches) {
		t.Errorf("NULL: %v", err)
	}
}

func TestSnapshotIsImmutable(t *testing.T) {
	spec := demoSpec()
	s, err := Compile(1, spec)
	if err != nil {
		t.Fatal(err)
	}
	spec.Keyspaces[0].Shards[0].Primary.Port = 1
	spec.Keyspaces[0].Tables[0].Column = "changed"
	got := s.Spec()
	if got.Keyspaces[0].Shards[0].Primary.Port != 5501 || got.Keyspaces[0].Tables[0].Column != "id" {
		t.Fatal("snapshot shares memory with the spec it was compiled from")
	}
	got.Keyspaces[0].Name = "other"
	if s.Spec().Keyspaces[0].Name != "app" {
		t.Fatal("Spec() must return a copy")
	}
}

func TestRangeKeyspaceWithValueBounds(t *testing.T) {
	p := func(v int64) *int64 { return &v }
	spec := MapSpec{Keyspaces: []KeyspaceSpec{{
		Name: "events", Engine: MySQL, Vindex: "range",
		Tables: []TableSpec{{Name: "events", Column: "id", Type: "bigint"}},
		Shards: []ShardSpec{
			{Name: "low", Values: &ValueRange{To: p(0)}, Primary: node("a", 1)},
			{Name: "mid", Values: &ValueRange{From: p(0), To: p(1000)}, Primary: node("b", 2)},
			{Name: "high", Values: &ValueRange{From: p(1000)}, Primary: node("c", 3)},
		},
	}}}
	s, err := Compile(1, spec)
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[int64]string{-1 << 62: "low", -1: "low", 0: "mid", 999: "mid", 1000: "high", 1 << 62: "high"} {
		sh, err := s.Lookup(MySQL, "events", "events", Int(v))
		if err != nil || sh.Name != want {
			t.Errorf("%d → %v %v, want %s", v, sh, err, want)
		}
	}
}

// A Postgres node may be named by its Unix socket folder, as in libpq.
func TestPostgresNodeOnAUnixSocket(t *testing.T) {
	m := demoSpec()
	m.Keyspaces[0].Shards[0].Primary.Host = "/var/run/postgresql"
	s, err := Compile(1, m)
	if err != nil {
		t.Fatal(err)
	}
	sh, _ := s.Lookup(Postgres, "app", "users", Int(42))
	if sh.Primary.Host != "/var/run/postgresql" || sh.Primary.Port != 5501 {
		t.Fatalf("primary %+v", sh.Primary)
	}
}

func TestValidateReportsEveryProblemWithItsPath(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(*MapSpec)
		want   []string
	}{
		{"gap", func(m *MapSpec) { m.Keyspaces[0].Shards[1].KeyRange = "c0-" }, []string{"keyspaces[0].shards: ", "gap"}},
		{"overlap", func(m *MapSpec) { m.Keyspaces[0].Shards[1].KeyRange = "40-" }, []string{"keyspaces[0].shards: ", "overlap"}},
		{"bad range", func(m *MapSpec) { m.Keyspaces[0].Shards[0].KeyRange = "-8" }, []string{"keyspaces[0].shards[0].key_range: "}},
		{"unknown vindex", func(m *MapSpec) { m.Keyspaces[0].Tables[1].Vindex = "lookup_unique" }, []string{"keyspaces[0].tables[1].vindex: ", "unknown vindex"}},
		{"unknown type", func(m *MapSpec) { m.Keyspaces[0].Tables[0].Type = "float" }, []string{"keyspaces[0].tables[0].type: "}},
		{"no type", func(m *MapSpec) { m.Keyspaces[0].Tables[0].Type = "" }, []string{"keyspaces[0].tables[0].type: missing"}},
		{"no column", func(m *MapSpec) { m.Keyspaces[0].Tables[2].Column = "" }, []string{"keyspaces[0].tables[2].column: missing"}},
		{"range on uuid", func(m *MapSpec) { m.Keyspaces[0].Tables[2].Vindex = "range" }, []string{"keyspaces[0].tables[2].vindex: ", "cannot map a uuid"}},
		{"dup table", func(m *MapSpec) { m.Keyspaces[0].Tables[1].Name = "users" }, []string{"keyspaces[0].tables[1].name: "}},
		{"ref and sharded", func(m *MapSpec) { m.Keyspaces[0].ReferenceTables = []string{"users"} }, []string{"keyspaces[0].reference_tables[0]: "}},
		{"dup node", func(m *MapSpec) { m.Keyspaces[0].Shards[1].Primary.Name = "pg0" }, []string{"keyspaces[0].shards[1].primary.name: ", "already defined at keyspaces[0].shards[0].primary"}},
		{"bad port", func(m *MapSpec) { m.Keyspaces[0].Shards[0].Replicas[0].Port = 0 }, []string{"keyspaces[0].shards[0].replicas[0].port: "}},
		{"host with a slash", func(m *MapSpec) { m.Keyspaces[0].Shards[0].Primary.Host = "db/1" }, []string{"keyspaces[0].shards[0].primary.host: ", "Unix socket folder"}},
		{"unclean socket folder", func(m *MapSpec) { m.Keyspaces[0].Shards[0].Primary.Host = "/run/pg/../x/" }, []string{"keyspaces[0].shards[0].primary.host: ", "\"/run/x\" would be"}},
		{"socket folder on mysql", func(m *MapSpec) {
			m.Keyspaces[0].Engine = MySQL
			m.Keyspaces[0].Shards[1].Primary.Host = "/run/mysqld"
		}, []string{"keyspaces[0].shards[1].primary.host: ", "Postgres only"}},
		{"no engine", func(m *MapSpec) { m.Keyspaces[0].Engine = EngineUnknown }, []string{"keyspaces[0].engine: missing"}},
		{"no shards", func(m *MapSpec) { m.Keyspaces[0].Shards = nil }, []string{"keyspaces[0].shards: at least one"}},
		{"values on hash", func(m *MapSpec) {
			z := int64(0)
			m.Keyspaces[0].Shards[0].Values = &ValueRange{To: &z}
			m.Keyspaces[0].Shards[0].KeyRange = ""
		}, []string{"keyspaces[0].shards[0].values: "}},
		{"dup keyspace", func(m *MapSpec) {
			m.Keyspaces = append(m.Keyspaces, demoSpec().Keyspaces[0])
			m.Keyspaces[1].Shards[0].Primary.Name = "x"
			m.Keyspaces[1].Shards[0].Replicas = nil
			m.Keyspaces[1].Shards[1].Primary.Name = "y"
			m.Keyspaces[1].Shards[1].Replicas = nil
		}, []string{"keyspaces[1].name: ", "defined twice"}},
		{"empty", func(m *MapSpec) { m.Keyspaces = nil }, []string{"keyspaces: at least one"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := demoSpec()
			c.break_(&m)
			err := m.Validate()
			if err == nil {
				t.Fatal("validated")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	// Several problems are all reported.
	m := demoSpec()
	m.Keyspaces[0].Tables[0].Type = "float"
	m.Keyspaces[0].Shards[0].Primary.Port = -1
	err := m.Validate()
	if err == nil || !strings.Contains(err.Error(), "tables[0].type") || !strings.Contains(err.Error(), "shards[0].primary.port") {
		t.Fatalf("want both problems, got %v", err)
	}
}

func BenchmarkSnapshotLookup(b *testing.B) {
	s, err := Compile(1, demoSpec())
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		table string
		v     Value
	}{
		{"bigint/int", "users", Int(123456789)},
		{"bigint/text", "users", Text("123456789")},
		{"bigint/binary", "users", Binary(BinaryInt8, be(8, 123456789))},
		{"uuid/text", "sessions", Text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Lookup(Postgres, "app", bc.table, bc.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestLookupAllocatesNothing(t *testing.T) {
	s, _ := Compile(1, demoSpec())
	v := Text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := s.Lookup(Postgres, "app", "users", Int(42)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Lookup(Postgres, "app", "sessions", v); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Lookup allocates %.1f times per call", allocs)
	}
}
