package pgsql

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// HAVING over several shards. A shard sees only its part of a group, so it
// cannot judge the group: the merge does, on the combined groups
// (executor/having.go). The rewrite turns the HAVING into a
// parser.Predicate over columns of the shard rows — aggregates and group
// keys that are not select items become hidden columns, as ORDER BY keys
// do — and constants. The merge evaluates exactly:
//
//   - comparisons (=, <>, <, <=, >, >=) between an aggregate (count, sum,
//     min, max, avg, and their DISTINCT forms), a group key, or an
//     expression of group keys, and a constant, a bind parameter or another
//     such value; BETWEEN and IN lists as the comparisons they stand for;
//   - IS [NOT] DISTINCT FROM, AND, OR, NOT, IS [NOT] NULL, and
//     TRUE/FALSE/NULL.
//
// A cast constant ('2020-01-01'::date) is computed by the shards as a
// hidden column, so it has the server's type. Anything else is refused
// (0A000) naming it: arithmetic over aggregates, casts of aggregates,
// functions of aggregates, sub-queries, …
//
// The shards keep the HAVING as `HAVING (<condition>) OR true`: the
// server still checks it (its columns must be grouped, its operators must
// exist, its constants must read as their types: the client gets the
// server's own error), and the planner folds it to true, so every group
// comes back.

// having fills s.m.Having and rewrites the shards' HAVING. keyCol maps the
// key of each group key expression to its column.
func (s *scatter) having(keyCol map[string]int) error {
	h := s.sel.HavingClause
	if h == nil {
		return nil
	}
	pred, err := s.predicate(h, keyCol)
	if err != nil {
		return err
	}
	s.m.Having = pred
	s.sel.HavingClause = pg_query.MakeBoolExprNode(pg_query.BoolExprType_OR_EXPR,
		[]*pg_query.Node{h, &pg_query.Node{Node: &pg_query.Node_AConst{AConst: &pg_query.A_Const{Val: &pg_query.A_Const_Boolval{Boolval: &pg_query.Boolean{Boolval: true}}, Location: -1}}}}, -1)
	s.changed = true
	return nil
}

var cmpOps = map[string]parser.CmpOp{"=": parser.CmpEq, "<>": parser.CmpNe, "!=": parser.CmpNe, "<": parser.CmpLt, "<=": parser.CmpLe, ">": parser.CmpGt, ">=": parser.CmpGe}

func refuseHaving(what string) *sqlerr.Error {
	return unsupported("HAVING with " + what).
		WithHint("Compare aggregates or GROUP BY expressions with constants, with AND, OR, NOT and IS [NOT] NULL; or give the sharding key.")
}

func (s *scatter) predicate(n *pg_query.Node, keyCol map[string]int) (*parser.Predicate, error) {
	switch x := n.GetNode().(type) {
	case *pg_query.Node_BoolExpr:
		op := map[pg_query.BoolExprType]parser.PredOp{pg_query.BoolExprType_AND_EXPR: parser.PredAnd,
			pg_query.BoolExprType_OR_EXPR: parser.PredOr, pg_query.BoolExprType_NOT_EXPR: parser.PredNot}[x.BoolExpr.Boolop]
		if op == 0 {
			return nil, refuseHaving("an unknown boolean operator")
		}
		p := &parser.Predicate{Op: op}
		for _, a := range x.BoolExpr.Args {
			c, err := s.predicate(a, keyCol)
			if err != nil {
				return nil, err
			}
			p.Args = append(p.Args, c)
		}
		return p, nil
	case *pg_query.Node_NullTest:
		o, err := s.operand(x.NullTest.Arg, keyCol)
		if err != nil {
			return nil, err
		}
		if o.Kind != parser.OperandColumn {
			return nil, refuseHaving("IS [NOT] NULL of a constant")
		}
		if x.NullTest.Argisrow {
			return nil, refuseHaving("IS [NOT] NULL of a row")
		}
		op := parser.PredIsNull
		if x.NullTest.Nulltesttype == pg_query.NullTestType_IS_NOT_NULL {
			op = parser.PredIsNotNull
		}
		return &parser.Predicate{Op: op, Left: o}, nil
	case *pg_query.Node_AConst:
		switch v := x.AConst.Val.(type) {
		case nil:
			return &parser.Predicate{Op: parser.PredUnknown}, nil
		case *pg_query.A_Const_Boolval:
			if v.Boolval.Boolval {
				return &parser.Predicate{Op: parser.PredTrue}, nil
			}
			return &parser.Predicate{Op: parser.PredFalse}, nil
		}
		return nil, refuseHaving("a constant that is not a boolean")
	case *pg_query.Node_AExpr:
		return s.comparison(x.AExpr, keyCol)
	}
	return nil, refuseHaving(describeNode(n))
}

