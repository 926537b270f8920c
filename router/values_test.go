package router

import (
	"testing"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// A parameter the caller marks unknown selects no shard, whatever Value
// stands in its place; the others still do.
func TestUnknownParams(t *testing.T) {
	snap := testSnapshot(t)
	stmt := &parser.Statement{Kind: parser.KindSelect, Tables: []parser.TableRef{{Name: "users"}},
		Keys: []parser.KeyCandidate{{Table: 0, Column: "id", Values: []parser.ValueRef{param(2)}}}}
	params := []shardmap.Value{shardmap.Int(7), shardmap.Int(42)}
	p, err := Route(stmt, &Values{Params: params, Bound: true, Unknown: 1}, sess(), snap)
	if err != nil || !isSingle(p) {
		t.Fatalf("key known, another parameter unknown: %v %v; want one shard", p, err)
	}
	p, err = Route(stmt, &Values{Params: params, Bound: true, Unknown: 2}, sess(), snap)
	if err != nil || isSingle(p) {
		t.Fatalf("key unknown: %v %v; want no single shard", p, err)
	}
}

func isSingle(p Plan) bool { return len(Shards(p)) == 1 }
