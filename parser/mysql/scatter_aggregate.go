package mysql

import (
	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/shardgate/shardgate/parser"
)

// aggregate builds the GroupBy, Aggregates and Order of a statement that
// aggregates (GROUP BY, or an aggregate call), and rewrites avg.
func (s *scatter) aggregate() error {
	if s.star {
		return notSupported("* with aggregates or GROUP BY over several shards is not supported: name the columns")
	}
	s.m.Aggregates = []parser.Aggregate{}
	// The group keys, by their expression's text: a select item or a
	// hidden column.
	groupCol := map[string]int{}
	if s.sel.GroupBy != nil {
		for _, e := range s.sel.GroupBy.Exprs {
			col, expr, err := s.groupColumn(e)
			if err != nil {
				return err
			}
			groupCol[sqlparser.String(expr)] = col
			s.m.GroupBy = append(s.m.GroupBy, col)
		}
	}
	for i, it := range s.items {
		switch {
		case isAggregate(it.Expr):
			if err := s.addAggregate(i, it); err != nil {
				return err
			}
		case hasAggregate(it.Expr):
			return notSupported("an aggregate inside an expression (" + sqlparser.String(it.Expr) + ") over several shards is not supported")
		case isConstant(it.Expr):
		default:
			if _, ok := groupCol[sqlparser.String(it.Expr)]; ok {
				continue
			}
			if groupedItem(s.m.GroupBy, i) {
				continue
			}
			return notSupported("the select item " + sqlparser.String(it.Expr) + " is neither an aggregate nor a GROUP BY expression: over several shards its value is not defined")
		}
	}
	if s.shipped != nil {
		// The values of the DISTINCT aggregate split the shards' groups.
		if s.sel.GroupBy == nil {
			s.sel.GroupBy = &sqlparser.GroupBy{}
		}
		s.sel.GroupBy.Exprs = append(s.sel.GroupBy.Exprs, s.shipped)
	}
	if err := s.having(groupCol); err != nil {
		return err
	}
	for _, o := range s.sel.OrderBy {
		if isConstantKey(o.Expr) {
			continue
		}
		col, err := s.groupValue(o.Expr, groupCol, "ORDER BY")
		if err != nil {
			return err
		}
		s.m.Order = append(s.m.Order, sortKey(col, o))
	}
	if len(s.sel.OrderBy) == 0 {
		// MariaDB sorts a GROUP BY's groups by their keys when the
		// statement has no ORDER BY.
		for _, c := range s.m.GroupBy {
			s.m.Order = append(s.m.Order, parser.SortKey{Column: c, NullsFirst: true})
		}
	}
	return nil
}

func groupedItem(groupBy []int, i int) bool {
	for _, c := range groupBy {
		if c == i {
			return true
		}
	}
	return false
}

// groupColumn resolves a GROUP BY key to a column of the shard rows
// (a select item, or a hidden column) and the expression it groups by.
func (s *scatter) groupColumn(e sqlparser.Expr) (int, sqlparser.Expr, error) {
	if p, isPos, err := position(e); isPos {
		if err != nil {
			return 0, nil, err
		}
		if p >= len(s.items) {
			return 0, nil, notSupported("GROUP BY a position out of the select list")
		}
		if hasAggregate(s.items[p].Expr) {
			return 0, nil, notSupported("GROUP BY an aggregate")
		}
		return p, s.items[p].Expr, nil
	}
	if hasAggregate(e) {
		return 0, nil, notSupported("GROUP BY an aggregate")
	}
	if i := s.itemLike(e); i >= 0 {
		return i, e, nil
	}
	if c, ok := e.(*sqlparser.ColName); ok && c.Qualifier.IsEmpty() {
		// An alias — unless the name is also a column of the FROM
		// clause, which MariaDB's GROUP BY takes first (the differential
		// test's finding: SELECT level AS active … GROUP BY active
		// groups by the column active). Only a shard knows its
		// columns: columnProbe asks one.
		if i := s.itemNamed(c.Name.String()); i >= 0 && !hasAggregate(s.items[i].Expr) {
			isColumn, err := s.nameIsColumn(c, s.items[i])
			if err != nil {
				return 0, nil, err
			}
			if !isColumn {
				return i, s.items[i].Expr, nil
			}
		}
	}
	return s.hiddenRef(s.hiddenCol(e)), e, nil
}

// addAggregate records select item i, an aggregate call, and rewrites
// avg(x) into sum(x) plus a hidden count(x).
func (s *scatter) addAggregate(i int, it *sqlparser.AliasedExpr) error {
	a := parser.Aggregate{Column: i}
	switch e := it.Expr.(type) {
	case *sqlparser.Count:
		a.Func = parser.AggCount
		if e.Distinct {
			return s.ship(a, parser.AggCountDistinct, it, e.Args[0])
		}
	case *sqlparser.CountStar:
		a.Func = parser.AggCount
	case *sqlparser.Sum:
		a.Func = parser.AggSum
		if e.Distinct {
			return s.ship(a, parser.AggSumDistinct, it, e.Arg)
		}
	case *sqlparser.Min:
		a.Func = parser.AggMin
	case *sqlparser.Max:
		a.Func = parser.AggMax
	case *sqlparser.Avg:
		a.Func = parser.AggAvg
		if e.Distinct {
			return s.ship(a, parser.AggAvgDistinct, it, e.Arg)
		}
		if it.As.IsEmpty() {
			// The client's column keeps avg's name.
			it.As = sqlparser.NewIdentifierCI(s.clientName(i))
		}
		it.Expr = &sqlparser.Sum{Arg: e.Arg}
		a.CountColumn = s.hiddenRef(s.hiddenCol(&sqlparser.Count{Args: []sqlparser.Expr{e.Arg}}))
		s.changed = true
	}
	s.m.Aggregates = append(s.m.Aggregates, a)
	return nil
}

