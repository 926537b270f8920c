package pgsql

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardgate/shardgate/parser"
)

// insertRows describes INSERT … VALUES: the column list (nil without one)
// and each row's values. INSERT … DEFAULT VALUES is one empty row with an
// empty (non-nil) column list: it gives no column. VALUES with ORDER BY,
// LIMIT or a WITH of its own selects rows like a query does, so it counts as
// INSERT … SELECT (returns nil).
func (b *builder) insertRows(ins *pg_query.InsertStmt) *parser.InsertRows {
	var cols []string
	partial := map[int]bool{} // columns assigned through a subscript or field: a.b, a[1]
	for i, n := range ins.Cols {
		rt := n.GetResTarget()
		if rt == nil {
			return nil
		}
		cols = append(cols, rt.Name)
		if len(rt.Indirection) > 0 {
			partial[i] = true
		}
	}
	if ins.SelectStmt == nil {
		return &parser.InsertRows{Columns: []string{}, Rows: [][]parser.ValueRef{{}}}
	}
	sel := ins.SelectStmt.GetSelectStmt()
	if sel == nil || len(sel.ValuesLists) == 0 || sel.Op != pg_query.SetOperation_SETOP_NONE ||
		len(sel.SortClause) > 0 || sel.LimitCount != nil || sel.LimitOffset != nil ||
		sel.WithClause != nil || len(sel.LockingClause) > 0 {
		return nil
	}
	rows := make([][]parser.ValueRef, 0, len(sel.ValuesLists))
	for _, vl := range sel.ValuesLists {
		items := vl.GetList().GetItems()
		row := make([]parser.ValueRef, len(items))
		for i, it := range items {
			if partial[i] {
				row[i] = parser.ValueRef{Source: parser.FromExpr}
				continue
			}
			row[i] = b.value(it)
		}
		rows = append(rows, row)
	}
	return &parser.InsertRows{Columns: cols, Rows: rows}
}

// assignedColumns lists the columns of SET lists (UPDATE, ON CONFLICT DO
// UPDATE), in order.
func assignedColumns(targets []*pg_query.Node, out []string) []string {
	for _, n := range targets {
		if rt := n.GetResTarget(); rt != nil {
			out = append(out, rt.Name)
		}
	}
	return out
}
