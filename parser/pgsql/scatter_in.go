package pgsql

import (
	"slices"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// An IN list on a sharding key, cut by shard (router.InSplit): each shard
// runs the statement with only the list's values that live on it.
//
// Bind parameters are renumbered per shard: a shard's text references
// only the parameters it still uses, as $1, $2, … in the order of their
// old numbers, and its Bind carries those parameters only. Keeping the
// client's numbers and its whole Bind would leave the parameters of the
// dropped values unreferenced in the shard's text, and Postgres cannot
// infer the type of an unreferenced parameter the client did not declare
// ("could not determine data type of parameter $n"); renumbered, every
// parameter keeps its place in the statement, so the server infers for it
// the type it inferred in the client's text.

// SplitInList returns, for each shard, the text it runs: sql with the IN
// list of key predicate number key (as the analyzer numbers
// parser.Statement.Keys) cut to the items keep[i] (0-based positions), and
// the client's parameter numbers the text uses, in order ($k of the text
// is the client's params[i][k-1]). sql is a SELECT, UPDATE or DELETE as
// the analyzer saw it (a scatter rewrite keeps its WHERE). Errors are
// *sqlerr.Error.
func SplitInList(sql string, key int, keep [][]int) (texts []string, params [][]int, err error) {
	tree, err := parse(sql)
	if err != nil {
		return nil, nil, err
	}
	if len(tree.Stmts) != 1 {
		return nil, nil, errSplit("a text with several statements")
	}
	list := inList(tree, key)
	if list == nil {
		return nil, nil, errSplit("no IN list at key predicate %d", key)
	}
	n := len(list.Items)
	for _, items := range keep {
		if len(items) == 0 {
			return nil, nil, errSplit("a shard without values")
		}
		for i, it := range items {
			if it < 0 || it >= n || i > 0 && it <= items[i-1] {
				return nil, nil, errSplit("items %v of a list of %d", items, n)
			}
		}
	}
	for _, items := range keep {
		c := proto.Clone(tree).(*pg_query.ParseResult)
		l := inList(c, key)
		kept := make([]*pg_query.Node, len(items))
		for i, it := range items {
			kept[i] = l.Items[it]
		}
		l.Items = kept
		used := renumberParams(c)
		text, err := pg_query.Deparse(c)
		if err != nil {
			return nil, nil, sqlerr.New(sqlerr.InternalError, "cutting an IN list by shard: %v", err).Wrap(err)
		}
		texts = append(texts, text)
		params = append(params, used)
	}
	return texts, params, nil
}

func errSplit(format string, args ...any) *sqlerr.Error {
	return sqlerr.New(sqlerr.InternalError, "cutting an IN list by shard: "+format, args...)
}

// inList finds the list of key predicate number key in the statement's
// WHERE, counting predicates as builder.keys does.
func inList(tree *pg_query.ParseResult, key int) *pg_query.List {
	var where *pg_query.Node
	switch x := tree.Stmts[0].Stmt.GetNode().(type) {
	case *pg_query.Node_SelectStmt:
		where = x.SelectStmt.WhereClause
	case *pg_query.Node_UpdateStmt:
		where = x.UpdateStmt.WhereClause
	case *pg_query.Node_DeleteStmt:
		where = x.DeleteStmt.WhereClause
	}
	n := 0
	for _, c := range conjuncts(where, nil) {
		e := c.GetAExpr()
		if e == nil || !isEquals(e.Name) {
			continue
		}
		switch e.Kind {
		case pg_query.A_Expr_Kind_AEXPR_OP:
			for _, side := range []*pg_query.Node{e.Lexpr, e.Rexpr} {
				if col := side.GetColumnRef(); col != nil && plainFields(col) {
					n++
				}
			}
		case pg_query.A_Expr_Kind_AEXPR_IN:
			col := e.Lexpr.GetColumnRef()
			list := e.Rexpr.GetList()
			if col == nil || list == nil || !plainFields(col) {
				continue
			}
			if n == key {
				return list
			}
			n++
		}
		if n > key {
			return nil
		}
	}
	return nil
}

// plainFields: a column reference builder.candidate accepts (no *).
func plainFields(col *pg_query.ColumnRef) bool {
	for _, f := range col.Fields {
		if f.GetString_() == nil {
			return false
		}
	}
	return true
}

// renumberParams numbers the parameters the tree references 1, 2, … in
// the order of their old numbers, and returns the old numbers in order.
func renumberParams(tree *pg_query.ParseResult) []int {
	var refs []*pg_query.ParamRef
	inspect(tree.ProtoReflect(), func(m protoreflect.Message) bool {
		if p, ok := m.Interface().(*pg_query.ParamRef); ok {
			refs = append(refs, p)
		}
		return true
	})
	var used []int
	for _, p := range refs {
		used = append(used, int(p.Number))
	}
	slices.Sort(used)
	used = slices.Compact(used)
	for _, p := range refs {
		i, _ := slices.BinarySearch(used, int(p.Number))
		p.Number = int32(i + 1)
	}
	return used
}
