package mysql

import (
	"slices"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/shardgate/shardgate/parser"
)

// Key candidates come only from the top-level AND conjuncts of the
// outermost WHERE: `col = v`, `v = col`, `col IN (v, …)`. A predicate under
// OR or NOT, in a sub-query, in a JOIN … ON, a `<=>`, or a row comparison
// yields none.
//
// A column is tied to a table of the statement's own FROM (for UPDATE and
// DELETE: their table references) as MySQL resolves it:
//
//   - alias.col, or table.col for a table without alias; db.table.col the
//     same by database and name;
//   - an unqualified col: the only FROM item, if there is exactly one and
//     it is a table;
//   - otherwise Table is -1 (a derived table's column, an ambiguous name):
//     the router cannot use it, and needs every shard or refuses.
//
// Column names are lower-cased: MySQL compares them case-insensitively.

// fromItem is one item of a FROM list as a qualified column sees it.
type fromItem struct {
	ref     parser.TableRef
	isTable bool // a real table (not a derived table or a CTE)
	name    string
	alias   string
	schema  string
}

// fromItems flattens a FROM list (joins included) into its items.
func (b *builder) fromItems(exprs []sqlparser.TableExpr, ctes []string, out []fromItem) []fromItem {
	for _, te := range exprs {
		switch x := te.(type) {
		case *sqlparser.AliasedTableExpr:
			if t, ok := x.Expr.(sqlparser.TableName); ok {
				it := fromItem{ref: tableRef(t, x.As), name: t.Name.String(), schema: t.Qualifier.String(), alias: x.As.String()}
				it.isTable = !(it.schema == "" && slices.Contains(ctes, it.name))
				out = append(out, it)
				continue
			}
			out = append(out, fromItem{alias: x.As.String()})
		case *sqlparser.JoinTableExpr:
			out = b.fromItems([]sqlparser.TableExpr{x.LeftExpr, x.RightExpr}, ctes, out)
		case *sqlparser.ParenTableExpr:
			out = b.fromItems(x.Exprs, ctes, out)
		default:
			out = append(out, fromItem{})
		}
	}
	return out
}

// keys extracts the candidates of a WHERE clause over the given FROM items.
func (b *builder) keys(where sqlparser.Expr, items []fromItem, tables []parser.TableRef) []parser.KeyCandidate {
	var out []parser.KeyCandidate
	for _, c := range conjuncts(where, nil) {
		cmp, ok := c.(*sqlparser.ComparisonExpr)
		if !ok {
			continue
		}
		switch cmp.Operator {
		case sqlparser.EqualOp:
			if col, ok := cmp.Left.(*sqlparser.ColName); ok {
				if kc, ok := candidate(col, items, tables); ok {
					kc.Values = []parser.ValueRef{b.value(cmp.Right)}
					out = append(out, kc)
				}
			}
			if col, ok := cmp.Right.(*sqlparser.ColName); ok {
				if kc, ok := candidate(col, items, tables); ok {
					kc.Values = []parser.ValueRef{b.value(cmp.Left)}
					out = append(out, kc)
				}
			}
		case sqlparser.InOp:
			col, ok := cmp.Left.(*sqlparser.ColName)
			list, isList := cmp.Right.(sqlparser.ValTuple)
			if !ok || !isList {
				continue
			}
			if kc, ok := candidate(col, items, tables); ok {
				for _, v := range list {
					kc.Values = append(kc.Values, b.value(v))
				}
				out = append(out, kc)
			}
		}
	}
	return out
}

// conjuncts flattens nested ANDs (and the parentheses vitess keeps none of).
func conjuncts(e sqlparser.Expr, out []sqlparser.Expr) []sqlparser.Expr {
	if e == nil {
		return out
	}
	if and, ok := e.(*sqlparser.AndExpr); ok {
		out = conjuncts(and.Left, out)
		return conjuncts(and.Right, out)
	}
	return append(out, e)
}

// candidate ties a column reference to a table.
func candidate(col *sqlparser.ColName, items []fromItem, tables []parser.TableRef) (parser.KeyCandidate, bool) {
	kc := parser.KeyCandidate{Table: -1, Column: col.Name.Lowered()}
	if it := resolveColumn(col, items); it != nil && it.isTable {
		kc.Table = slices.Index(tables, it.ref)
	}
	return kc, true
}

