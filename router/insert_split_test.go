package router

import (
	"slices"
	"testing"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// A SplitInsert keyed by bind parameters: routed after Bind only, each row
// to its key's shard, in key-range order; the same key as text or integer
// lands alike.
func TestSplitInsertParams(t *testing.T) {
	snap := testSnapshot(t)
	a, _, other := keysOn(t, snap)
	stmt := &parser.Statement{Kind: parser.KindInsert, Tables: []parser.TableRef{{Name: "users"}}, ParamCount: 3,
		Insert: &parser.InsertRows{Columns: []string{"id"}, Rows: [][]parser.ValueRef{{param(1)}, {param(2)}, {param(3)}}}}
	_, err := Route(stmt, &Values{}, sess(), snap)
	if !NeedsBind(err) {
		t.Fatalf("before Bind: %v", err)
	}
	p, err := Route(stmt, &Values{Bound: true, Params: []shardmap.Value{shardmap.Text(other), shardmap.Text(a), shardmap.Text(other)}}, sess(), snap)
	if err != nil {
		t.Fatal(err)
	}
	sp, ok := p.(SplitInsert)
	if !ok || len(sp.Shards) != 2 || sp.Shards[0].Index != 0 || sp.Shards[1].Index != 1 {
		t.Fatalf("got %v", p)
	}
	for i, s := range sp.Shards {
		want := []int{1}
		if s.Name == shardOf(t, snap, mustInt(t, other)) {
			want = []int{0, 2}
		}
		if !slices.Equal(sp.Rows[i], want) {
			t.Errorf("shard %s: rows %v, want %v", s.Name, sp.Rows[i], want)
		}
	}
	// A parameter that is not a key value of the column: the server's error.
	_, err = Route(stmt, &Values{Bound: true, Params: []shardmap.Value{shardmap.Text(a), shardmap.Text("x"), shardmap.Text(other)}}, sess(), snap)
	wantCode(t, err, sqlerr.InvalidTextRepresentation)
}

func mustInt(t *testing.T, s string) int64 {
	var v int64
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not an integer: %q", s)
		}
		v = v*10 + int64(c-'0')
	}
	return v
}
