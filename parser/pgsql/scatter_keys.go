package pgsql

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// Sort keys, group keys and aggregates: which column of the shard rows
// each one is, found as Postgres finds it.

// sorted fills the merge of a statement that does not aggregate: its ORDER
// BY keys (the shards sort by the ORDER BY as written) and DISTINCT.
func (s *scatter) sorted() error {
	err := s.eachSortKey(func(key parser.SortKey, i int, expr *pg_query.Node) error {
		if i >= 0 {
			expr = s.items[i].val
		}
		if err := checkCollate(expr); err != nil {
			return err
		}
		switch {
		case i >= 0 && i < s.star:
			key.Column = i
		case len(s.sel.DistinctClause) > 0:
			// Postgres requires DISTINCT's sort keys among the select items;
			// a hidden one would change what is distinct.
			return unsupported("with SELECT DISTINCT, an ORDER BY key not written as a select item").
				WithHint("Write the key as in the select list, or its position.")
		default:
			// Not a select item, or one after a * (its position is unknown):
			// the shards return the key as a hidden column.
			key.Column = s.addHidden(expr, exprKey(expr))
		}
		s.m.Order = append(s.m.Order, key)
		return nil
	})
	if err != nil {
		return err
	}
	if len(s.sel.DistinctClause) == 0 {
		return nil
	}
	if s.star < len(s.items) {
		return unsupported("SELECT DISTINCT *").WithHint("Name the columns.")
	}
	s.m.Distinct = true
	ordered := map[int]bool{}
	for _, k := range s.m.Order {
		ordered[k.Column] = true
	}
	for i, it := range s.items {
		if err := checkCollate(it.val); err != nil {
			return err
		}
		if ordered[i] {
			continue
		}
		s.m.Order = append(s.m.Order, parser.SortKey{Column: i})
		s.sel.SortClause = append(s.sel.SortClause, pg_query.MakeSortByNode(intConst(int64(i+1)),
			pg_query.SortByDir_SORTBY_DEFAULT, pg_query.SortByNulls_SORTBY_NULLS_DEFAULT, -1))
		s.changed = true
	}
	return nil
}

// aggregate fills the merge of a statement that aggregates (GROUP BY or an
// aggregate call): group keys, aggregates, and the ORDER BY of the merged
// groups. The shards keep the ORDER BY as written (and so Postgres' checks
// of it); the merge sorts again after it has combined the groups.
func (s *scatter) aggregate() error {
	switch {
	case s.star < len(s.items):
		return unsupported("* in the select list of a SELECT with aggregates or GROUP BY")
	case len(s.sel.DistinctClause) > 0:
		return unsupported("SELECT DISTINCT with aggregates or GROUP BY")
	}
	s.m.Aggregates = []parser.Aggregate{}
	s.grouped = len(s.sel.GroupClause) > 0
	s.decideShip()
	if s.ship {
		if err := s.checkShipped(); err != nil {
			return err
		}
	}
	isKey := map[int]bool{}
	keyCol := map[string]int{} // the column of each group key expression
	addKey := func(col int, key string) {
		if !isKey[col] {
			isKey[col] = true
			s.m.GroupBy = append(s.m.GroupBy, col)
		}
		if _, ok := keyCol[key]; !ok {
			keyCol[key] = col
		}
	}
	for _, g := range s.sel.GroupClause {
		i, err := s.groupItem(g)
		if err != nil {
			return err
		}
		col, expr := i, g
		if i >= 0 {
			expr = s.items[i].val
		}
		if hasAggregate(expr) {
			return sqlerr.New(codeGroupingError, "aggregate functions are not allowed in GROUP BY")
		}
		if i < 0 {
			col = s.addHidden(g, exprKey(g))
		}
		if err := checkCollate(expr); err != nil {
			return err
		}
		addKey(col, exprKey(expr))
	}
	for i, it := range s.items {
		fn, err := aggregateCall(it.val)
		if err != nil {
			return err
		}
		switch {
		case fn != 0:
			s.addAggregate(i, fn, it.rt)
		case hasAggregate(it.val):
			return unsupported(fmt.Sprintf("an aggregate inside an expression (select item %d)", i+1)).
				WithHint("Select count, sum, min, max or avg as they are and compute the rest in the application.")
		case isKey[i]:
		case hasKey(keyCol, it.key):
			addKey(i, it.key)
		case isConstant(it.val), isPlainColumn(it.val):
			// A constant, or a column Postgres found to depend on the
			// group key (grouped by a primary key): the same in every
			// shard's row of a group, so it may join the merge's key.
			addKey(i, it.key)
		default:
			return unsupported(fmt.Sprintf("select item %d (neither count, sum, min, max or avg nor a GROUP BY expression)", i+1))
		}
	}
	if err := s.having(keyCol); err != nil {
		return err
	}
	return s.eachSortKey(func(key parser.SortKey, i int, expr *pg_query.Node) error {
		var err error
		if i >= 0 {
			expr, key.Column = s.items[i].val, i
		} else if key.Column, err = s.aggregateSortKey(expr, keyCol, addKey); err != nil {
			return err
		}
		if err := checkCollate(expr); err != nil {
			return err
		}
		s.m.Order = append(s.m.Order, key)
		return nil
	})
}

