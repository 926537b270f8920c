package router

import (
	"testing"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

func mysqlSnapshot(t *testing.T) *shardmap.Snapshot {
	t.Helper()
	node := func(n string, p int) shardmap.NodeSpec { return shardmap.NodeSpec{Name: n, Host: "127.0.0.1", Port: p} }
	snap, err := shardmap.Compile(1, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{{
		Name: "app", Engine: shardmap.MySQL,
		Tables: []shardmap.TableSpec{{Name: "users", Column: "id", Type: "bigint"}},
		Shards: []shardmap.ShardSpec{{KeyRange: "-80", Primary: node("a", 1)}, {KeyRange: "80-", Primary: node("b", 2)}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// MySQL qualifies tables by database: the session's own, or a system one.
func TestMySQLTableNames(t *testing.T) {
	snap := mysqlSnapshot(t)
	sess := func() *Session {
		return &Session{Engine: shardmap.MySQL, Keyspace: "app", User: "app", FanOutWrites: true, ScatterWrites: true}
	}
	point := func(schema string) *parser.Statement {
		return &parser.Statement{Kind: parser.KindSelect, Tables: []parser.TableRef{{Schema: schema, Name: "users"}},
			Keys: []parser.KeyCandidate{{Table: 0, Column: "id", Values: []parser.ValueRef{lit(0)}}}}
	}
	for _, schema := range []string{"", "app"} {
		p, err := Route(point(schema), &Values{Literals: ints("42")}, sess(), snap)
		if _, ok := p.(Single); !ok || err != nil {
			t.Errorf("%q.users = 42: %v %v, want one shard", schema, p, err)
		}
	}
	if _, err := Route(point("other"), &Values{Literals: ints("42")}, sess(), snap); err == nil {
		t.Error("other.users: routed, want an unknown table")
	}
	for _, schema := range []string{"information_schema", "mysql", "performance_schema", "sys"} {
		st := &parser.Statement{Kind: parser.KindSelect, Tables: []parser.TableRef{{Schema: schema, Name: "tables"}}}
		if p, err := Route(st, &Values{}, sess(), snap); err != nil {
			t.Errorf("%s.tables: %v", schema, err)
		} else if _, ok := p.(AnyShard); !ok {
			t.Errorf("%s.tables: %s, want any shard", schema, p)
		}
	}
	// A keyless DELETE … LIMIT would delete up to LIMIT rows per shard.
	del := &parser.Statement{Kind: parser.KindDelete, Tables: []parser.TableRef{{Name: "users"}}, Limit: true}
	if _, err := Route(del, &Values{}, sess(), snap); err == nil {
		t.Error("DELETE … LIMIT without a key: routed to every shard")
	} else if e, ok := sqlerr.As(err); !ok || e.Code != sqlerr.FeatureNotSupported {
		t.Errorf("DELETE … LIMIT without a key: %v, want 0A000", err)
	}
}

// One MySQL session's memo of table resolutions gives what resolving
// afresh gives, again and again, and follows the session's database: a
// qualifier naming it is the session's own.
func TestMySQLResolveMemo(t *testing.T) {
	snap := mysqlSnapshot(t)
	ks, ok := snap.Keyspace(shardmap.MySQL, "app")
	if !ok {
		t.Fatal("no keyspace app")
	}
	s := &Session{Engine: shardmap.MySQL, Keyspace: "app", User: "app"}
	refs := []parser.TableRef{{Name: "users"}, {Schema: "app", Name: "users"}, {Schema: "other", Name: "users"},
		{Schema: "mysql", Name: "user"}, {Name: "nope"}, {Schema: "app", Name: "nope"}}
	for round := range 3 {
		for _, ref := range refs {
			got, want := resolve(ks, ref, s), resolveMySQL(ks, ref, &Session{Engine: shardmap.MySQL, Keyspace: "app"}, written(ref))
			if got != want {
				t.Errorf("round %d, %s: %+v, want %+v", round, written(ref), got, want)
			}
		}
	}
	other := parser.TableRef{Schema: "other", Name: "users"}
	if r := resolve(ks, other, s); r.class != tableUnknown {
		t.Fatalf("other.users from database app: %v, want unknown", r.class)
	}
	s.Keyspace = "other" // USE other, served by the same keyspace
	if r := resolve(ks, other, s); r.class != tableSharded {
		t.Errorf("other.users from database other: %v, want sharded (a stale memo)", r.class)
	}
	s.Temp = map[string]*shardmap.Shard{"users": ks.Shards()[0]}
	if r := resolve(ks, parser.TableRef{Name: "users"}, s); r.class != tableTemp {
		t.Errorf("users with a temporary table users: %v, want the temporary one", r.class)
	}
}

// A MySQL session's USE names another keyspace within the same snapshot:
// the session's memo of its keyspace must not outlive the name.
func TestMySQLUseSwitchesKeyspace(t *testing.T) {
	node := func(n string, p int) shardmap.NodeSpec { return shardmap.NodeSpec{Name: n, Host: "127.0.0.1", Port: p} }
	users := []shardmap.TableSpec{{Name: "users", Column: "id", Type: "bigint"}}
	snap, err := shardmap.Compile(1, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{
		{Name: "a", Engine: shardmap.MySQL, Tables: users,
			Shards: []shardmap.ShardSpec{{KeyRange: "-80", Primary: node("a1", 1)}, {KeyRange: "80-", Primary: node("a2", 2)}}},
		{Name: "b", Engine: shardmap.MySQL, Tables: users,
			Shards: []shardmap.ShardSpec{{KeyRange: "-", Primary: node("b1", 3)}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := snap.Keyspace(shardmap.MySQL, "b")
	point := &parser.Statement{Kind: parser.KindSelect, Tables: []parser.TableRef{{Name: "users"}},
		Keys: []parser.KeyCandidate{{Table: 0, Column: "id", Values: []parser.ValueRef{lit(0)}}}}
	vals := &Values{Literals: ints("42"), Bound: true}
	// Each way a session routes, with what it keeps across statements.
	ways := map[string]func() func(s *Session) (*shardmap.Shard, error){
		"Route": func() func(s *Session) (*shardmap.Shard, error) {
			return func(s *Session) (*shardmap.Shard, error) {
				p, err := Route(point, vals, s, snap)
				if err != nil {
					return nil, err
				}
				return p.(Single).Shard, nil
			}
		},
		"KeyRoutes.RouteOne": func() func(s *Session) (*shardmap.Shard, error) {
			krs := new(KeyRoutes) // kept across the USE, as a session keeps it
			return func(s *Session) (*shardmap.Shard, error) {
				var one Single
				for range 2 { // a full route, then a key route
					if _, err := krs.RouteOne(point, vals, s, snap, &one); err != nil {
						return nil, err
					}
				}
				return one.Shard, nil
			}
		},
	}
	for name, way := range ways {
		route := way()
		s := &Session{Engine: shardmap.MySQL, Keyspace: "a", User: "app"}
		inA, err := route(s)
		if err != nil {
			t.Fatal(err)
		}
		if inA.Primary.Name != "a1" && inA.Primary.Name != "a2" {
			t.Fatalf("%s in a: shard on %s, want one of a's", name, inA.Primary.Name)
		}
		s.Keyspace = "b" // USE b
		inB, err := route(s)
		if err != nil {
			t.Fatal(err)
		}
		if inB != b.Shards()[0] {
			t.Errorf("%s after USE b: shard %s on %s, want b's only shard (on b1)", name, inB.Name, inB.Primary.Name)
		}
	}
}
