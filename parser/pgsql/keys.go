package pgsql

import (
	"slices"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardgate/shardgate/parser"
)

// Key candidates come only from the top-level AND conjuncts of the
// outermost WHERE: `col = v`, `v = col`, `col IN (v, …)`. A predicate under
// OR or NOT, in a sub-query, in a JOIN … ON, or an `= ANY(…)` yields none.
//
// A column is tied to a table of the statement's own FROM (for UPDATE and
// DELETE: the target and FROM / USING):
//
//   - alias.col or table.col: the FROM item of that alias (or, for an item
//     without alias, that table name); schema.table.col the same by schema
//     and name;
//   - an unqualified col: the only FROM item, if there is exactly one and
//     it is a table;
//   - otherwise Table is -1: the column belongs to a sub-query, a CTE or a
//     function in FROM, or is ambiguous without the schema (several tables
//     in FROM). The router cannot use such a candidate, which is safe: it
//     then needs every shard or refuses.

// fromItem is one item of a FROM list as a qualified column sees it.
type fromItem struct {
	ref     parser.TableRef
	isTable bool // a real table (not a sub-query, function, CTE or aliased join)
	name    string
	alias   string
	schema  string
}

// fromItems flattens a FROM list (joins included) into its items.
func (b *builder) fromItems(nodes []*pg_query.Node, ctes []string, out []fromItem) []fromItem {
	for _, n := range nodes {
		switch x := n.GetNode().(type) {
		case *pg_query.Node_RangeVar:
			rv := x.RangeVar
			it := fromItem{ref: tableRef(rv), name: rv.Relname, schema: rv.Schemaname, alias: aliasName(rv.Alias)}
			it.isTable = !(rv.Schemaname == "" && slices.Contains(ctes, rv.Relname))
			out = append(out, it)
		case *pg_query.Node_JoinExpr:
			j := x.JoinExpr
			if j.Alias != nil {
				// (a JOIN b) AS j hides a and b.
				out = append(out, fromItem{alias: j.Alias.Aliasname})
				continue
			}
			out = b.fromItems([]*pg_query.Node{j.Larg, j.Rarg}, ctes, out)
		case *pg_query.Node_RangeSubselect:
			out = append(out, fromItem{alias: aliasName(x.RangeSubselect.Alias)})
		case *pg_query.Node_RangeFunction:
			out = append(out, fromItem{alias: aliasName(x.RangeFunction.Alias)})
		default:
			out = append(out, fromItem{})
		}
	}
	return out
}

func aliasName(a *pg_query.Alias) string {
	if a == nil {
		return ""
	}
	return a.Aliasname
}

// keys extracts the candidates of a WHERE clause over the given FROM items.
func (b *builder) keys(where *pg_query.Node, items []fromItem, tables []parser.TableRef) []parser.KeyCandidate {
	var out []parser.KeyCandidate
	for _, c := range conjuncts(where, nil) {
		e := c.GetAExpr()
		if e == nil || !isEquals(e.Name) {
			continue
		}
		switch e.Kind {
		case pg_query.A_Expr_Kind_AEXPR_OP:
			if col := e.Lexpr.GetColumnRef(); col != nil {
				if kc, ok := b.candidate(col, items, tables); ok {
					kc.Values = []parser.ValueRef{b.value(e.Rexpr)}
					out = append(out, kc)
				}
			}
			if col := e.Rexpr.GetColumnRef(); col != nil {
				if kc, ok := b.candidate(col, items, tables); ok {
					kc.Values = []parser.ValueRef{b.value(e.Lexpr)}
					out = append(out, kc)
				}
			}
		case pg_query.A_Expr_Kind_AEXPR_IN:
			col := e.Lexpr.GetColumnRef()
			list := e.Rexpr.GetList()
			if col == nil || list == nil {
				continue
			}
			if kc, ok := b.candidate(col, items, tables); ok {
				for _, v := range list.Items {
					kc.Values = append(kc.Values, b.value(v))
				}
				out = append(out, kc)
			}
		}
	}
	return out
}

