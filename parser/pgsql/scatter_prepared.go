package pgsql

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// PreparedSelect is the SELECT of a SQL-level PREPARE, for an EXECUTE the
// router scatters: the session runs it on every shard through the
// extended protocol, EXECUTE's arguments bound as its parameters. Each
// parameter whose type PREPARE declares is cast to it ($1::bigint), so the
// shards type it as PREPARE did; the others keep the type the server
// infers from the same context. Errors are *sqlerr.Error (0A000 for a
// PREPARE of something other than a SELECT).
func PreparedSelect(prepareSQL string) (string, error) {
	tree, err := parse(prepareSQL)
	if err != nil {
		return "", err
	}
	if len(tree.Stmts) != 1 {
		return "", unsupported("a text with several statements (or none)")
	}
	ps := tree.Stmts[0].Stmt.GetPrepareStmt()
	if ps == nil || ps.Query.GetSelectStmt() == nil {
		return "", unsupported("EXECUTE of a prepared statement other than SELECT over several shards")
	}
	query := proto.Clone(ps.Query).(*pg_query.Node)
	if len(ps.Argtypes) > 0 {
		var refs []*pg_query.Node
		inspect(query.ProtoReflect(), func(m protoreflect.Message) bool {
			if n, ok := m.Interface().(*pg_query.Node); ok {
				if p := n.GetParamRef(); p != nil && int(p.Number) >= 1 && int(p.Number) <= len(ps.Argtypes) {
					refs = append(refs, n)
					return false
				}
			}
			return true
		})
		for _, n := range refs {
			p := n.GetParamRef()
			tn := proto.Clone(ps.Argtypes[p.Number-1].GetTypeName()).(*pg_query.TypeName)
			n.Node = &pg_query.Node_TypeCast{TypeCast: &pg_query.TypeCast{
				Arg: &pg_query.Node{Node: &pg_query.Node_ParamRef{ParamRef: p}}, TypeName: tn, Location: -1}}
		}
	}
	out, err := pg_query.Deparse(&pg_query.ParseResult{Version: tree.Version, Stmts: []*pg_query.RawStmt{{Stmt: query}}})
	if err != nil {
		return "", sqlerr.New(sqlerr.InternalError, "the SELECT of a PREPARE: %v", err).Wrap(err)
	}
	return out, nil
}