// groupValue resolves a value of the merged groups named in an ORDER BY
// key or HAVING (clause) of an aggregating statement: a select item, a
// group key, or an aggregate (added hidden).
func (s *scatter) groupValue(e sqlparser.Expr, groupCol map[string]int, clause string) (int, error) {
	if p, isPos, err := position(e); isPos {
		if err != nil {
			return 0, err
		}
		if p >= len(s.items) {
			return 0, notSupported(clause + " a position out of the select list")
		}
		return p, nil
	}
	if c, ok := e.(*sqlparser.ColName); ok && c.Qualifier.IsEmpty() {
		if i := s.itemNamed(c.Name.String()); i >= 0 {
			return i, nil
		}
	}
	if i := s.itemLike(e); i >= 0 {
		return i, nil
	}
	if c, ok := groupCol[sqlparser.String(e)]; ok {
		return c, nil
	}
	if distinctCall(e) {
		return 0, notSupported(clause + " " + sqlparser.String(e) + ": a DISTINCT aggregate over several shards must be a select item")
	}
	if !isAggregate(e) {
		return 0, notSupported(clause + " " + sqlparser.String(e) + " (neither a select item, a GROUP BY expression nor an aggregate) over several shards is not supported")
	}
	// A hidden aggregate: its own partial, combined like a visible one.
	k := sqlparser.String(e)
	if i, ok := s.hiddenK[k]; ok {
		return s.hiddenRef(i), nil
	}
	a := parser.Aggregate{}
	switch e := e.(type) {
	case *sqlparser.Count, *sqlparser.CountStar:
		a.Func = parser.AggCount
	case *sqlparser.Sum:
		a.Func = parser.AggSum
	case *sqlparser.Min:
		a.Func = parser.AggMin
	case *sqlparser.Max:
		a.Func = parser.AggMax
	case *sqlparser.Avg:
		a.Func = parser.AggAvg
		i := s.hiddenCol(&sqlparser.Sum{Arg: e.Arg})
		s.hiddenK[k] = i
		a.Column = s.hiddenRef(i)
		a.CountColumn = s.hiddenRef(s.hiddenCol(&sqlparser.Count{Args: []sqlparser.Expr{e.Arg}}))
		s.m.Aggregates = append(s.m.Aggregates, a)
		return a.Column, nil
	}
	a.Column = s.hiddenRef(s.hiddenCol(e))
	s.m.Aggregates = append(s.m.Aggregates, a)
	return a.Column, nil
}

// isConstant: a literal (or NULL), the same on every shard.
func isConstant(e sqlparser.Expr) bool {
	switch e.(type) {
	case *sqlparser.Literal, *sqlparser.NullVal, sqlparser.BoolVal:
		return true
	}
	return false
}

// ship makes select item it, count/sum/avg(DISTINCT x), ship x's values:
// the item becomes x (keeping the client's column name) and x joins the
// shards' GROUP BY, so each shard returns a row per group and value; the
// merge keeps each group's distinct values (executor/distinct.go). The
// statement's other aggregates are computed per (group, value) and
// combined as usual. Every DISTINCT aggregate must have the same x.
func (s *scatter) ship(a parser.Aggregate, fn parser.AggFunc, it *sqlparser.AliasedExpr, x sqlparser.Expr) error {
	if hasAggregate(x) {
		return notSupported("an aggregate inside a DISTINCT aggregate")
	}
	if s.shipped != nil && sqlparser.String(s.shipped) != sqlparser.String(x) {
		return notSupported("DISTINCT aggregates of different expressions over several shards are not supported")
	}
	s.shipped = x
	if it.As.IsEmpty() {
		it.As = sqlparser.NewIdentifierCI(s.clientName(a.Column))
	}
	it.Expr = x
	a.Func = fn
	s.m.Aggregates = append(s.m.Aggregates, a)
	s.changed = true
	return nil
}

// nameIsColumn reports whether GROUP BY name c, the alias of select item
// it, is a column of the FROM clause. An item that is that very column
// (name, or t.name AS name) groups alike either way.
func (s *scatter) nameIsColumn(c *sqlparser.ColName, it *sqlparser.AliasedExpr) (bool, error) {
	if own, ok := it.Expr.(*sqlparser.ColName); ok && own.Name.Equal(c.Name) {
		return false, nil
	}
	if s.columnProbe == nil {
		return false, nil
	}
	probe := &sqlparser.Select{
		SelectExprs: &sqlparser.SelectExprs{Exprs: []sqlparser.SelectExpr{&sqlparser.AliasedExpr{Expr: &sqlparser.ColName{Name: c.Name}}}},
		From:        s.sel.From,
		Limit:       &sqlparser.Limit{Rowcount: sqlparser.NewIntLiteral("0")},
	}
	return s.columnProbe(sqlparser.String(probe))
}