// comparison reads an operator expression: a comparison, BETWEEN, IN.
func (s *scatter) comparison(e *pg_query.A_Expr, keyCol map[string]int) (*parser.Predicate, error) {
	name := ""
	if len(e.Name) == 1 {
		name = e.Name[0].GetString_().GetSval()
	}
	switch e.Kind {
	case pg_query.A_Expr_Kind_AEXPR_OP:
		op, ok := cmpOps[name]
		if !ok || e.Lexpr == nil {
			return nil, refuseHaving(fmt.Sprintf("the operator %s", operatorName(e)))
		}
		return s.compare(e.Lexpr, op, e.Rexpr, keyCol)
	case pg_query.A_Expr_Kind_AEXPR_DISTINCT, pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		op := parser.CmpDistinct
		if e.Kind == pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT {
			op = parser.CmpNotDistinct
		}
		if name != "=" {
			return nil, refuseHaving(fmt.Sprintf("the operator %s", operatorName(e)))
		}
		return s.compare(e.Lexpr, op, e.Rexpr, keyCol)
	case pg_query.A_Expr_Kind_AEXPR_BETWEEN, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN:
		bounds := e.Rexpr.GetList()
		if bounds == nil || len(bounds.Items) != 2 {
			return nil, refuseHaving("a malformed BETWEEN")
		}
		lo, err := s.compare(e.Lexpr, parser.CmpGe, bounds.Items[0], keyCol)
		if err != nil {
			return nil, err
		}
		hi, err := s.compare(e.Lexpr, parser.CmpLe, bounds.Items[1], keyCol)
		if err != nil {
			return nil, err
		}
		if e.Kind == pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN {
			// NOT (x >= a AND x <= b), as SQL's logic has it.
			return &parser.Predicate{Op: parser.PredNot, Args: []*parser.Predicate{{Op: parser.PredAnd, Args: []*parser.Predicate{lo, hi}}}}, nil
		}
		return &parser.Predicate{Op: parser.PredAnd, Args: []*parser.Predicate{lo, hi}}, nil
	case pg_query.A_Expr_Kind_AEXPR_IN:
		list := e.Rexpr.GetList()
		if list == nil || len(list.Items) == 0 {
			return nil, refuseHaving("IN over something other than a list")
		}
		// x IN (a, b) is x = a OR x = b; NOT IN is x <> a AND x <> b.
		op, join := parser.CmpEq, parser.PredOr
		if name == "<>" {
			op, join = parser.CmpNe, parser.PredAnd
		}
		p := &parser.Predicate{Op: join}
		for _, it := range list.Items {
			c, err := s.compare(e.Lexpr, op, it, keyCol)
			if err != nil {
				return nil, err
			}
			p.Args = append(p.Args, c)
		}
		return p, nil
	}
	return nil, refuseHaving(fmt.Sprintf("the operator %s", operatorName(e)))
}

func (s *scatter) compare(l *pg_query.Node, op parser.CmpOp, r *pg_query.Node, keyCol map[string]int) (*parser.Predicate, error) {
	lo, err := s.operand(l, keyCol)
	if err != nil {
		return nil, err
	}
	ro, err := s.operand(r, keyCol)
	if err != nil {
		return nil, err
	}
	if lo.Kind != parser.OperandColumn && ro.Kind != parser.OperandColumn {
		return nil, refuseHaving("a comparison of two constants")
	}
	return &parser.Predicate{Op: parser.PredCompare, Cmp: op, Left: lo, Right: ro}, nil
}

