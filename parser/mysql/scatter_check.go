package mysql

import (
	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// checkScatterShape refuses the clauses and expressions of a scatter
// SELECT that no merge reproduces exactly.
func checkScatterShape(sel *sqlparser.Select) error {
	switch {
	case sel.With != nil:
		return notSupported("WITH over several shards is not supported")
	case sel.Into != nil:
		return notSupported("SELECT … INTO over several shards is not supported")
	case sel.Lock != sqlparser.NoLock:
		return notSupported("SELECT … FOR UPDATE / LOCK IN SHARE MODE over several shards is not supported")
	case sel.SQLCalcFoundRows:
		return notSupported("SQL_CALC_FOUND_ROWS over several shards is not supported")
	case len(sel.Windows) > 0:
		return notSupported("window functions over several shards are not supported")
	case sel.GroupBy != nil && sel.GroupBy.WithRollup:
		return notSupported("GROUP BY … WITH ROLLUP over several shards is not supported")
	}
	var refusal *sqlerr.Error
	sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) { //nolint:errcheck // the visitor returns no error
		if refusal != nil {
			return false, nil
		}
		refusal = refuseNode(n)
		return refusal == nil, nil
	}, sel)
	if refusal != nil {
		return refusal
	}
	return nil
}

// refuseNode is the refusal of one node of the tree, or nil.
func refuseNode(n sqlparser.SQLNode) *sqlerr.Error {
	switch n := n.(type) {
	case *sqlparser.Subquery, *sqlparser.DerivedTable, *sqlparser.ExistsExpr:
		return notSupported("sub-queries in a SELECT over several shards are not supported")
	case *sqlparser.OverClause, *sqlparser.WindowDefinition:
		return notSupported("window functions over several shards are not supported")
	case *sqlparser.GroupConcatExpr:
		return notSupported("GROUP_CONCAT over several shards is not supported")
	case *sqlparser.Count:
		if n.Distinct && len(n.Args) != 1 {
			return notSupported("COUNT(DISTINCT …) of several expressions over several shards is not supported")
		}
		if n.OverClause != nil {
			return notSupported("window functions over several shards are not supported")
		}
	case *sqlparser.Sum:
		if n.OverClause != nil {
			return notSupported("window functions over several shards are not supported")
		}
	case *sqlparser.Avg:
		if n.OverClause != nil {
			return notSupported("window functions over several shards are not supported")
		}
	case *sqlparser.Min:
		if n.OverClause != nil {
			return notSupported("window functions over several shards are not supported")
		}
	case *sqlparser.Max:
		if n.OverClause != nil {
			return notSupported("window functions over several shards are not supported")
		}
	case *sqlparser.CountStar:
	case sqlparser.AggrFunc:
		return notSupported(n.AggrName() + "() over several shards is not supported")
	case *sqlparser.ArgumentLessWindowExpr, *sqlparser.FirstOrLastValueExpr, *sqlparser.NtileExpr,
		*sqlparser.NTHValueExpr, *sqlparser.LagLeadExpr:
		return notSupported("window functions over several shards are not supported")
	}
	return nil
}

// aggregateOf reports the merge function of a plain aggregate call.
func isAggregate(e sqlparser.Expr) bool {
	switch e.(type) {
	case *sqlparser.Count, *sqlparser.CountStar, *sqlparser.Sum, *sqlparser.Avg, *sqlparser.Min, *sqlparser.Max:
		return true
	}
	return false
}

// hasAggregate: an aggregate call anywhere in e.
func hasAggregate(e sqlparser.Expr) bool {
	found := false
	sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) { //nolint:errcheck // the visitor returns no error
		if _, ok := n.(sqlparser.AggrFunc); ok {
			found = true
		}
		return !found, nil
	}, e)
	return found
}

func anyAggregate(items []sqlparser.SelectExpr) bool {
	for _, it := range items {
		if a, ok := it.(*sqlparser.AliasedExpr); ok && hasAggregate(a.Expr) {
			return true
		}
	}
	return false
}

// distinctCall: count, sum or avg with DISTINCT.
func distinctCall(e sqlparser.Expr) bool {
	switch e := e.(type) {
	case *sqlparser.Count:
		return e.Distinct
	case *sqlparser.Sum:
		return e.Distinct
	case *sqlparser.Avg:
		return e.Distinct
	}
	return false
}
