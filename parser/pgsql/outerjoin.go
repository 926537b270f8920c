package pgsql

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardgate/shardgate/parser"
)

// outerPreserved lists the preserved sides of the outer joins of a FROM
// list (parser.Statement.OuterPreserved): for each, the indexes into
// tables of the tables written on that side, at any depth (a table inside
// a sub-query on that side is not listed: it is no table of the side's
// own rows).
func outerPreserved(from []*pg_query.Node, tables []parser.TableRef, out [][]int) [][]int {
	for _, n := range from {
		j := n.GetJoinExpr()
		if j == nil {
			continue
		}
		switch j.Jointype {
		case pg_query.JoinType_JOIN_LEFT:
			out = append(out, sideTables(j.Larg, tables, []int{}))
		case pg_query.JoinType_JOIN_RIGHT:
			out = append(out, sideTables(j.Rarg, tables, []int{}))
		case pg_query.JoinType_JOIN_FULL:
			out = append(out, sideTables(j.Larg, tables, []int{}), sideTables(j.Rarg, tables, []int{}))
		}
		out = outerPreserved([]*pg_query.Node{j.Larg, j.Rarg}, tables, out)
	}
	return out
}

// sideTables appends the indexes of the tables of one side of a join.
func sideTables(n *pg_query.Node, tables []parser.TableRef, out []int) []int {
	switch x := n.GetNode().(type) {
	case *pg_query.Node_RangeVar:
		if i := indexOf(tables, tableRef(x.RangeVar)); i >= 0 {
			out = append(out, i)
		}
	case *pg_query.Node_JoinExpr:
		out = sideTables(x.JoinExpr.Larg, tables, out)
		out = sideTables(x.JoinExpr.Rarg, tables, out)
	}
	return out
}
