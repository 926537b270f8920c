package pgwire

import (
	"testing"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

func TestSplitPrepare(t *testing.T) {
	cases := []struct {
		sql, name   string
		ok          bool
		nameTok     string
		types, body string
	}{
		{"PREPARE p AS SELECT 1", "p", true, "p", "", "SELECT 1"},
		{"  /* c /* nested */ */ prepare  Foo\n(int, varchar(10))as  SELECT $1::text || 'as' ;  ", "foo", true, "Foo", "(int, varchar(10))", "SELECT $1::text || 'as'"},
		{`PREPARE "My ""q""" (bigint) AS -- c` + "\n" + `INSERT INTO users (id, name) VALUES ($1, 'x')`, `My "q"`, true, `"My ""q"""`, "(bigint)", "-- c\nINSERT INTO users (id, name) VALUES ($1, 'x')"},
		{"PREPARE p (\"a)b\", numeric(10,2)) AS SELECT 1;", "p", true, "p", `("a)b", numeric(10,2))`, "SELECT 1"},
		{"PREPARE p AS SELECT 1", "q", false, "", "", ""},
		{"PREPARE p", "p", false, "", "", ""},
		{"PREPARE p (int AS SELECT 1", "p", false, "", "", ""},
		{"PREPARE p AS ;", "p", false, "", "", ""},
	}
	for _, c := range cases {
		p, ok := splitPrepare(c.sql, c.name)
		if ok != c.ok {
			t.Errorf("%q: ok %v", c.sql, ok)
			continue
		}
		if !ok {
			continue
		}
		if got := c.sql[p.nameStart:p.nameEnd]; got != c.nameTok || p.types != c.types || p.body != c.body {
			t.Errorf("%q: name %q types %q body %q", c.sql, got, p.types, p.body)
		}
	}
}

func TestExecuteName(t *testing.T) {
	cases := []struct {
		sql, name, tok string
	}{
		{"EXECUTE p(1)", "p", "p"},
		{"/* shardgate: shard=-80 */ execute\tGetUser ( 42 )", "getuser", "GetUser"},
		{`EXECUTE "P"`, "P", `"P"`},
		{"EXECUTE p", "q", ""},
		{"EXPLAIN EXECUTE p", "p", ""},
	}
	for _, c := range cases {
		start, end, ok := executeName(c.sql, c.name)
		if ok != (c.tok != "") || ok && c.sql[start:end] != c.tok {
			t.Errorf("%q: %v %q", c.sql, ok, c.sql[start:end])
		}
	}
}

func TestExecutesPrepared(t *testing.T) {
	for sql, want := range map[string]bool{
		"EXPLAIN EXECUTE p(1)":                                            true,
		"explain (analyze, costs off) execute p":                          true,
		"EXPLAIN ANALYZE VERBOSE EXECUTE p":                               true,
		"EXPLAIN SELECT 1":                                                false,
		"EXPLAIN CREATE TABLE t AS EXECUTE p":                             true,
		"CREATE TABLE t AS EXECUTE p(1)":                                  true,
		"CREATE TEMP TABLE t (a, b) WITH (fillfactor=70) AS EXECUTE p":    true,
		"CREATE TABLE t AS SELECT 1 AS execute":                           false,
		"CREATE TABLE t (a int GENERATED ALWAYS AS (1) STORED)":           false,
		"CREATE FUNCTION f() RETURNS int AS $$ EXECUTE x $$ LANGUAGE sql": false,
		"CREATE FUNCTION f() RETURNS int AS $body$ x $body$ LANGUAGE sql": false,
		"CREATE FUNCTION f() RETURNS int AS 'execute' LANGUAGE sql":       false,
		"VACUUM users": false,
	} {
		if got := executesPrepared(sql); got != want {
			t.Errorf("%q: %v", sql, got)
		}
	}
}

func TestExecuteParams(t *testing.T) {
	lits := []parser.Literal{{Kind: parser.LiteralInteger, Text: "42"}, {Kind: parser.LiteralString, Text: "x"}, {Kind: parser.LiteralNumeric, Text: "4.5"}}
	lit := func(i int) parser.ValueRef { return parser.ValueRef{Source: parser.FromLiteral, Index: i} }
	param := func(n int) parser.ValueRef { return parser.ValueRef{Source: parser.FromParam, Index: n} }
	expr := parser.ValueRef{Source: parser.FromExpr}
	byKey2 := &parser.Statement{Keys: []parser.KeyCandidate{{Column: "id", Values: []parser.ValueRef{param(2)}}}}

	got := executeParams(byKey2, []parser.ValueRef{lit(1), lit(0), {Source: parser.FromNull}, {Source: parser.FromLiteral, Index: 0, Negate: true}}, lits)
	want := []shardmap.Value{shardmap.Text("x"), shardmap.Text("42"), shardmap.Null(), shardmap.Text("-42")}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range want {
		if got[i].String() != want[i].String() || got[i].Kind() != want[i].Kind() {
			t.Errorf("param %d: %v, want %v", i+1, got[i], want[i])
		}
	}
	// An expression that is not a key stands in as anything; one that may
	// be leaves it and the later parameters unknown.
	if got := executeParams(byKey2, []parser.ValueRef{expr, lit(0)}, lits); len(got) != 2 || got[1].String() != "42" {
		t.Errorf("unknown non-key: %v", got)
	}
	if got := executeParams(byKey2, []parser.ValueRef{lit(0), expr, lit(1)}, lits); len(got) != 1 {
		t.Errorf("unknown key: %v", got)
	}
	if got := executeParams(byKey2, []parser.ValueRef{lit(0), lit(2)}, lits); len(got) != 1 {
		t.Errorf("numeric key: %v", got)
	}
	ins := &parser.Statement{Insert: &parser.InsertRows{Rows: [][]parser.ValueRef{{param(1), param(2)}}}}
	if got := executeParams(ins, []parser.ValueRef{{Source: parser.FromLiteral, Index: 0, Cast: "date"}, lit(1)}, lits); len(got) != 0 {
		t.Errorf("insert row: %v", got)
	}
}

func TestSpliceName(t *testing.T) {
	for _, c := range []struct {
		prefix, suffix string
		chars          int
		want           string
	}{
		{"EXECUTE ", "(1)", 1, "EXECUTE sgq7(1)"},
		{"EXECUTE ", "(1)", 6, "EXECUTE sgq7  (1)"},
		{`PREPARE `, `AS SELECT 1`, 3, `PREPARE sgq7 AS SELECT 1`},
		{`PREPARE`, ` AS SELECT 1`, 3, `PREPARE sgq7 AS SELECT 1`},
		{`PREPARE`, ` AS SELECT 1`, 8, `PREPARE sgq7    AS SELECT 1`},
	} {
		if got := spliceName(c.prefix, "sgq7", c.chars, c.suffix); got != c.want {
			t.Errorf("%q %q: %q, want %q", c.prefix, c.suffix, got, c.want)
		}
	}
}
