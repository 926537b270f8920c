package mysql

import (
	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/shardgate/shardgate/parser"
)

// insertRows describes INSERT/REPLACE … VALUES (and INSERT … SET, which
// vitess reads as one row of VALUES): the column list (nil without one)
// and each row's values. INSERT … SELECT and INSERT … TABLE return nil.
func (b *builder) insertRows(ins *sqlparser.Insert) *parser.InsertRows {
	vals, ok := ins.Rows.(sqlparser.Values)
	if !ok {
		return nil
	}
	var cols []string
	if len(ins.Columns) > 0 {
		cols = make([]string, len(ins.Columns))
		for i, c := range ins.Columns {
			cols[i] = c.Lowered()
		}
	}
	rows := make([][]parser.ValueRef, len(vals))
	for r, tuple := range vals {
		row := make([]parser.ValueRef, len(tuple))
		for i, e := range tuple {
			row[i] = b.value(e)
		}
		rows[r] = row
	}
	return &parser.InsertRows{Columns: cols, Rows: rows}
}

// assignedColumns lists the columns of SET lists (UPDATE, ON DUPLICATE
// KEY UPDATE), lower case, in order: the router refuses a change of a
// row's sharding column.
func assignedColumns(exprs sqlparser.UpdateExprs) []string {
	if len(exprs) == 0 {
		return nil
	}
	out := make([]string, 0, len(exprs))
	for _, e := range exprs {
		out = append(out, e.Name.Name.Lowered())
	}
	return out
}