// eachSortKey calls fn for every ORDER BY key with its direction and
// nulls order, the select item it names (-1: none) and its expression.
func (s *scatter) eachSortKey(fn func(key parser.SortKey, item int, expr *pg_query.Node) error) error {
	for _, n := range s.sel.SortClause {
		sb := n.GetSortBy()
		if sb == nil {
			continue
		}
		key, err := sortKey(sb)
		if err != nil {
			return err
		}
		i, err := s.findItem(sb.Node, "ORDER BY")
		if err != nil {
			return err
		}
		if err := fn(key, i, sb.Node); err != nil {
			return err
		}
	}
	return nil
}

func hasKey(m map[string]int, k string) bool {
	_, ok := m[k]
	return ok
}

// aggregateSortKey finds the column of an ORDER BY expression of an
// aggregating statement that is not a select item: a group key, or an
// aggregate or key column added hidden.
func (s *scatter) aggregateSortKey(expr *pg_query.Node, keyCol map[string]int, addKey func(int, string)) (int, error) {
	key := exprKey(expr)
	fn, err := aggregateCall(expr)
	switch {
	case err != nil:
		return 0, err
	case fn != 0:
		if h, ok := s.hiddenAt[key]; ok {
			return hiddenCol(h), nil
		}
		col := s.addHidden(expr, key)
		s.addAggregate(col, fn, s.hiddenTarget(col))
		return col, nil
	case hasKey(keyCol, key):
		return keyCol[key], nil
	case hasAggregate(expr):
		return 0, unsupported("ORDER BY an expression over aggregates").
			WithHint("Select the expression's aggregates and sort in the application, or order by a select item.")
	case isConstant(expr), isPlainColumn(expr):
		col := s.addHidden(expr, key)
		addKey(col, key)
		return col, nil
	}
	return 0, unsupported("ORDER BY an expression that is neither a select item, a GROUP BY expression nor an aggregate")
}

// sortKey reads a key's direction; NULLs sort as Postgres' defaults say
// when not written: last ascending, first descending.
func sortKey(sb *pg_query.SortBy) (parser.SortKey, error) {
	var k parser.SortKey
	switch sb.SortbyDir {
	case pg_query.SortByDir_SORTBY_DESC:
		k.Desc = true
	case pg_query.SortByDir_SORTBY_USING:
		return k, unsupported("ORDER BY … USING an operator")
	}
	switch sb.SortbyNulls {
	case pg_query.SortByNulls_SORTBY_NULLS_FIRST:
		k.NullsFirst = true
	case pg_query.SortByNulls_SORTBY_NULLS_LAST:
	default:
		k.NullsFirst = k.Desc
	}
	return k, nil
}

// findItem finds the select item an ORDER BY key names, as Postgres does
// (findTargetlistEntrySQL92/99): an integer is a position; a bare name is
// an output column's name (ambiguous if several items of different
// expressions have it); otherwise an item written the same. -1: none —
// the key is an expression over the input columns.
func (s *scatter) findItem(n *pg_query.Node, clause string) (int, error) {
	if c := n.GetAConst(); c != nil {
		iv := c.GetIval()
		if c.Isnull || iv == nil {
			return 0, sqlerr.New(sqlerr.SyntaxError, "non-integer constant in %s", clause)
		}
		p := int(iv.Ival)
		if s.star < len(s.items) && p > s.star {
			return 0, unsupported(clause + " a position after * in the select list").WithHint("Write the column's name.")
		}
		if p < 1 || p > len(s.items) {
			return 0, sqlerr.New(codeInvalidColumnReference, "%s position %d is not in select list", clause, p)
		}
		return p - 1, nil
	}
	if name, ok := bareName(n); ok {
		if i, err := s.itemNamed(name, clause); i >= 0 || err != nil {
			return i, err
		}
	}
	return s.itemLike(n), nil
}

