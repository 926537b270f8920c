package mysql

import (
	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// HAVING over several shards: a shard could only judge its part of a
// group, so the shards run the statement without HAVING and return every
// group (with hidden aggregates the predicate needs); the merge evaluates
// the predicate (parser.Merge.Having) on the combined groups.
//
// Accepted: AND, OR, NOT, comparisons (=, <>, !=, <, <=, >, >=, <=>),
// [NOT] BETWEEN, [NOT] IN (a list), IS [NOT] NULL, TRUE, FALSE, NULL, between aggregates,
// GROUP BY expressions, select items (by alias too) and integer or
// decimal literals (a leading minus too). Refused: string, float (1e3)
// and other literals — MySQL's coercions of strings and doubles against
// other types are not the merge's — and any other expression. A number
// compared with a value that is not a number is refused by the merge.

func refuseHaving(what string) *sqlerr.Error {
	e := notSupported("HAVING with " + what + " over several shards is not supported")
	e.Hint = "Compare aggregates or GROUP BY expressions with numbers, with AND, OR, NOT, BETWEEN and IS [NOT] NULL; or give the sharding key."
	return e
}

// having builds Merge.Having and drops HAVING from the shard SQL.
func (s *scatter) having(groupCol map[string]int) error {
	if s.sel.Having == nil {
		return nil
	}
	p, err := s.predicate(s.sel.Having.Expr, groupCol)
	if err != nil {
		return err
	}
	s.m.Having = p
	s.sel.Having = nil
	s.changed = true
	return nil
}

var mysqlCmpOps = map[sqlparser.ComparisonExprOperator]parser.CmpOp{
	sqlparser.EqualOp: parser.CmpEq, sqlparser.NotEqualOp: parser.CmpNe,
	sqlparser.LessThanOp: parser.CmpLt, sqlparser.LessEqualOp: parser.CmpLe,
	sqlparser.GreaterThanOp: parser.CmpGt, sqlparser.GreaterEqualOp: parser.CmpGe,
	sqlparser.NullSafeEqualOp: parser.CmpNotDistinct,
}

func (s *scatter) predicate(e sqlparser.Expr, groupCol map[string]int) (*parser.Predicate, error) {
	switch x := e.(type) {
	case *sqlparser.AndExpr:
		return s.junction(parser.PredAnd, groupCol, x.Left, x.Right)
	case *sqlparser.OrExpr:
		return s.junction(parser.PredOr, groupCol, x.Left, x.Right)
	case *sqlparser.NotExpr:
		return s.junction(parser.PredNot, groupCol, x.Expr)
	case sqlparser.BoolVal:
		if x {
			return &parser.Predicate{Op: parser.PredTrue}, nil
		}
		return &parser.Predicate{Op: parser.PredFalse}, nil
	case *sqlparser.NullVal:
		return &parser.Predicate{Op: parser.PredUnknown}, nil
	case *sqlparser.IsExpr:
		op := parser.PredIsNull
		switch x.Right {
		case sqlparser.IsNullOp:
		case sqlparser.IsNotNullOp:
			op = parser.PredIsNotNull
		default:
			return nil, refuseHaving("IS TRUE / IS FALSE")
		}
		o, err := s.operand(x.Left, groupCol)
		if err != nil {
			return nil, err
		}
		if o.Kind != parser.OperandColumn {
			return nil, refuseHaving("IS [NOT] NULL of a constant")
		}
		return &parser.Predicate{Op: op, Left: o}, nil
	case *sqlparser.ComparisonExpr:
		if list, ok := x.Right.(sqlparser.ValTuple); ok && (x.Operator == sqlparser.InOp || x.Operator == sqlparser.NotInOp) && x.Escape == nil {
			return s.in(x.Left, list, x.Operator == sqlparser.NotInOp, groupCol)
		}
		op, ok := mysqlCmpOps[x.Operator]
		if !ok || x.Modifier != 0 || x.Escape != nil {
			return nil, refuseHaving("the operator " + x.Operator.ToString())
		}
		return s.compare(x.Left, op, x.Right, groupCol)
	case *sqlparser.BetweenExpr:
		lo, err := s.compare(x.Left, parser.CmpGe, x.From, groupCol)
		if err != nil {
			return nil, err
		}
		hi, err := s.compare(x.Left, parser.CmpLe, x.To, groupCol)
		if err != nil {
			return nil, err
		}
		p := &parser.Predicate{Op: parser.PredAnd, Args: []*parser.Predicate{lo, hi}}
		if !x.IsBetween {
			p = &parser.Predicate{Op: parser.PredNot, Args: []*parser.Predicate{p}}
		}
		return p, nil
	}
	return nil, refuseHaving(sqlparser.String(e))
}

// in reads x [NOT] IN (a, b, …) as x = a OR x = b …, negated for NOT
// IN: SQL's three-valued IN is exactly that (no match and a NULL in the
// list or x NULL is unknown).
func (s *scatter) in(x sqlparser.Expr, list sqlparser.ValTuple, not bool, groupCol map[string]int) (*parser.Predicate, error) {
	p := &parser.Predicate{Op: parser.PredOr}
	for _, v := range list {
		c, err := s.compare(x, parser.CmpEq, v, groupCol)
		if err != nil {
			return nil, err
		}
		p.Args = append(p.Args, c)
	}
	if len(p.Args) == 1 {
		p = p.Args[0]
	}
	if not {
		p = &parser.Predicate{Op: parser.PredNot, Args: []*parser.Predicate{p}}
	}
	return p, nil
}

func (s *scatter) junction(op parser.PredOp, groupCol map[string]int, args ...sqlparser.Expr) (*parser.Predicate, error) {
	p := &parser.Predicate{Op: op}
	for _, a := range args {
		c, err := s.predicate(a, groupCol)
		if err != nil {
			return nil, err
		}
		p.Args = append(p.Args, c)
	}
	return p, nil
}

func (s *scatter) compare(l sqlparser.Expr, op parser.CmpOp, r sqlparser.Expr, groupCol map[string]int) (*parser.Predicate, error) {
	lo, err := s.operand(l, groupCol)
	if err != nil {
		return nil, err
	}
	ro, err := s.operand(r, groupCol)
	if err != nil {
		return nil, err
	}
	if lo.Kind != parser.OperandColumn && ro.Kind != parser.OperandColumn {
		return nil, refuseHaving("a comparison of two constants")
	}
	return &parser.Predicate{Op: parser.PredCompare, Cmp: op, Left: lo, Right: ro}, nil
}

// operand reads one side of a comparison: a number, NULL, or a value of
// the merged groups.
func (s *scatter) operand(e sqlparser.Expr, groupCol map[string]int) (parser.Operand, error) {
	neg := false
	if u, ok := e.(*sqlparser.UnaryExpr); ok && u.Operator == sqlparser.UMinusOp {
		if lit, ok := u.Expr.(*sqlparser.Literal); ok {
			neg, e = true, lit
		}
	}
	switch x := e.(type) {
	case *sqlparser.Literal:
		text := x.Val
		if neg {
			text = "-" + text
		}
		switch x.Type {
		case sqlparser.IntVal:
			return parser.Operand{Kind: parser.OperandInteger, Text: text}, nil
		case sqlparser.DecimalVal:
			return parser.Operand{Kind: parser.OperandNumeric, Text: text}, nil
		}
		return parser.Operand{}, refuseHaving("the literal " + sqlparser.String(x))
	case *sqlparser.NullVal:
		return parser.Operand{Kind: parser.OperandNull}, nil
	case sqlparser.BoolVal:
		if x {
			return parser.Operand{Kind: parser.OperandInteger, Text: "1"}, nil
		}
		return parser.Operand{Kind: parser.OperandInteger, Text: "0"}, nil
	}
	if isConstant(e) {
		return parser.Operand{}, refuseHaving("the constant " + sqlparser.String(e))
	}
	col, err := s.groupValue(e, groupCol, "HAVING")
	if err != nil {
		return parser.Operand{}, err
	}
	return parser.Operand{Kind: parser.OperandColumn, Column: col}, nil
}