// resolveColumn finds the FROM item a column belongs to, or nil.
func resolveColumn(col *sqlparser.ColName, items []fromItem) *fromItem {
	q := col.Qualifier
	switch {
	case q.Name.IsEmpty():
		if len(items) == 1 {
			return &items[0]
		}
	case q.Qualifier.IsEmpty():
		name := q.Name.String()
		for i := range items {
			it := &items[i]
			if it.alias == name || it.alias == "" && it.name == name {
				return it
			}
		}
	default:
		s, t := q.Qualifier.String(), q.Name.String()
		for i := range items {
			it := &items[i]
			if it.alias == "" && it.schema == s && it.name == t {
				return it
			}
		}
	}
	return nil
}

// equalities extracts `a.x = b.y` between columns of two different tables
// of the statement, from the top-level AND conjuncts of WHERE and of every
// JOIN … ON in FROM.
func (b *builder) equalities(where sqlparser.Expr, from []sqlparser.TableExpr, items []fromItem, tables []parser.TableRef) []parser.ColumnEquality {
	conds := joinQuals(from, conjuncts(where, nil))
	var out []parser.ColumnEquality
	for _, c := range conds {
		cmp, ok := c.(*sqlparser.ComparisonExpr)
		if !ok || cmp.Operator != sqlparser.EqualOp {
			continue
		}
		lc, lok := cmp.Left.(*sqlparser.ColName)
		rc, rok := cmp.Right.(*sqlparser.ColName)
		if !lok || !rok {
			continue
		}
		l, _ := candidate(lc, items, tables)
		r, _ := candidate(rc, items, tables)
		if l.Table < 0 || r.Table < 0 || l.Table == r.Table {
			continue
		}
		out = append(out, parser.ColumnEquality{
			Left:  parser.ColumnRef{Table: l.Table, Column: l.Column},
			Right: parser.ColumnRef{Table: r.Table, Column: r.Column},
		})
	}
	return out
}

// joinQuals appends the top-level AND conjuncts of the ON clauses in a
// FROM list.
func joinQuals(from []sqlparser.TableExpr, out []sqlparser.Expr) []sqlparser.Expr {
	for _, te := range from {
		switch j := te.(type) {
		case *sqlparser.JoinTableExpr:
			if j.Condition != nil {
				out = conjuncts(j.Condition.On, out)
			}
			out = joinQuals([]sqlparser.TableExpr{j.LeftExpr, j.RightExpr}, out)
		case *sqlparser.ParenTableExpr:
			out = joinQuals(j.Exprs, out)
		}
	}
	return out
}

// updateTarget names the table an UPDATE assigns: the router checks that
// a statement does not assign the sharding column of its first table. An
// UPDATE of several tables must say, by qualifying every assigned column,
// that it assigns columns of one of them.
func updateTarget(u *sqlparser.Update, items []fromItem) ([]parser.TableRef, error) {
	if len(items) == 1 {
		if items[0].isTable {
			return []parser.TableRef{items[0].ref}, nil
		}
		return nil, nil
	}
	var target *fromItem
	for _, e := range u.Exprs {
		if e.Name.Qualifier.Name.IsEmpty() {
			return nil, notSupported("an UPDATE of several tables must qualify every column it assigns (SET t.col = …): shardgate must know which table's rows change")
		}
		it := resolveColumn(e.Name, items)
		if it == nil || !it.isTable {
			return nil, notSupported("UPDATE assigns a column of " + sqlparser.String(e.Name.Qualifier) + ", which is not a table of the statement")
		}
		if target != nil && target != it {
			return nil, notSupported("an UPDATE that assigns columns of several tables is not supported: update each table in its own statement")
		}
		target = it
	}
	if target == nil {
		return nil, nil
	}
	return []parser.TableRef{target.ref}, nil
}

// deleteTargets names the tables a DELETE deletes from.
func deleteTargets(d *sqlparser.Delete, items []fromItem) []parser.TableRef {
	if len(d.Targets) == 0 {
		if len(items) > 0 && items[0].isTable {
			return []parser.TableRef{items[0].ref}
		}
		return nil
	}
	var out []parser.TableRef
	for _, t := range d.Targets {
		col := &sqlparser.ColName{Qualifier: t}
		if it := resolveColumn(col, items); it != nil && it.isTable {
			out = append(out, it.ref)
		}
	}
	return out
}
