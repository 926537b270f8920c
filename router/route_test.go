package router

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

func testSnapshot(t testing.TB) *shardmap.Snapshot {
	t.Helper()
	node := func(n string, p int) shardmap.NodeSpec { return shardmap.NodeSpec{Name: n, Host: "127.0.0.1", Port: p} }
	snap, err := shardmap.Compile(1, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{{
		Name: "app", Engine: shardmap.Postgres,
		Tables: []shardmap.TableSpec{
			{Name: "users", Column: "id", Type: "bigint"},
			{Name: "orders", Column: "user_id", Type: "bigint"},
			{Name: "billing.invoices", Column: "account", Type: "text"},
		},
		ReferenceTables: []string{"products"},
		Shards: []shardmap.ShardSpec{
			{KeyRange: "-80", Primary: node("a", 1)},
			{KeyRange: "80-", Primary: node("b", 2)},
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func lit(i int) parser.ValueRef   { return parser.ValueRef{Source: parser.FromLiteral, Index: i} }
func param(n int) parser.ValueRef { return parser.ValueRef{Source: parser.FromParam, Index: n} }
func ints(vs ...string) []parser.Literal {
	var out []parser.Literal
	for _, v := range vs {
		out = append(out, parser.Literal{Kind: parser.LiteralInteger, Text: v})
	}
	return out
}

func sess() *Session { return &Session{Engine: shardmap.Postgres, Keyspace: "app", User: "app"} }

func shardOf(t *testing.T, snap *shardmap.Snapshot, key int64) string {
	s, err := snap.Lookup(shardmap.Postgres, "app", "users", shardmap.Int(key))
	if err != nil {
		t.Fatal(err)
	}
	return s.Name
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	e, ok := sqlerr.As(err)
	if !ok || e.Code != code {
		t.Fatalf("got %v, want SQLSTATE %s", err, code)
	}
}

func TestPointSelect(t *testing.T) {
	snap := testSnapshot(t)
	stmt := &parser.Statement{Kind: parser.KindSelect, Tables: []parser.TableRef{{Name: "users"}},
		Keys: []parser.KeyCandidate{{Table: 0, Column: "id", Values: []parser.ValueRef{lit(0)}}}}
	for _, key := range []string{"1", "42", "1000", "-7"} {
		p, err := Route(stmt, &Values{Literals: ints(key)}, sess(), snap)
		if err != nil {
			t.Fatal(err)
		}
		s, ok := p.(Single)
		var k int64
		for _, c := range key {
			if c != '-' {
				k = k*10 + int64(c-'0')
			}
		}
		if key[0] == '-' {
			k = -k
		}
		if !ok || s.Shard.Name != shardOf(t, snap, k) {
			t.Errorf("key %s: %v, want shard %s", key, p, shardOf(t, snap, k))
		}
	}
}

func TestSameKeyEveryForm(t *testing.T) {
	snap := testSnapshot(t)
	stmt := &parser.Statement{Kind: parser.KindSelect, Tables: []parser.TableRef{{Name: "users"}},
		Keys: []parser.KeyCandidate{{Table: 0, Column: "id", Values: []parser.ValueRef{param(1)}}}}
	want := shardOf(t, snap, 42)
	for _, v := range []shardmap.Value{shardmap.Int(42), shardmap.Text("42"), shardmap.Binary(shardmap.BinaryInt8, []byte{0, 0, 0, 0, 0, 0, 0, 42}), shardmap.Binary(shardmap.BinaryInt4, []byte{0, 0, 0, 42})} {
		p, err := Route(stmt, &Values{Params: []shardmap.Value{v}, Bound: true}, sess(), snap)
		if err != nil || p.(Single).Shard.Name != want {
			t.Errorf("%s: %v %v", v, p, err)
		}
	}
	strLit := []parser.Literal{{Kind: parser.LiteralString, Text: "42"}}
	stmt.Keys[0].Values[0] = lit(0)
	p, err := Route(stmt, &Values{Literals: strLit}, sess(), snap)
	if err != nil || p.(Single).Shard.Name != want {
		t.Errorf("'42': %v %v", p, err)
	}
	// Before Bind the parameter key is unknown: route again later.
	stmt.Keys[0].Values[0] = param(1)
	if _, err := Route(stmt, &Values{}, sess(), snap); !NeedsBind(err) {
		t.Errorf("unbound: %v", err)
	}
	// A bad value is the server's error.
	stmt.Keys[0].Values[0] = lit(0)
	_, err = Route(stmt, &Values{Literals: []parser.Literal{{Kind: parser.LiteralString, Text: "abc"}}}, sess(), snap)
	wantCode(t, err, sqlerr.InvalidTextRepresentation)
}

func keysOn(t *testing.T, snap *shardmap.Snapshot) (same1, same2, other string) {
	first := shardOf(t, snap, 1)
	for i := int64(2); i < 1000; i++ {
		s := shardOf(t, snap, i)
		if s == first && same2 == "" {
			same2 = itoa(i)
		}
		if s != first && other == "" {
			other = itoa(i)
		}
	}
	return "1", same2, other
}

func itoa(i int64) string {
	var b []byte
	for i > 0 {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
	}
	return string(b)
}

func TestInListAndMultiShardRefusal(t *testing.T) {
	snap := testSnapshot(t)
	a, b, other := keysOn(t, snap)
	stmt := &parser.Statement{Kind: parser.KindSelect, Tables: []parser.TableRef{{Name: "users"}},
		Keys: []parser.KeyCandidate{{Table: 0, Column: "id", Values: []parser.ValueRef{lit(0), lit(1)}}}}
	if p, err := Route(stmt, &Values{Literals: ints(a, b)}, sess(), snap); err != nil || p.(Single).Shard.Name != shardOf(t, snap, 1) {
		t.Fatalf("IN on one shard: %v %v", p, err)
	}
	// A read over keys of two shards scatters; a write is refused.
	if p, err := Route(stmt, &Values{Literals: ints(a, other)}, sess(), snap); err != nil || len(p.(Scatter).Shards) != 2 {
		t.Fatalf("IN over two shards: %v %v", p, err)
	}
	del := *stmt
	del.Kind = parser.KindDelete
	_, err := Route(&del, &Values{Literals: ints(a, other)}, sess(), snap)
	wantCode(t, err, sqlerr.FeatureNotSupported)
	// Inside a transaction a scatter is refused.
	inTxSess := sess()
	inTxSess.TxShard = snap.Keyspaces()[0].Shards()[0]
	_, err = Route(stmt, &Values{Literals: ints(a, other)}, inTxSess, snap)
	wantCode(t, err, sqlerr.FeatureNotSupported)
	// A write without a key: refused with a hint naming the column.
	_, err = Route(&parser.Statement{Kind: parser.KindUpdate, Tables: []parser.TableRef{{Name: "users"}}}, &Values{}, sess(), snap)
	wantCode(t, err, sqlerr.FeatureNotSupported)
	if e, _ := sqlerr.As(err); !strings.Contains(e.Hint, "WHERE id =") {
		t.Errorf("hint: %q", e.Hint)
	}
}

func TestJoinCoLocated(t *testing.T) {
	snap := testSnapshot(t)
	_, _, other := keysOn(t, snap)
	stmt := &parser.Statement{Kind: parser.KindSelect, Tables: []parser.TableRef{{Name: "users", Alias: "u"}, {Name: "orders", Alias: "o"}},
		Keys: []parser.KeyCandidate{{Table: 0, Column: "id", Values: []parser.ValueRef{lit(0)}}, {Table: 1, Column: "user_id", Values: []parser.ValueRef{lit(1)}}}}
	if p, err := Route(stmt, &Values{Literals: ints("1", "1")}, sess(), snap); err != nil || p.(Single).Shard.Name != shardOf(t, snap, 1) {
		t.Fatalf("%v %v", p, err)
	}
	_, err := Route(stmt, &Values{Literals: ints("1", other)}, sess(), snap)
	wantCode(t, err, sqlerr.FeatureNotSupported)
	// Only one table keyed: the other would need every shard.
	stmt.Keys = stmt.Keys[:1]
	_, err = Route(stmt, &Values{Literals: ints("1")}, sess(), snap)
	wantCode(t, err, sqlerr.FeatureNotSupported)
}

func TestReferenceCatalogAndUnknownTables(t *testing.T) {
	snap := testSnapshot(t)
	sel := func(tables ...parser.TableRef) *parser.Statement {
		return &parser.Statement{Kind: parser.KindSelect, Tables: tables}
	}
	for _, st := range []*parser.Statement{sel(parser.TableRef{Name: "products"}), sel(), sel(parser.TableRef{Name: "pg_type"}), sel(parser.TableRef{Schema: "information_schema", Name: "tables"}), sel(parser.TableRef{Schema: "public", Name: "products"})} {
		p, err := Route(st, &Values{}, sess(), snap)
		if _, ok := p.(AnyShard); err != nil || !ok {
			t.Errorf("%+v: %v %v", st.Tables, p, err)
		}
	}
	_, err := Route(sel(parser.TableRef{Name: "nope"}), &Values{}, sess(), snap)
	wantCode(t, err, sqlerr.UndefinedTable)
	_, err = Route(&parser.Statement{Kind: parser.KindUpdate, Tables: []parser.TableRef{{Name: "products"}}}, &Values{}, sess(), snap)
	wantCode(t, err, sqlerr.FeatureNotSupported)
	// Inside a transaction, AnyShard becomes the transaction's shard.
	s := sess()
	ks, _ := snap.Keyspace(shardmap.Postgres, "app")
	s.TxShard = ks.Shards()[1]
	p, err := Route(sel(parser.TableRef{Name: "products"}), &Values{}, s, snap)
	if err != nil || p.(Single).Shard != s.TxShard {
		t.Fatalf("%v %v", p, err)
	}
}

func TestSchemaResolution(t *testing.T) {
	snap := testSnapshot(t)
	stmt := &parser.Statement{Kind: parser.KindSelect, Tables: []parser.TableRef{{Name: "invoices"}},
		Keys: []parser.KeyCandidate{{Table: 0, Column: "account", Values: []parser.ValueRef{lit(0)}}}}
	vals := &Values{Literals: []parser.Literal{{Kind: parser.LiteralString, Text: "acme"}}}
	if _, err := Route(stmt, vals, sess(), snap); err == nil {
		t.Fatal("invoices is not on the default search_path")
	}
	s := sess()
	s.SearchPath = []string{"billing", "public"}
	if _, err := Route(stmt, vals, s, snap); err != nil {
		t.Fatal(err)
	}
	stmt.Tables[0] = parser.TableRef{Schema: "billing", Name: "invoices"}
	if _, err := Route(stmt, vals, sess(), snap); err != nil {
		t.Fatal(err)
	}
}

func TestInsert(t *testing.T) {
	snap := testSnapshot(t)
	a, b, other := keysOn(t, snap)
	stmt := &parser.Statement{Kind: parser.KindInsert, Tables: []parser.TableRef{{Name: "users"}},
		Insert: &parser.InsertRows{Columns: []string{"name", "id"}, Rows: [][]parser.ValueRef{{lit(0), lit(1)}, {lit(2), lit(3)}}}}
	lits := func(k1, k2 string) []parser.Literal {
		return []parser.Literal{{Kind: parser.LiteralString, Text: "x"}, {Kind: parser.LiteralInteger, Text: k1}, {Kind: parser.LiteralString, Text: "y"}, {Kind: parser.LiteralInteger, Text: k2}}
	}
	if p, err := Route(stmt, &Values{Literals: lits(a, b)}, sess(), snap); err != nil || p.(Single).Shard.Name != shardOf(t, snap, 1) {
		t.Fatalf("%v %v", p, err)
	}
	// Rows on two shards: split by key.
	p, err := Route(stmt, &Values{Literals: lits(a, other)}, sess(), snap)
	if sp, ok := p.(SplitInsert); err != nil || !ok || len(sp.Shards) != 2 {
		t.Fatalf("split: %v %v", p, err)
	}
	// NULL key → 23502; no column list without catalog → refused; with catalog → routed.
	stmt.Insert.Rows = [][]parser.ValueRef{{lit(0), {Source: parser.FromNull}}}
	_, err = Route(stmt, &Values{Literals: lits(a, b)}, sess(), snap)
	wantCode(t, err, sqlerr.NotNullViolation)
	stmt.Insert = &parser.InsertRows{Rows: [][]parser.ValueRef{{lit(1), lit(0)}}}
	_, err = Route(stmt, &Values{Literals: lits(a, b)}, sess(), snap)
	wantCode(t, err, sqlerr.FeatureNotSupported)
	s := sess()
	s.Columns = func(schema, table string) ([]string, bool) { return []string{"id", "name"}, table == "users" }
	if p, err := Route(stmt, &Values{Literals: lits(a, b)}, s, snap); err != nil || p.(Single).Shard.Name != shardOf(t, snap, 1) {
		t.Fatalf("catalog order: %v %v", p, err)
	}
	// 42.5 into a bigint key rounds as the server does: same shard as 43.
	stmt.Insert = &parser.InsertRows{Columns: []string{"id"}, Rows: [][]parser.ValueRef{{lit(0)}}}
	p, err = Route(stmt, &Values{Literals: []parser.Literal{{Kind: parser.LiteralNumeric, Text: "42.5"}}}, sess(), snap)
	if err != nil || p.(Single).Shard.Name != shardOf(t, snap, 43) {
		t.Fatalf("42.5: %v %v", p, err)
	}
}

func TestTransactionPinning(t *testing.T) {
	snap := testSnapshot(t)
	_, _, other := keysOn(t, snap)
	s := sess()
	ks, _ := snap.Keyspace(shardmap.Postgres, "app")
	for _, sh := range ks.Shards() {
		if sh.Name == shardOf(t, snap, 1) {
			s.TxShard = sh
		}
	}
	stmt := &parser.Statement{Kind: parser.KindUpdate, Tables: []parser.TableRef{{Name: "users"}},
		Keys: []parser.KeyCandidate{{Table: 0, Column: "id", Values: []parser.ValueRef{lit(0)}}}}
	if _, err := Route(stmt, &Values{Literals: ints("1")}, s, snap); err != nil {
		t.Fatal(err)
	}
	_, err := Route(stmt, &Values{Literals: ints(other)}, s, snap)
	wantCode(t, err, sqlerr.FeatureNotSupported)
}

func TestHint(t *testing.T) {
	snap := testSnapshot(t)
	stmt := &parser.Statement{Kind: parser.KindSelect, Tables: []parser.TableRef{{Name: "users"}}, Hint: parser.Hint{Shard: "80-"}}
	p, err := Route(stmt, &Values{}, sess(), snap)
	if err != nil || p.(Single).Shard.Name != "80-" {
		t.Fatalf("%v %v", p, err)
	}
	stmt.Hint.Shard = "40-"
	_, err = Route(stmt, &Values{}, sess(), snap)
	wantCode(t, err, sqlerr.FeatureNotSupported)
}

func TestNullKeyMatchesNothing(t *testing.T) {
	snap := testSnapshot(t)
	stmt := &parser.Statement{Kind: parser.KindSelect, Tables: []parser.TableRef{{Name: "users"}},
		Keys: []parser.KeyCandidate{{Table: 0, Column: "id", Values: []parser.ValueRef{{Source: parser.FromNull}}}}}
	p, err := Route(stmt, &Values{}, sess(), snap)
	if _, ok := p.(AnyShard); err != nil || !ok {
		t.Fatalf("%v %v", p, err)
	}
}

// An IN list whose keys reach two of three shards scatters to those two.
func TestScatterOnlyToKeyShards(t *testing.T) {
	node := func(n string, p int) shardmap.NodeSpec { return shardmap.NodeSpec{Name: n, Host: "127.0.0.1", Port: p} }
	snap, err := shardmap.Compile(1, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{{
		Name: "app", Engine: shardmap.Postgres,
		Tables: []shardmap.TableSpec{{Name: "users", Column: "id", Type: "bigint"}},
		Shards: []shardmap.ShardSpec{
			{KeyRange: "-55", Primary: node("a", 1)}, {KeyRange: "55-aa", Primary: node("b", 2)}, {KeyRange: "aa-", Primary: node("c", 3)},
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	byShard := map[string]string{}
	for k := 1; len(byShard) < 3 && k < 1000; k++ {
		s, _ := snap.Lookup(shardmap.Postgres, "app", "users", shardmap.Int(int64(k)))
		if _, ok := byShard[s.Name]; !ok {
			byShard[s.Name] = fmt.Sprint(k)
		}
	}
	stmt := &parser.Statement{Kind: parser.KindSelect, Tables: []parser.TableRef{{Name: "users"}},
		Keys: []parser.KeyCandidate{{Table: 0, Column: "id", Values: []parser.ValueRef{lit(0), lit(1)}}}}
	p, err := Route(stmt, &Values{Literals: ints(byShard["-55"], byShard["aa-"]), Bound: true}, sess(), snap)
	if err != nil {
		t.Fatal(err)
	}
	sc := p.(Scatter)
	if len(sc.Shards) != 2 || sc.Shards[0].Name != "-55" || sc.Shards[1].Name != "aa-" {
		t.Fatalf("scatter over %s", shardNames(sc.Shards))
	}
}