// conjuncts flattens nested ANDs.
func conjuncts(n *pg_query.Node, out []*pg_query.Node) []*pg_query.Node {
	if n == nil {
		return out
	}
	if be := n.GetBoolExpr(); be != nil && be.Boolop == pg_query.BoolExprType_AND_EXPR {
		for _, a := range be.Args {
			out = conjuncts(a, out)
		}
		return out
	}
	return append(out, n)
}

// isEquals: the operator is plain "=" (IN uses "=" too; NOT IN uses "<>").
func isEquals(name []*pg_query.Node) bool {
	return len(name) == 1 && name[0].GetString_().GetSval() == "="
}

// candidate ties a column reference to a table.
func (b *builder) candidate(col *pg_query.ColumnRef, items []fromItem, tables []parser.TableRef) (parser.KeyCandidate, bool) {
	f := make([]string, len(col.Fields))
	for i, n := range col.Fields {
		s := n.GetString_()
		if s == nil {
			return parser.KeyCandidate{}, false // tbl.*
		}
		f[i] = s.Sval
	}
	kc := parser.KeyCandidate{Table: -1, Column: f[len(f)-1]}
	var match *fromItem
	switch len(f) {
	case 1:
		if len(items) == 1 && items[0].isTable {
			match = &items[0]
		}
	case 2:
		for i := range items {
			it := &items[i]
			if it.alias == f[0] || it.alias == "" && it.name == f[0] {
				match = it
				break
			}
		}
	default: // schema.table.col, db.schema.table.col
		s, t := f[len(f)-3], f[len(f)-2]
		for i := range items {
			it := &items[i]
			if it.alias == "" && it.schema == s && it.name == t {
				match = it
				break
			}
		}
	}
	if match != nil && match.isTable {
		kc.Table = indexOf(tables, match.ref)
	}
	return kc, true
}

func indexOf(tables []parser.TableRef, t parser.TableRef) int {
	for i, x := range tables {
		if x == t {
			return i
		}
	}
	return -1
}

// equalities extracts `a.x = b.y` between columns of two different tables
// of the statement, from the top-level AND conjuncts of WHERE and of every
// JOIN … ON in FROM (not under an aliased join, whose columns are hidden).
// Rows matched through an equality of two sharding columns of the same
// vindex live on the same shard: the router uses them to carry a key
// from one table to another and to keep co-located joins exact.
func (b *builder) equalities(where *pg_query.Node, from []*pg_query.Node, items []fromItem, tables []parser.TableRef) []parser.ColumnEquality {
	conds := conjuncts(where, nil)
	conds = joinQuals(from, conds)
	var out []parser.ColumnEquality
	for _, c := range conds {
		e := c.GetAExpr()
		if e == nil || e.Kind != pg_query.A_Expr_Kind_AEXPR_OP || !isEquals(e.Name) {
			continue
		}
		lc, rc := e.Lexpr.GetColumnRef(), e.Rexpr.GetColumnRef()
		if lc == nil || rc == nil {
			continue
		}
		l, lok := b.candidate(lc, items, tables)
		r, rok := b.candidate(rc, items, tables)
		if !lok || !rok || l.Table < 0 || r.Table < 0 || l.Table == r.Table {
			continue
		}
		out = append(out, parser.ColumnEquality{
			Left:  parser.ColumnRef{Table: l.Table, Column: l.Column},
			Right: parser.ColumnRef{Table: r.Table, Column: r.Column},
		})
	}
	return out
}

// joinQuals appends the top-level AND conjuncts of the ON clauses in a FROM
// list.
func joinQuals(from []*pg_query.Node, out []*pg_query.Node) []*pg_query.Node {
	for _, n := range from {
		j := n.GetJoinExpr()
		if j == nil || j.Alias != nil {
			continue
		}
		out = conjuncts(j.Quals, out)
		out = joinQuals([]*pg_query.Node{j.Larg, j.Rarg}, out)
	}
	return out
}