// operand reads one side of a comparison: a constant, a parameter, or a
// value of the merged groups (an aggregate, a group key, an expression of
// group keys), found among the select items or added hidden.
func (s *scatter) operand(n *pg_query.Node, keyCol map[string]int) (parser.Operand, error) {
	switch x := n.GetNode().(type) {
	case *pg_query.Node_AConst:
		c := x.AConst
		switch v := c.Val.(type) {
		case nil:
			return parser.Operand{Kind: parser.OperandNull}, nil
		case *pg_query.A_Const_Ival:
			return parser.Operand{Kind: parser.OperandInteger, Text: fmt.Sprint(v.Ival.Ival)}, nil
		case *pg_query.A_Const_Fval:
			text := strings.ReplaceAll(v.Fval.Fval, "_", "")
			val, ok, inRange := bigintLiteral(text)
			switch {
			case ok && inRange:
				return parser.Operand{Kind: parser.OperandInteger, Text: fmt.Sprint(val)}, nil
			case ok && strings.ContainsAny(strings.ToLower(text), "xob"):
				return parser.Operand{}, refuseHaving("an integer beyond bigint written in another base")
			}
			return parser.Operand{Kind: parser.OperandNumeric, Text: text}, nil
		case *pg_query.A_Const_Sval:
			return parser.Operand{Kind: parser.OperandString, Text: v.Sval.Sval}, nil
		case *pg_query.A_Const_Boolval:
			t := "f"
			if v.Boolval.Boolval {
				t = "t"
			}
			return parser.Operand{Kind: parser.OperandBool, Text: t}, nil
		}
		return parser.Operand{}, refuseHaving("a bit-string constant")
	case *pg_query.Node_ParamRef:
		return parser.Operand{Kind: parser.OperandParam, Param: int(x.ParamRef.Number)}, nil
	}
	// Anything else is a value of the merged groups. A cast constant
	// ('2020-01-01'::date, $1::int) or an expression of group keys becomes
	// a hidden column the shards compute, typed as the server types it.
	col, err := s.havingColumn(n, keyCol)
	if err != nil {
		return parser.Operand{}, err
	}
	return parser.Operand{Kind: parser.OperandColumn, Column: col}, nil
}

// havingColumn finds or adds the column of a value of the merged groups.
func (s *scatter) havingColumn(n *pg_query.Node, keyCol map[string]int) (int, error) {
	if err := checkCollate(n); err != nil {
		return 0, err
	}
	key := exprKey(n)
	fn, err := aggregateCall(n)
	switch {
	case err != nil:
		return 0, err
	case fn != 0:
		if i := s.itemLike(n); i >= 0 {
			return i, nil
		}
		if h, ok := s.hiddenAt[key]; ok {
			return hiddenCol(h), nil
		}
		col := s.addHidden(n, key)
		s.addAggregate(col, fn, s.hiddenTarget(col))
		return col, nil
	case hasAggregate(n):
		if n.GetTypeCast() != nil {
			return 0, refuseHaving("a cast (::) of an aggregate").
				WithHint("Compare the aggregate itself with a constant.")
		}
		return 0, refuseHaving("an expression over aggregates").
			WithHint("Compare the aggregates themselves (count, sum, min, max, avg) with constants.")
	case hasKey(keyCol, key):
		return keyCol[key], nil
	}
	if i := s.itemLike(n); i >= 0 {
		// An item written the same: a key, or an expression of keys.
		return i, nil
	}
	if h, ok := s.hiddenAt[key]; ok {
		return hiddenCol(h), nil
	}
	if s.ship && !s.grouped {
		// Shipped values grouped by x alone: over no rows at all no
		// shard returns a row to carry the value, where one database
		// still judges its one group.
		return 0, refuseHaving("a cast or an expression beside count/sum/avg(DISTINCT …) without GROUP BY")
	}
	// An expression of the group keys (the server checks it is one) or a
	// constant: the same in every shard's row of a group.
	return s.addHidden(n, key), nil
}

// describeNode names a node for a refusal.
func describeNode(n *pg_query.Node) string {
	switch n.GetNode().(type) {
	case *pg_query.Node_FuncCall:
		return "a function call as a condition"
	case *pg_query.Node_ColumnRef:
		return "a column as a condition"
	case *pg_query.Node_BooleanTest:
		return "IS [NOT] TRUE/FALSE/UNKNOWN"
	case *pg_query.Node_SubLink:
		return "a sub-query"
	case *pg_query.Node_CaseExpr:
		return "CASE"
	case *pg_query.Node_TypeCast:
		return "a cast (::)"
	}
	return "this condition"
}

func operatorName(e *pg_query.A_Expr) string {
	switch e.Kind {
	case pg_query.A_Expr_Kind_AEXPR_OP_ANY:
		return "ANY"
	case pg_query.A_Expr_Kind_AEXPR_OP_ALL:
		return "ALL"
	case pg_query.A_Expr_Kind_AEXPR_DISTINCT:
		return "IS DISTINCT FROM"
	case pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		return "IS NOT DISTINCT FROM"
	case pg_query.A_Expr_Kind_AEXPR_NULLIF:
		return "NULLIF"
	case pg_query.A_Expr_Kind_AEXPR_LIKE, pg_query.A_Expr_Kind_AEXPR_ILIKE:
		return "LIKE"
	case pg_query.A_Expr_Kind_AEXPR_SIMILAR:
		return "SIMILAR TO"
	case pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		return "BETWEEN SYMMETRIC"
	}
	var parts []string
	for _, n := range e.Name {
		parts = append(parts, n.GetString_().GetSval())
	}
	if e.Lexpr == nil {
		return "prefix " + strings.Join(parts, ".")
	}
	return strings.Join(parts, ".")
}