// itemNamed finds the item whose output column is called name.
func (s *scatter) itemNamed(name, clause string) (int, error) {
	found := -1
	for i, it := range s.items {
		if it.star || it.name != name {
			continue
		}
		if found < 0 {
			found = i
		} else if s.items[found].key != it.key {
			return 0, sqlerr.New(codeAmbiguousColumn, "%s %q is ambiguous", clause, name)
		}
	}
	return found, nil
}

// itemLike finds the first item written as n (-1: none).
func (s *scatter) itemLike(n *pg_query.Node) int {
	key := exprKey(n)
	for i, it := range s.items {
		if !it.star && it.key == key {
			return i
		}
	}
	return -1
}

// groupItem finds the select item a GROUP BY key names. Postgres looks a
// bare name up among the input columns first and only then among the
// output names; without the tables' columns, a bare name that is also an
// output name is clear only when that item is the column itself.
func (s *scatter) groupItem(n *pg_query.Node) (int, error) {
	if n.GetAConst() != nil {
		return s.findItem(n, "GROUP BY")
	}
	if name, ok := bareName(n); ok {
		found := -1
		for i, it := range s.items {
			if it.star || it.name != name {
				continue
			}
			if cr := it.val.GetColumnRef(); cr == nil || lastString(cr.Fields) != name || isStar(it.val) {
				return 0, unsupported(fmt.Sprintf("GROUP BY %s (the name of a select item, or perhaps of a column)", name)).
					WithHint("Write the expression or its position.")
			}
			if found < 0 {
				found = i
			}
		}
		if found >= 0 {
			return found, nil
		}
	}
	return s.itemLike(n), nil
}

// aggregateCall reports which merge a select item or sort key needs when
// it is a bare aggregate call, and refuses the aggregates it cannot
// merge. 0: not an aggregate call.
func aggregateCall(n *pg_query.Node) (parser.AggFunc, error) {
	fc := n.GetFuncCall()
	if fc == nil || fc.Over != nil || !isAggregateCall(fc) {
		return 0, nil
	}
	name, ok := builtinName(fc)
	if !ok {
		return 0, unsupported("the aggregate " + funcName(fc) + "()")
	}
	var fn parser.AggFunc
	switch name {
	case "count":
		fn = parser.AggCount
	case "sum":
		fn = parser.AggSum
	case "min":
		fn = parser.AggMin
	case "max":
		fn = parser.AggMax
	case "avg":
		fn = parser.AggAvg
	default:
		return 0, unsupported("the aggregate " + name + "()").
			WithHint("count, sum, min, max and avg merge across shards.")
	}
	switch {
	case fc.AggFilter != nil:
		return 0, unsupported("an aggregate with FILTER")
	case fc.AggWithinGroup:
		return 0, unsupported("an aggregate WITHIN GROUP")
	case len(fc.AggOrder) > 0:
		return 0, unsupported("ORDER BY inside an aggregate")
	case fc.FuncVariadic:
		return 0, unsupported("VARIADIC in an aggregate")
	case fc.AggStar && (fn != parser.AggCount || len(fc.Args) > 0):
		return 0, unsupported(name + "(*)")
	case !fc.AggStar && len(fc.Args) != 1:
		return 0, unsupported(fmt.Sprintf("%s() with %d arguments", name, len(fc.Args)))
	}
	if fn == parser.AggMin || fn == parser.AggMax || fc.AggDistinct {
		// DISTINCT compares its values too.
		if err := checkCollate(fc.Args[0]); err != nil {
			return 0, err
		}
	}
	if fc.AggDistinct {
		switch fn {
		case parser.AggCount:
			fn = parser.AggCountDistinct
		case parser.AggSum:
			fn = parser.AggSumDistinct
		case parser.AggAvg:
			fn = parser.AggAvgDistinct
		}
	}
	return fn, nil
}

// isConstant: a constant or a bind parameter, possibly cast.
func isConstant(n *pg_query.Node) bool {
	switch x := n.GetNode().(type) {
	case *pg_query.Node_AConst, *pg_query.Node_ParamRef:
		return true
	case *pg_query.Node_TypeCast:
		return isConstant(x.TypeCast.Arg)
	}
	return false
}

// isPlainColumn: a column reference, not a *.
func isPlainColumn(n *pg_query.Node) bool {
	return n.GetColumnRef() != nil && !isStar(n)
}
