package pgsql

import (
	"reflect"
	"testing"

	"github.com/shardgate/shardgate/parser"
)

func TestPrepareInfo(t *testing.T) {
	lit := func(i int) parser.ValueRef { return parser.ValueRef{Source: parser.FromLiteral, Index: i} }
	cases := []struct {
		sql  string
		kind parser.Kind
		want parser.PrepareInfo
	}{
		{"PREPARE p AS SELECT 1", parser.KindPrepare, parser.PrepareInfo{Name: "p"}},
		{`PREPARE "MyStmt" (int, varchar(10)) AS SELECT * FROM users WHERE id = $1 AND name = $2`, parser.KindPrepare, parser.PrepareInfo{Name: "MyStmt", ParamTypes: 2}},
		{"prepare FOO(bigint) as insert into users (id, name) values ($1, 'x')", parser.KindPrepare, parser.PrepareInfo{Name: "foo", ParamTypes: 1}},
		{"EXECUTE p", parser.KindExecute, parser.PrepareInfo{Name: "p"}},
		{"EXECUTE p(42, 'x', NULL, now(), -7, '5'::bigint)", parser.KindExecute, parser.PrepareInfo{Name: "p", Args: []parser.ValueRef{
			lit(0), lit(1), {Source: parser.FromNull}, {Source: parser.FromExpr}, {Source: parser.FromLiteral, Index: 2, Negate: true}, {Source: parser.FromLiteral, Index: 3, Cast: "bigint"},
		}}},
		{"DEALLOCATE p", parser.KindDeallocate, parser.PrepareInfo{Name: "p"}},
		{`DEALLOCATE PREPARE "P"`, parser.KindDeallocate, parser.PrepareInfo{Name: "P"}},
		{"DEALLOCATE ALL", parser.KindDeallocate, parser.PrepareInfo{All: true}},
		{"DEALLOCATE PREPARE ALL", parser.KindDeallocate, parser.PrepareInfo{All: true}},
	}
	a := NewAnalyzer(Options{})
	for _, c := range cases {
		for round := 0; round < 2; round++ { // analysis, then a cache hit
			st, _, err := a.Analyze(c.sql, nil)
			if err != nil {
				t.Fatalf("%s: %v", c.sql, err)
			}
			if st.Kind != c.kind || st.Prepare == nil || !reflect.DeepEqual(*st.Prepare, c.want) {
				t.Errorf("%s: kind %v, info %+v; want %v %+v", c.sql, st.Kind, st.Prepare, c.kind, c.want)
			}
		}
	}
	if st, _, _ := a.Analyze("SELECT 1", nil); st.Prepare != nil {
		t.Errorf("SELECT has PrepareInfo %+v", st.Prepare)
	}
}
