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
		return refuseQuotient("sum", n.Arg)
	case *sqlparser.Avg:
		if n.OverClause != nil {
			return notSupported("window functions over several shards are not supported")
		}
		return refuseQuotient("avg", n.Arg)
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

// refuseQuotient refuses sum or avg of an expression holding a division:
// MariaDB keeps more digits of a DECIMAL quotient than it returns (a
// multiple of 9 decimals inside, the scale plus div_precision_increment
// outside), so each shard's sum comes back rounded and the shards' sums
// do not add up to one database's (the differential test's finding:
// sum(balance / 3) was 1e-6 off).
func refuseQuotient(fn string, arg sqlparser.Expr) *sqlerr.Error {
	div := false
	sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) { //nolint:errcheck // the visitor returns no error
		if b, ok := n.(*sqlparser.BinaryExpr); ok && b.Operator == sqlparser.DivOp {
			div = true
		}
		return !div, nil
	}, arg)
	if !div {
		return nil
	}
	return notSupported(fn + " of a division over several shards is not supported: each shard rounds its sum of quotients, and the rounded sums do not add up to the exact one").
		WithHint("Divide the sum instead (sum(x) / n), or give the sharding key.")
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

// checkOuterJoins refuses an outer join whose preserved side holds no
// sharded table: that side (reference tables only) is whole on every
// shard, so every shard returns its unmatched rows, NULL-extended, and
// the merge would repeat them once per shard (the differential test's
// finding: products LEFT JOIN orders … WHERE o.id IS NULL gave each
// product once per shard). A preserved side with a sharded table has
// each of its rows on one shard, with its co-located matches.
func checkOuterJoins(sel *sqlparser.Select, sharded func(string) bool) error {
	if sharded == nil {
		return nil
	}
	var refusal *sqlerr.Error
	for _, te := range sel.From {
		sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) { //nolint:errcheck // the visitor returns no error
			j, ok := n.(*sqlparser.JoinTableExpr)
			if !ok || refusal != nil {
				return refusal == nil, nil
			}
			var preserved sqlparser.TableExpr
			switch j.Join {
			case sqlparser.LeftJoinType, sqlparser.NaturalLeftJoinType:
				preserved = j.LeftExpr
			case sqlparser.RightJoinType, sqlparser.NaturalRightJoinType:
				preserved = j.RightExpr
			default:
				return true, nil
			}
			if !holdsSharded(preserved, sharded) {
				refusal = notSupported("an outer join whose preserved side has only reference tables over several shards is not supported: every shard would return its unmatched rows").
					WithHint("Put a sharded table on the preserved side, or give the sharding key.")
			}
			return refusal == nil, nil
		}, te)
	}
	if refusal != nil {
		return refusal
	}
	return nil
}

// holdsSharded: a sharded table is among te's tables.
func holdsSharded(te sqlparser.TableExpr, sharded func(string) bool) bool {
	found := false
	sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) { //nolint:errcheck // the visitor returns no error
		if t, ok := n.(sqlparser.TableName); ok && sharded(t.Name.String()) {
			found = true
		}
		return !found, nil
	}, te)
	return found
}
